"""The paper's figure 3: permutation x coupling, several seeds, equal steps.

Kingma & Dhariwal (2018, section 5.1) compare three ways of mixing the
channels between couplings (reversing them, a fixed random shuffle, and the
learned invertible 1x1 convolution), each with additive and with affine
coupling, by the negative log-likelihood they reach. This module runs such a
grid with any training function and draws it:

```
variants = ablation_variants(glow_tf.preset('fashion_mnist'))   # 6 configs
summaries = run_ablation(variants, train_fn, output_dir, seeds=(0, 1, 2))
  -> output_dir/runs/<name>/seed_<k>/   one model_dir per variant and seed
     output_dir/ablation.png            mean test bits/dim against step,
                                        shaded from the lowest to the
                                        highest seed
     output_dir/ablation.json           every run, and each variant's mean
     output_dir/ablation.md             the table: mean, spread, and whether
                                        a variant is clearly ahead of the next
seeds_figure_from_records(runs, 'ablation-3seeds/', 'ablation-3seeds.png')
  -> each variant's seeds and mean +- std, from docs/results.json's records
```
`train_fn(variant, model_dir, seed)` trains one variant from one seed and
returns an `AblationResult`; a run whose `model_dir` already holds
`result.json` is not trained again, so an interrupted ablation resumes where
it stopped. Compare at an equal number of steps (`budgeted_train_fn` with
`time_budget_s=None`): on a shared machine equal seconds give the runs
different numbers of steps.
"""

import dataclasses
import itertools
import json
import os
import time
from typing import Optional, Tuple

import numpy as np

from glow_tf import training
from glow_tf.analysis import figures
from glow_tf.analysis import ood
from glow_tf.config import GlowConfig

__all__ = ['ABLATION_PERMUTATIONS', 'ABLATION_COUPLINGS', 'AblationVariant',
           'AblationResult', 'AblationSummary', 'ablation_variants',
           'run_ablation', 'ablation_table', 'PERMUTATION_NAMES',
           'budgeted_train_fn', 'seeds_figure_from_records']

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


def ablation_table(summaries):
  """Markdown table of the variants, best mean first.

  `ahead of the next` says whether a variant's worst seed is still better
  than the next row's best seed: only then does the table claim an order.
  """
  rows = sorted(summaries, key=lambda summary: summary.mean)
  lines = ['| permutation | coupling | test bits/dim, mean | std | '
           'lowest - highest | seeds | steps | ahead of the next |',
           '|---|---|---|---|---|---|---|---|']
  for i, summary in enumerate(rows):
    config = summary.variant.config
    steps = sorted({r.steps for r in summary.results})
    following = rows[i + 1] if i + 1 < len(rows) else None
    ahead = ('-' if following is None else
             'yes' if summary.high < following.low else 'no')
    lines.append(
        f'| {PERMUTATION_NAMES.get(config.permutation, config.permutation)} '
        f'| {config.coupling} | {summary.mean:.3f} | {summary.std:.3f} '
        f'| {summary.low:.3f} - {summary.high:.3f} | {len(summary.seeds)} '
        f'| {"/".join(map(str, steps))} | {ahead} |')
  return '\n'.join(lines) + '\n'


def run_ablation(variants, train_fn, output_dir, seeds=(0,), log=print,
                 references=None, title=None, settings=None):
  """Trains every variant from every seed with `train_fn`; writes the outputs.

  A run whose `runs/<name>/seed_<seed>/result.json` exists is not trained
  again, but only when it was trained with the same `settings` and the same
  variant config: a finished run of another length (say 1,000 steps left in
  the folder by an earlier command, now asked for 2,000) is refused with a
  `ValueError` instead of entering the comparison.

  Args:
    variants: list of `AblationVariant` (`ablation_variants`).
    train_fn: callable `(variant, model_dir, seed) -> AblationResult`.
    output_dir: folder of the figure, the table and one model_dir per run
      (`runs/<name>/seed_<seed>/`).
    seeds: the seeds each variant is trained from.
    log: callable taking a line of progress.
    references: optional dict label -> bits/dim drawn as dashed lines.
    title: title of the figure.
    settings: JSON-serialisable dict of what every run shares and a reused
      run must match (e.g. `{'train_steps': 2000, 'batch_size': 64}`);
      stored in each run's `result.json` with the variant's config.

  Returns:
    A list of `AblationSummary`, one per variant, in the order given.

  Raises:
    ValueError: bad `variants` or `seeds`, or a finished run in
      `output_dir` that was trained with other settings.

  #### Examples

  ```python
  summaries = run_ablation(ablation_variants(preset('fashion_mnist')),
                           train_fn, 'outputs/ablation', seeds=(0, 1, 2),
                           settings={'train_steps': 2000})
  print(ablation_table(summaries))
  ```
  """
  variants, seeds = list(variants), [int(s) for s in seeds]
  if not variants:
    raise ValueError('variants must not be empty.')
  if not seeds or len(set(seeds)) != len(seeds):
    raise ValueError(f'seeds must be distinct and not empty, got {seeds}.')
  names = [v.name for v in variants]
  if len(set(names)) != len(names):
    raise ValueError(f'variant names must be unique, got {names}.')
  runs = [(v, seed) for v in variants for seed in seeds]
  results = {}
  for i, (variant, seed) in enumerate(runs):
    tag = f'[{i + 1}/{len(runs)}] {variant.name}, seed {seed}'
    model_dir = os.path.join(output_dir, 'runs', variant.name, f'seed_{seed}')
    done = os.path.join(model_dir, RESULT_FILE)
    expected = _run_settings(settings, variant)
    if os.path.exists(done):
      stored = figures.read_json(done)
      if stored.get('settings') != expected:
        raise ValueError(
            f'{done} was trained with other settings than this run asks for '
            f'({_differences(stored.get("settings"), expected)}). Use '
            f'another output folder, or delete {model_dir} to train it '
            'again.')
      result = AblationResult.from_json(stored)
      log(f'{tag}: already trained '
          f'({result.final_test_bits_per_dim:.3f} bits/dim), skipped.')
    else:
      log(f'{tag}: training ...')
      start = time.time()
      result = train_fn(variant, model_dir, seed)
      if not isinstance(result, AblationResult):
        raise ValueError('train_fn must return an AblationResult, got '
                         f'{type(result).__name__}.')
      figures.write_json(done, dict(result.to_json(), settings=expected))
      log(f'{tag}: {result.final_test_bits_per_dim:.3f} test bits/dim after '
          f'{result.steps} steps ({time.time() - start:.0f} s).')
    results[variant.name, seed] = result
  summaries = [AblationSummary(v, tuple(seeds),
                               tuple(results[v.name, s] for s in seeds))
               for v in variants]
  _write_outputs(summaries, output_dir, references, title)
  return summaries


def _run_settings(settings, variant):
  """What a stored run must match: `settings` and the variant, as JSON."""
  value = dict(settings or {}, variant=variant.name,
               config=dataclasses.asdict(variant.config))
  try:
    return json.loads(json.dumps(value))
  except TypeError as e:
    raise ValueError(f'settings must be JSON-serialisable: {e}') from e


def _differences(stored, expected):
  """`'train_steps: 1000 there, 2000 here'`: what a stored run differs in."""
  if not isinstance(stored, dict):
    return 'it stores no settings: written by an older version'
  keys = sorted(k for k in set(stored) | set(expected)
                if stored.get(k) != expected.get(k))
  return '; '.join(f'{k}: {stored.get(k)!r} there, {expected.get(k)!r} here'
                   for k in keys)


def _write_outputs(summaries, output_dir, references, title):
  curves, bands = {}, {}
  for summary in summaries:
    steps, mean, low, high = summary.mean_curve()
    curves[summary.variant.label] = (steps, mean)
    if len(summary.seeds) > 1:
      bands[summary.variant.label] = (low, high)
  figures.save_curves(
      os.path.join(output_dir, 'ablation.png'), curves,
      xlabel='training step', ylabel='test bits/dim',
      title=title or 'Permutation x coupling (Kingma & Dhariwal 2018, fig. 3)',
      references=references, bands=bands)
  with open(os.path.join(output_dir, 'ablation.md'), 'w') as f:
    f.write(ablation_table(summaries))
  figures.write_json(os.path.join(output_dir, 'ablation.json'), {
      'figure': 'ablation.png',
      'variants': [dict(name=s.variant.name,
                        permutation=s.variant.config.permutation,
                        coupling=s.variant.config.coupling,
                        seeds=list(s.seeds), mean=s.mean, std=s.std,
                        lowest=s.low, highest=s.high)
                   for s in summaries],
      'runs': [dict(name=s.variant.name, seed=seed,
                    permutation=s.variant.config.permutation,
                    coupling=s.variant.config.coupling, **r.to_json())
               for s in summaries for seed, r in zip(s.seeds, s.results)],
  })


def seeds_figure_from_records(runs, prefix, path, title=None):
  """Draws the final test bits/dim of each seed of recorded ablation runs.

  Works from `docs/results.json`'s records alone (no run folders), so the
  figure can be redrawn after a variant was rerun elsewhere. A record is
  drawn if its name starts with `prefix` and it has
  `per_seed_test_bits_per_dim` (what `experiments/ablation.py
  --record_to` writes); rows go from the lowest mean down.

  Args:
    runs: the records, e.g. `figures.read_json('docs/results.json')['runs']`.
    prefix: the records' name prefix, e.g. `'ablation-3seeds/'`.
    path: the `.png` to write.
    title: the figure's title (default: one naming the steps).

  Returns:
    A list of `(name, mean, std)`, as drawn (sample std over the seeds).

  Raises:
    ValueError: no record with that prefix has per-seed results.

  #### Examples

  ```python
  runs = figures.read_json('docs/results.json')['runs']
  seeds_figure_from_records(runs, 'ablation-3seeds/', 'ablation-3seeds.png')
  ```
  """
  chosen = [r for r in runs if str(r.get('name', '')).startswith(prefix)
            and r.get('per_seed_test_bits_per_dim')]
  if not chosen:
    raise ValueError(f'No record named {prefix!r}... with per-seed results '
                     f'(per_seed_test_bits_per_dim) among {len(runs)}.')
  rows = []
  for record in chosen:
    values = np.asarray(record['per_seed_test_bits_per_dim'], float)
    std = figures.sample_std(values)
    permutation = record.get('permutation')
    label = (f'{PERMUTATION_NAMES.get(permutation, permutation)} / '
             f"{record.get('coupling')}")
    rows.append((label, float(values.mean()), std, values))
  rows.sort(key=lambda row: row[1])
  steps = sorted({s for r in chosen for s in (r.get('steps') or [])})
  seeds = sorted({len(r['per_seed_test_bits_per_dim']) for r in chosen})
  if title is None:
    title = (f"Permutation x coupling, {'/'.join(map(str, seeds))} seeds, "
             f"{'/'.join(f'{s:,}' for s in steps)} steps each")
  images = {r.get('num_test_images') for r in chosen}
  xlabel = 'test bits/dim'
  if len(images) == 1 and None not in images:
    xlabel += f' ({images.pop():,} test images)'
  figures.save_seed_points(path, [(label, values)
                                  for label, _, _, values in rows],
                           xlabel=xlabel, title=title)
  return [(label, mean, std) for label, mean, std, _ in rows]


def budgeted_train_fn(train_config, dataset_fn, curve_images, test_images,
                      time_budget_s=None, eval_every_steps=100, log=print):
  """A `train_fn` for `run_ablation`: the same steps (or budget) for every run.

  Each run trains with `glow_tf.training.train` for `train_config.train_steps`
  steps (or until `time_budget_s` seconds, if given), from its seed (the
  weights, the data order and the noise), its curve measured on
  `curve_images` by a `CurveEvaluation` callback; its final figure is the
  mean bits/dim of `test_images` (e.g. the whole test set) under the
  averaged weights.

  Args:
    train_config: a `glow_tf.training.TrainConfig`, shared by all variants.
    dataset_fn: `input_context -> tf.data.Dataset` of training examples.
    curve_images: uint8 test images scored during training.
    test_images: uint8 test images scored at the end.
    time_budget_s: training seconds per run (evaluations included), or None
      to stop at `train_config.train_steps` only (equal steps: the fair
      comparison on a shared machine).
    eval_every_steps: steps between the points of the curve.
    log: callable taking a progress line.

  Returns:
    A callable `(variant, model_dir) -> AblationResult`.
  """

  def train_fn(variant, model_dir, seed):
    start = time.time()
    variant_log = lambda line: log(f'  {variant.name}/{seed}: {line}')
    curve = training.CurveEvaluation(curve_images, eval_every_steps,
                                     log=variant_log)
    run = training.train(variant.config,
                         train_config.replace(time_budget_s=time_budget_s,
                                              seed=seed),
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
