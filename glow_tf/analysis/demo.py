"""The main job: train the Fashion-MNIST preset for a bounded time, report.

`run_demo` writes everything to one folder:

```
output_dir/
  samples.png           samples at temperatures 0, 0.5, 0.7, 1.0
  training_curve.png    train and test bits/dim against step, with the
                        published Glow (3.14) and histogram (4.59) figures
  metrics.json          test bits/dim, steps, times, machine (with its
                        float32 matmul peak), config
  model/                the training directory (resumable)
  export/<step>/        the SavedModel for TF Serving (glow_tf.export)
```
"""

import dataclasses
import os
import time

from glow_tf import _checks
from glow_tf import data as data_lib
from glow_tf import export as export_lib
from glow_tf import training
from glow_tf.analysis import baselines
from glow_tf.analysis import figures
from glow_tf.analysis import records
from glow_tf.analysis import reports
from glow_tf.analysis import samples
from glow_tf import machine as peak

__all__ = ['run_demo', 'write_training_curve', 'DemoError']


def write_training_curve(path, history, title=None):
  """Writes train and test bits/dim of `EvalPoint`s against step, as a PNG."""
  train = [(p.step, p.train_bits_per_dim) for p in history
           if p.train_bits_per_dim is not None]
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


class DemoError(RuntimeError):
  """One or more stages of the demo failed (the others' results are kept)."""


def run_demo(output_dir, glow_config, train_config, data_dir=None,
             idx_dir=None, eval_every_steps=250, curve_examples=1000, export=True, command=None, log=print,
             measure_peak=True, curve_time_fraction=0.03):
  """Trains, evaluates, draws and exports; returns the metrics it wrote.

  The stages run in order, and each one's result goes to `metrics.json` as
  soon as it exists (the test bits/dim before the figures and the export):

  ```
  train     glow_tf.training.train with a CurveEvaluation callback
  evaluate  bits/dim of every test image (EMA weights)
  samples   samples.png at temperatures 0, 0.5, 0.7, 1.0
  curve     training_curve.png
  export    export/<step>/, the SavedModel for TF Serving (atomic)
  peak      the machine's float32 matmul peak (the benchmark's probe, about
            10 s): a slower CPU gets fewer steps in the same minutes
  ```
  A stage that fails is logged with its reason and recorded under
  `metrics["stages"]`; the stages that do not need it still run, and
  `DemoError` is raised at the end, after `metrics.json` is written.

  Args:
    output_dir: the folder of everything (see the module docstring); a
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
    curve_time_fraction: skip curve points that would raise the curve's
      share of the training time above this (None: score every point);
      see `glow_tf.training.CurveEvaluation`.
    export: also export the model for TF Serving.
    command: the command line, recorded in metrics.json.
    log: callable taking a progress line.
    measure_peak: run the `peak` stage (`metrics["matmul_peak_gflops"]`).

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
  train_seconds = train_config.time_budget_s
  if train_seconds is None:
    raise ValueError('The demo trains for a time: give train_config a '
                     'time_budget_s.')
  _checks.make_dirs(output_dir, 'output_dir')
  model_dir = os.path.join(output_dir, 'model')
  metrics_path = os.path.join(output_dir, 'metrics.json')
  metrics = {
      'test_bits_per_dim': None, 'step': None,
      'train_seconds_budget': float(train_seconds),
      'glow_config': dataclasses.asdict(glow_config),
      'train_config': dataclasses.asdict(train_config),
      'machine': records.machine_description(),
      'commit': records.git_commit(),
      'command': command,
      'published_reference': dict(baselines.PUBLISHED),
      'stages': {}, 'files': {},
  }
  state = {}

  def stage(name, fn):
    tick = time.time()
    try:
      fn()
    except Exception as e:  # pylint: disable=broad-except
      # Any failure of one stage: keep the others' results and say which.
      reason = f'{type(e).__name__}: {e}'
      metrics['stages'][name] = {'status': 'failed', 'error': reason}
      log(f'Stage {name!r} failed: {reason}')
    else:
      metrics['stages'][name] = {'status': 'ok',
                                 'seconds': round(time.time() - tick, 1)}
    metrics['wall_clock_seconds'] = time.time() - start
    figures.write_json(metrics_path, metrics)

  def train():
    test_images, _ = reports.load_arrays('fashion_mnist', 'test',
                                         data_dir=data_dir, idx_dir=idx_dir)
    state['test_images'] = test_images
    curve = training.CurveEvaluation(test_images[:curve_examples],
                                     eval_every_steps, log=log,
                                     max_time_fraction=curve_time_fraction)
    state['curve'] = curve
    dataset_fn = lambda ctx: data_lib.load_dataset(
        'fashion_mnist', 'train', data_dir=data_dir, idx_dir=idx_dir)
    log(f'Training {glow_config} for {train_seconds:.0f} s ...')
    run = training.train(glow_config, train_config, model_dir, dataset_fn,
                         callbacks=[curve], log=log)
    metrics.update({
        'step': run['step'],
        'training_wall_clock_seconds': run['seconds'],
        'training_setup_seconds': run.get('setup_seconds'),
        'train_step_seconds': run['train_step_seconds'],
        'images_per_sec': run['images_per_sec'],
        'stop_reason': run['stop_reason'],
        'curve_evaluation_seconds': round(curve.seconds, 1),
        'curve_points_skipped': curve.skipped,
        'history': [dataclasses.asdict(p) for p in curve.history]})
    metrics['files']['model_dir'] = 'model'

  def load_model():
    glow, step = training.restore_model(model_dir)
    state['glow'], state['step'] = glow, step
    metrics['step'] = step
    return glow, step

  def evaluate():
    glow, step = load_model()
    log(f'Evaluating step {step} on the Fashion-MNIST test images ...')
    evaluation = training.evaluate(
        glow, data_lib.load_dataset('fashion_mnist', 'test',
                                    data_dir=data_dir, idx_dir=idx_dir),
        batch_size=500, log=log)
    metrics.update(test_bits_per_dim=evaluation['bits_per_dim'],
                   test_bits_per_dim_std=evaluation['bits_per_dim_std'],
                   test_bits_per_dim_p99=evaluation['bits_per_dim_p99'],
                   test_bits_per_dim_max=evaluation['bits_per_dim_max'],
                   test_worst_image=evaluation['worst_example'],
                   num_test_images=evaluation['num_examples'])
    log(f'Test bits/dim {evaluation["bits_per_dim"]:.4f} after {step} '
        f'steps (99th percentile {evaluation["bits_per_dim_p99"]:.4f}, worst '
        f'image {evaluation["bits_per_dim_max"]:.4f}: test image '
        f'{evaluation["worst_example"]}).')

  def draw_samples():
    glow, step = state['glow'], state['step']
    summary = reports.write_temperature_grid(
        glow, output_dir, temperatures=samples.DEMO_TEMPERATURES,
        num_samples=10, step=step, name='samples')
    metrics['files']['samples'] = summary['figure']

  def draw_curve():
    history = (state['curve'].history if 'curve' in state
               else training.read_history(model_dir))
    write_training_curve(
        os.path.join(output_dir, 'training_curve.png'), history,
        title=f'Glow on Fashion-MNIST, {train_seconds / 60:g} min budget')
    metrics['files']['training_curve'] = 'training_curve.png'

  def export_model():
    step = state.get('step') or training.restore_model(model_dir)[1]
    export_dir = os.path.join(output_dir, 'export')
    version_dir = os.path.join(export_dir, str(step))
    if not os.path.exists(version_dir):
      version_dir = export_lib.export_from_model_dir(model_dir, export_dir)
    metrics['files']['export'] = os.path.relpath(version_dir, output_dir)
    log(f'Exported the SavedModel to {version_dir}.')

  def measure_machine():
    metrics['matmul_peak_gflops'] = round(peak.peak_matmul_gflops(
        peak.model_matmul_shapes(glow_config)), 1)
    log(f'float32 matmul peak of this machine: '
        f'{metrics["matmul_peak_gflops"]:.0f} GFLOP/s.')

  stage('train', train)
  stage('evaluate', evaluate)
  if 'glow' not in state:  # The figures need a model even if evaluate failed.
    stage('restore', load_model)
  if 'glow' in state:
    stage('samples', draw_samples)
  stage('curve', draw_curve)
  if export:
    stage('export', export_model)
  if measure_peak:
    stage('peak', measure_machine)
  failed = [name for name, s in metrics['stages'].items()
            if s['status'] != 'ok']
  if failed:
    raise DemoError(
        f'Stage(s) {", ".join(failed)} failed (reasons above and in '
        f'{metrics_path}); the other results are in {output_dir}.')
  log(f'Test bits/dim {metrics["test_bits_per_dim"]:.4f} after '
      f'{metrics["step"]} steps; wrote {output_dir}.')
  return metrics
