"""The main job: train the Fashion-MNIST preset for a bounded time, report.

`run_demo` writes everything to one folder:

```
output_dir/
  samples.png           samples at temperatures 0, 0.5, 0.7, 1.0
  training_curve.png    train and test bits/dim against step, with the
                        published Glow (3.14) and histogram (4.59) figures
  metrics.json          test bits/dim, steps, times, machine, config
  model/                the training directory (resumable)
  export/<step>/        the SavedModel for TF Serving (glow_tf.export)
```
"""

import dataclasses
import math
import os
import time

import numpy as np

from glow_tf import data as data_lib
from glow_tf.analysis import baselines
from glow_tf.analysis import figures
from glow_tf.analysis import records
from glow_tf.analysis import reports
from glow_tf.analysis import samples

__all__ = ['run_demo', 'write_training_curve']


def write_training_curve(path, history, title=None):
  """Writes train and test bits/dim of `EvalPoint`s against step, as a PNG."""
  train = [(p.step, p.train_bits_per_dim) for p in history
           if math.isfinite(p.train_bits_per_dim)]
  curves = {'test (EMA weights)': ([p.step for p in history],
                                   [p.test_bits_per_dim for p in history])}
  if train:
    curves['train (running mean)'] = tuple(zip(*train))
  published = baselines.PUBLISHED
  references = {
      f'published Glow {published["glow_fashion_mnist"]["test_bits_per_dim"]}'
      ' (Kirichenko et al. 2020)':
          published['glow_fashion_mnist']['test_bits_per_dim'],
      f'per-pixel histogram ~{published["histogram_fashion_mnist"]["test_bits_per_dim"]}':
          published['histogram_fashion_mnist']['test_bits_per_dim'],
  }
  return figures.save_curves(path, curves, xlabel='training step',
                             ylabel='bits/dim', title=title,
                             references=references)


def run_demo(output_dir, glow_config, train_config, train_seconds,
             data_dir=None, idx_dir=None, eval_every_steps=250,
             curve_examples=1000, export=True, command=None, log=print):
  """Trains, evaluates, draws and exports; returns the metrics it wrote.

  Args:
    output_dir: the folder of everything (see the module docstring); a
      previous demo there is resumed (its training continues).
    glow_config: the model, e.g. `glow_tf.preset('fashion_mnist')`.
    train_config: a `train_lib.TrainConfig`.
    train_seconds: wall-clock budget of the training (with its curve
      evaluations); the final evaluation and figures come on top.
    data_dir: TFDS data directory (Fashion-MNIST is prepared there once).
    idx_dir: folder of the Fashion-MNIST IDX files (default Debian's).
    eval_every_steps: steps between the points of the training curve.
    curve_examples: test images scored for each point of the curve.
    export: also export the model for TF Serving (when `glow_tf.export`
      exists).
    command: the command line, recorded in metrics.json.
    log: callable taking a progress line.

  Returns:
    The dict written to `metrics.json`.
  """
  # pylint: disable=g-import-not-at-top
  from glow_tf.analysis import tracking
  from glow_tf.training import checkpoints
  from glow_tf.training import train_lib
  # pylint: enable=g-import-not-at-top
  start = time.time()
  os.makedirs(output_dir, exist_ok=True)
  model_dir = os.path.join(output_dir, 'model')
  test_images, _ = reports.load_arrays('fashion_mnist', 'test',
                                       data_dir=data_dir, idx_dir=idx_dir)
  dataset_fn = lambda ctx: data_lib.load_dataset(
      'fashion_mnist', 'train', data_dir=data_dir, idx_dir=idx_dir)
  log(f'Training {glow_config} for {train_seconds:.0f} s ...')
  run = tracking.train_with_evaluations(
      glow_config, train_config, model_dir, dataset_fn,
      test_images[:curve_examples], time_budget_s=train_seconds,
      eval_every_steps=eval_every_steps, log=log)
  glow, step = checkpoints.restore_model(model_dir)
  log(f'Evaluating step {step} on the {len(test_images)} test images ...')
  evaluation = train_lib.evaluate(
      glow, data_lib.load_dataset('fashion_mnist', 'test', data_dir=data_dir,
                                  idx_dir=idx_dir), batch_size=500)
  samples_summary = reports.write_temperature_grid(
      glow, output_dir, temperatures=samples.DEMO_TEMPERATURES,
      num_samples=10, step=step, name='samples')
  write_training_curve(
      os.path.join(output_dir, 'training_curve.png'), run['history'],
      title=f'Glow on Fashion-MNIST, {train_seconds / 60:g} min budget')
  exported = None
  if export:
    try:
      from glow_tf import export as export_lib  # pylint: disable=g-import-not-at-top
    except ImportError:
      log('glow_tf.export is not available: no SavedModel written.')
    else:
      export_dir = os.path.join(output_dir, 'export')
      version_dir = os.path.join(export_dir, str(step))
      if os.path.exists(version_dir):
        exported = version_dir
      else:
        exported = export_lib.export_from_model_dir(model_dir, export_dir)
      log(f'Exported the SavedModel to {exported}.')
  metrics = {
      'test_bits_per_dim': evaluation['bits_per_dim'],
      'test_bits_per_dim_std': evaluation['bits_per_dim_std'],
      'num_test_images': evaluation['num_examples'],
      'step': step,
      'train_seconds_budget': float(train_seconds),
      'training_wall_clock_seconds': run['seconds'],
      'train_step_seconds': run['train_seconds'],
      'wall_clock_seconds': time.time() - start,
      'images_per_sec': run['images_per_sec'],
      'stop_reason': run['stop_reason'],
      'history': [dataclasses.asdict(p) for p in run['history']],
      'glow_config': dataclasses.asdict(glow_config),
      'train_config': dataclasses.asdict(train_config),
      'machine': records.machine_description(),
      'command': command,
      'published_reference': {k: v for k, v in baselines.PUBLISHED.items()},
      'files': {'samples': samples_summary['figure'],
                'training_curve': 'training_curve.png',
                'model_dir': 'model',
                'export': (os.path.relpath(exported, output_dir)
                           if exported else None)},
  }
  figures.write_json(os.path.join(output_dir, 'metrics.json'), metrics)
  log(f'Test bits/dim {metrics["test_bits_per_dim"]:.4f} after {step} steps; '
      f'wrote {output_dir}.')
  return metrics
