"""The paper's figure 3: permutation x coupling, same budget and seed.

Kingma & Dhariwal (2018, section 5.1) compare three ways of mixing the
channels between couplings (reversing them, a fixed random shuffle, and the
learned invertible 1x1 convolution), each with additive and with affine
coupling, by the negative log-likelihood they reach. This module runs such a
grid with any training function and draws it:

```
variants = ablation_variants(glow_tf.preset('fashion_mnist'))   # 6 configs
results = run_ablation(variants, train_fn, output_dir)
  -> output_dir/runs/<name>/            one model_dir per variant
     output_dir/ablation.png            test bits/dim against step, all six
     output_dir/ablation.json           the table and the curves
     output_dir/ablation.md             the table, in Markdown
```
`train_fn(variant, model_dir)` trains one variant and returns an
`AblationResult`; a variant whose `model_dir` already holds `result.json` is
not trained again, so an interrupted ablation resumes where it stopped.
"""

import dataclasses
import itertools
import os
import time
from typing import List, Optional, Tuple

from glow_tf import training
from glow_tf.analysis import figures
from glow_tf.analysis import ood
from glow_tf.config import GlowConfig

__all__ = ['ABLATION_PERMUTATIONS', 'ABLATION_COUPLINGS', 'AblationVariant',
           'AblationResult', 'ablation_variants', 'run_ablation',
           'ablation_table', 'PERMUTATION_NAMES', 'budgeted_train_fn']

# The 1x1 convolution is the LU-decomposed one (the paper's fast variant).
ABLATION_PERMUTATIONS = ('reverse', 'shuffle', 'lu_conv')
ABLATION_COUPLINGS = ('additive', 'affine')
PERMUTATION_NAMES = {'reverse': 'reverse', 'shuffle': 'shuffle',
                     'lu_conv': '1x1 conv (LU)', 'conv': '1x1 conv'}
RESULT_FILE = 'result.json'


@dataclasses.dataclass(frozen=True)
class AblationVariant:
  """One cell of the grid: a name (`'<permutation>-<coupling>'`) and its config."""
  name: str
  config: GlowConfig

  @property
  def label(self):
    """`'1x1 conv (LU), affine'`: the legend of its curve."""
    return (f'{PERMUTATION_NAMES.get(self.config.permutation, self.config.permutation)}'
            f', {self.config.coupling}')


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


def ablation_variants(base_config, permutations=ABLATION_PERMUTATIONS,
                      couplings=ABLATION_COUPLINGS):
  """The grid `permutations x couplings` over `base_config`.

  Args:
    base_config: a `GlowConfig`; everything but `permutation` and `coupling`
      is shared by all variants.
    permutations: names of `GlowConfig.permutation`.
    couplings: names of `GlowConfig.coupling`.

  Returns:
    A list of `AblationVariant`, permutation-major.
  """
  if not isinstance(base_config, GlowConfig):
    raise ValueError('base_config must be a glow_tf.GlowConfig, got '
                     f'{base_config!r}.')
  permutations, couplings = list(permutations), list(couplings)
  if not permutations or not couplings:
    raise ValueError('permutations and couplings must not be empty, got '
                     f'{permutations!r} and {couplings!r}.')
  for names, what in ((permutations, 'permutations'), (couplings, 'couplings')):
    if len(set(names)) != len(names):
      raise ValueError(f'{what} has duplicates: {names!r}.')
  return [AblationVariant(f'{p}-{c}',
                          base_config.replace(permutation=p, coupling=c))
          for p, c in itertools.product(permutations, couplings)]


def ablation_table(variants, results):
  """Markdown table of final test bits/dim, best first."""
  rows = sorted(zip(variants, results),
                key=lambda vr: vr[1].final_test_bits_per_dim)
  lines = ['| permutation | coupling | test bits/dim | steps | wall-clock (s) |',
           '|---|---|---|---|---|']
  for variant, result in rows:
    lines.append(
        f'| {PERMUTATION_NAMES.get(variant.config.permutation, variant.config.permutation)} '
        f'| {variant.config.coupling} | {result.final_test_bits_per_dim:.3f} '
        f'| {result.steps} | {result.wall_clock_seconds:.0f} |')
  return '\n'.join(lines) + '\n'


def run_ablation(variants, train_fn, output_dir, log=print,
                 references=None, title=None):
  """Trains every variant with `train_fn` and writes the figure and table.

  Args:
    variants: list of `AblationVariant` (`ablation_variants`).
    train_fn: callable `(variant, model_dir) -> AblationResult`.
    output_dir: folder of the figure, the table and one model_dir per variant
      (`runs/<name>/`).
    log: callable taking a line of progress.
    references: optional dict label -> bits/dim drawn as dashed lines.
    title: title of the figure.

  Returns:
    A list of `AblationResult`, one per variant.
  """
  variants = list(variants)
  if not variants:
    raise ValueError('variants must not be empty.')
  names = [v.name for v in variants]
  if len(set(names)) != len(names):
    raise ValueError(f'variant names must be unique, got {names}.')
  results: List[AblationResult] = []
  for i, variant in enumerate(variants):
    model_dir = os.path.join(output_dir, 'runs', variant.name)
    done = os.path.join(model_dir, RESULT_FILE)
    if os.path.exists(done):
      result = AblationResult.from_json(figures.read_json(done))
      log(f'[{i + 1}/{len(variants)}] {variant.name}: already trained '
          f'({result.final_test_bits_per_dim:.3f} bits/dim), skipped.')
    else:
      log(f'[{i + 1}/{len(variants)}] training {variant.name} ...')
      start = time.time()
      result = train_fn(variant, model_dir)
      if not isinstance(result, AblationResult):
        raise ValueError('train_fn must return an AblationResult, got '
                         f'{type(result).__name__}.')
      figures.write_json(done, result.to_json())
      log(f'[{i + 1}/{len(variants)}] {variant.name}: '
          f'{result.final_test_bits_per_dim:.3f} test bits/dim after '
          f'{result.steps} steps ({time.time() - start:.0f} s).')
    results.append(result)
  _write_outputs(variants, results, output_dir, references, title)
  return results


def _write_outputs(variants, results, output_dir, references, title):
  curves = {v.label: ([s for s, _ in r.history], [b for _, b in r.history])
            for v, r in zip(variants, results)}
  figures.save_curves(
      os.path.join(output_dir, 'ablation.png'), curves,
      xlabel='training step', ylabel='test bits/dim',
      title=title or 'Permutation x coupling (Kingma & Dhariwal 2018, fig. 3)',
      references=references)
  table = ablation_table(variants, results)
  with open(os.path.join(output_dir, 'ablation.md'), 'w') as f:
    f.write(table)
  figures.write_json(os.path.join(output_dir, 'ablation.json'), {
      'figure': 'ablation.png',
      'runs': [dict(name=v.name, permutation=v.config.permutation,
                    coupling=v.config.coupling, **r.to_json())
               for v, r in zip(variants, results)],
  })


def budgeted_train_fn(train_config, dataset_fn, curve_images, test_images,
                      time_budget_s, eval_every_steps=100, log=print):
  """A `train_fn` for `run_ablation`: the same budget and seed for every variant.

  Each variant trains with `glow_tf.training.train` for `time_budget_s`
  seconds (or `train_config.train_steps`), its curve measured on
  `curve_images` by a `CurveEvaluation` callback; its final figure is the
  mean bits/dim of `test_images` (e.g. the whole test set) under the
  averaged weights.

  Args:
    train_config: a `glow_tf.training.TrainConfig`, shared by all variants.
    dataset_fn: `input_context -> tf.data.Dataset` of training examples.
    curve_images: uint8 test images scored during training.
    test_images: uint8 test images scored at the end.
    time_budget_s: training seconds per variant (evaluations included).
    eval_every_steps: steps between the points of the curve.
    log: callable taking a progress line.

  Returns:
    A callable `(variant, model_dir) -> AblationResult`.
  """

  def train_fn(variant, model_dir):
    start = time.time()
    variant_log = lambda line: log(f'  {variant.name}: {line}')
    curve = training.CurveEvaluation(curve_images, eval_every_steps,
                                     log=variant_log)
    run = training.train(variant.config,
                         train_config.replace(time_budget_s=time_budget_s),
                         model_dir, dataset_fn, callbacks=[curve],
                         log=variant_log)
    glow, _ = training.restore_model(model_dir)
    final = float(ood.dataset_bits_per_dim(glow, test_images).mean())
    return AblationResult(
        history=tuple((p.step, p.test_bits_per_dim) for p in curve.history),
        final_test_bits_per_dim=final,
        wall_clock_seconds=time.time() - start, steps=run['step'],
        extra={'train_seconds': run['train_step_seconds'],
               'images_per_sec': run['images_per_sec'],
               'stop_reason': run['stop_reason'],
               'num_test_images': int(len(test_images)),
               'num_curve_images': int(len(curve_images)),
               'nonfinite_steps': run['nonfinite_steps']})

  return train_fn
