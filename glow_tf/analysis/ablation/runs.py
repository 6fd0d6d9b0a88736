"""Training the ablation's runs, resumably, and the `train_fn` that trains one."""

import json
import os
import time

from glow_tf import training
from glow_tf.analysis import figures
from glow_tf.analysis import ood
from glow_tf.analysis.ablation import report
from glow_tf.analysis.ablation.results import AblationResult
from glow_tf.analysis.ablation.results import AblationSummary
from glow_tf.config import GlowConfig

__all__ = ['run_ablation', 'budgeted_train_fn', 'RESULT_FILE']

RESULT_FILE = 'result.json'


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
  variants, seeds = _check_grid(variants, seeds)
  runs = [(v, seed) for v in variants for seed in seeds]
  results = {}
  for i, (variant, seed) in enumerate(runs):
    tag = f'[{i + 1}/{len(runs)}] {variant.name}, seed {seed}'
    model_dir = os.path.join(output_dir, 'runs', variant.name, f'seed_{seed}')
    results[variant.name, seed] = _train_or_reuse(
        train_fn, variant, seed, model_dir, _run_settings(settings, variant),
        tag, log)
  summaries = [AblationSummary(v, tuple(seeds),
                               tuple(results[v.name, s] for s in seeds))
               for v in variants]
  report.write_outputs(summaries, output_dir, references, title)
  return summaries


def _check_grid(variants, seeds):
  """`(variants, seeds)` as lists, or a ValueError naming what is wrong."""
  variants, seeds = list(variants), [int(s) for s in seeds]
  if not variants:
    raise ValueError('variants must not be empty.')
  if not seeds or len(set(seeds)) != len(seeds):
    raise ValueError(f'seeds must be distinct and not empty, got {seeds}.')
  names = [v.name for v in variants]
  if len(set(names)) != len(names):
    raise ValueError(f'variant names must be unique, got {names}.')
  return variants, seeds


def _train_or_reuse(train_fn, variant, seed, model_dir, expected, tag, log):
  """The result stored in `model_dir`, if its settings match; else trains."""
  done = os.path.join(model_dir, RESULT_FILE)
  if os.path.exists(done):
    stored = figures.read_json(done)
    stored_settings = _with_current_config(stored.get('settings'))
    if stored_settings != expected:
      raise ValueError(
          f'{done} was trained with other settings than this run asks for '
          f'({_differences(stored_settings, expected)}). Use another output '
          f'folder, or delete {model_dir} to train it again.')
    result = AblationResult.from_json(stored)
    log(f'{tag}: already trained '
        f'({result.final_test_bits_per_dim:.3f} bits/dim), skipped.')
    return result
  log(f'{tag}: training ...')
  start = time.time()
  result = train_fn(variant, model_dir, seed)
  if not isinstance(result, AblationResult):
    raise ValueError('train_fn must return an AblationResult, got '
                     f'{type(result).__name__}.')
  figures.write_json(done, dict(result.to_json(), settings=expected))
  log(f'{tag}: {result.final_test_bits_per_dim:.3f} test bits/dim after '
      f'{result.steps} steps ({time.time() - start:.0f} s).')
  return result


def _run_settings(settings, variant):
  """What a stored run must match: `settings` and the variant, as JSON."""
  value = dict(settings or {}, variant=variant.name,
               config=variant.config.to_json())
  try:
    return json.loads(json.dumps(value))
  except TypeError as e:
    raise ValueError(f'settings must be JSON-serialisable: {e}') from e


def _with_current_config(stored):
  """Stored settings whose config has every field `GlowConfig` has now.

  A run stored before a config field was added matches a run asking for
  that field's default.
  """
  if not isinstance(stored, dict) or not isinstance(stored.get('config'),
                                                    dict):
    return stored
  try:
    config = GlowConfig.from_json(stored['config'])
  except (ValueError, TypeError):
    return stored  # Reported as a difference.
  return dict(stored, config=config.to_json())


def _differences(stored, expected):
  """`'train_steps: 1000 there, 2000 here'`: what a stored run differs in."""
  if not isinstance(stored, dict):
    return 'it stores no settings: written by an older version'
  keys = sorted(k for k in set(stored) | set(expected)
                if stored.get(k) != expected.get(k))
  return '; '.join(f'{k}: {stored.get(k)!r} there, {expected.get(k)!r} here'
                   for k in keys)


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
    A callable `(variant, model_dir, seed) -> AblationResult`, as
    `run_ablation` calls it.
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
