"""`run_demo`: the main job, its stages run in order into one folder."""

import dataclasses
import os
import time

from glow_tf import _files
from glow_tf.analysis import baselines
from glow_tf.analysis import records
from glow_tf.main_job import stages
from glow_tf.main_job.record import Record

__all__ = ['run_demo', 'DemoError']


class DemoError(RuntimeError):
  """One or more stages of the demo failed (the others' results are kept)."""


def run_demo(output_dir, glow_config, train_config, data_dir=None,
             idx_dir=None, eval_every_steps=250, curve_examples=1000,
             export=True, command=None, log=print, measure_peak=True,
             curve_time_fraction=0.03):
  """Trains, evaluates, draws and exports; returns the metrics it wrote.

  The stages (`glow_tf.main_job.stages`) run in order, and each one's
  result goes to `metrics.json` as soon as it exists (the test bits/dim
  before the figures and the export):

  ```
  train     glow_tf.training.train with a CurveEvaluation callback
  evaluate  bits/dim of every test image (EMA weights)
  restore   only if evaluate failed before it had the model
  samples   samples.png at temperatures 0, 0.5, 0.7, 1.0 (needs the model)
  curve     training_curve.png
  export    export/<step>/, the SavedModel for TF Serving (atomic)
  peak      the machine's float32 matmul peak (the benchmark's probe, about
            10 s): a slower CPU gets fewer steps in the same minutes
  ```
  A stage that fails is logged with its reason and recorded under
  `metrics["stages"]`; the stages that do not need it still run, and
  `DemoError` is raised at the end, after `metrics.json` is written.

  Args:
    output_dir: the folder of everything (see `glow_tf.main_job`); a
      previous demo there is resumed (its training continues).
    glow_config: the model, e.g. `glow_tf.preset('fashion_mnist')`.
    train_config: a `glow_tf.training.TrainConfig` with a `time_budget_s`,
      the wall-clock budget of the training (curve evaluations included;
      setup, compilation, the final evaluation and figures come on top),
      counted across reruns.
    data_dir: TFDS data directory (Fashion-MNIST is prepared there once).
    idx_dir: folder of the Fashion-MNIST IDX files (default Debian's).
    eval_every_steps: steps between the points of the training curve.
    curve_examples: test images scored for each point of the curve.
    export: also export the model for TF Serving.
    command: the command line, recorded in metrics.json.
    log: callable taking a progress line.
    measure_peak: run the `peak` stage (`metrics["matmul_peak_gflops"]`).
    curve_time_fraction: skip curve points that would raise the curve's
      share of the training time above this (None: score every point);
      see `glow_tf.training.CurveEvaluation`.

  Returns:
    The dict written to `metrics.json`.

  Raises:
    DemoError: a stage failed; `metrics.json` holds what the others made.

  #### Examples

  ```python
  run_demo('outputs/demo', glow_tf.preset('fashion_mnist'),
           glow_tf.training.TrainConfig(warmup_steps=200, lr_decay='cosine',
                                        time_budget_s=60))
  ```
  """
  start = time.time()
  if train_config.time_budget_s is None:
    raise ValueError('The demo trains for a time: give train_config a '
                     'time_budget_s.')
  _files.make_dirs(output_dir, 'output_dir')
  settings = stages.DemoSettings(
      output_dir, glow_config, train_config, data_dir=data_dir,
      idx_dir=idx_dir, eval_every_steps=eval_every_steps,
      curve_examples=curve_examples, curve_time_fraction=curve_time_fraction,
      log=log)
  record = Record(os.path.join(output_dir, 'metrics.json'),
                  _first_metrics(settings, command), log, start)
  _run_stages(record, settings, export, measure_peak)
  failed = record.failed_stages()
  if failed:
    raise DemoError(
        f'Stage(s) {", ".join(failed)} failed (reasons above and in '
        f'{record.path}); the other results are in {output_dir}.')
  log(f'Test bits/dim {record.metrics["test_bits_per_dim"]:.4f} after '
      f'{record.metrics["step"]} steps; wrote {output_dir}.')
  return record.metrics


def _first_metrics(settings, command):
  """What metrics.json holds before any stage has run."""
  return {
      'test_bits_per_dim': None, 'step': None,
      'train_seconds_budget': float(settings.train_config.time_budget_s),
      'glow_config': settings.glow_config.to_json(),
      'train_config': dataclasses.asdict(settings.train_config),
      'machine': records.machine_description(),
      'commit': records.git_commit(),
      'command': command,
      'published_reference': dict(baselines.PUBLISHED),
      'stages': {}, 'files': {},
  }


def _run_stages(record, settings, export, measure_peak):
  """Runs the stages in order; each one's failure is recorded, not raised."""
  history = record.run('train', stages.train, settings)
  model = stages.TrainedModel(settings.model_dir)
  record.run('evaluate', stages.evaluate, settings, model)
  if not model.restored:  # The figures need a model even if evaluate failed.
    record.run('restore', stages.restore, model)
  if model.restored:
    record.run('samples', stages.draw_samples, settings, model)
  record.run('curve', stages.draw_curve, settings, history)
  if export:
    record.run('export', stages.export_model, settings, model)
  if measure_peak:
    record.run('peak', stages.measure_peak, settings)
