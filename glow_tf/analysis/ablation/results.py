"""What training one variant gave, and one variant over its seeds."""

import dataclasses
from typing import Optional, Tuple

import numpy as np

from glow_tf.analysis import figures
from glow_tf.analysis.ablation.variants import AblationVariant

__all__ = ['AblationResult', 'AblationSummary']


@dataclasses.dataclass(frozen=True)
class AblationResult:
  """What training one variant gave.

  Attributes:
    history: `(step, test bits/dim)` pairs, in step order.
    final_test_bits_per_dim: test bits/dim at the end of training.
    wall_clock_seconds: time spent training and evaluating.
    steps: training steps taken.
    extra: anything else worth recording (e.g. the number of test images).
  """
  history: Tuple[Tuple[int, float], ...]
  final_test_bits_per_dim: float
  wall_clock_seconds: float
  steps: int
  extra: Optional[dict] = None

  def to_json(self):
    return {'history': [[int(s), float(b)] for s, b in self.history],
            'final_test_bits_per_dim': float(self.final_test_bits_per_dim),
            'wall_clock_seconds': float(self.wall_clock_seconds),
            'steps': int(self.steps), 'extra': self.extra or {}}

  @classmethod
  def from_json(cls, value):
    return cls(history=tuple((int(s), float(b)) for s, b in value['history']),
               final_test_bits_per_dim=float(value['final_test_bits_per_dim']),
               wall_clock_seconds=float(value['wall_clock_seconds']),
               steps=int(value['steps']), extra=value.get('extra') or None)


@dataclasses.dataclass(frozen=True)
class AblationSummary:
  """One variant over its seeds.

  Attributes:
    variant: the `AblationVariant`.
    seeds: the seeds, in run order.
    results: one `AblationResult` per seed.
  """
  variant: AblationVariant
  seeds: Tuple[int, ...]
  results: Tuple[AblationResult, ...]

  @property
  def finals(self):
    """Final test bits/dim of each seed, as a float array."""
    return np.asarray([r.final_test_bits_per_dim for r in self.results])

  @property
  def mean(self):
    return float(self.finals.mean())

  @property
  def std(self):
    """Sample standard deviation over the seeds (0 for one seed)."""
    return figures.sample_std(self.finals)

  @property
  def low(self):
    return float(self.finals.min())

  @property
  def high(self):
    return float(self.finals.max())

  def mean_curve(self):
    """`(steps, mean, lowest, highest)` over the steps every seed measured."""
    common = sorted(set.intersection(
        *[{s for s, _ in r.history} for r in self.results]))
    values = np.asarray([[dict(r.history)[s] for s in common]
                         for r in self.results])
    return (np.asarray(common), values.mean(axis=0), values.min(axis=0),
            values.max(axis=0))
