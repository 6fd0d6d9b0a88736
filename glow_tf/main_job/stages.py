"""The stages of the demo, one function each, in the order they run.

```
train          glow_tf.training.train with a CurveEvaluation callback
restore        the newest checkpoint's model (averaged weights), once
evaluate       bits/dim of every test image
draw_samples   samples.png at temperatures 0, 0.5, 0.7, 1.0
draw_curve     training_curve.png
export_model   export/<step>/, the SavedModel for TF Serving (atomic)
measure_peak   the machine's float32 matmul peak (the benchmark's probe)
```
Each stage is `stage(record, settings, ...)`: it reads the frozen
`DemoSettings`, writes its results into the `Record` (`metrics.json`) and
returns what a later stage needs; `glow_tf.main_job.run_demo` runs them.
"""

import dataclasses
import os
from typing import Callable, Optional

from glow_tf import data as data_lib
from glow_tf import export as export_lib
from glow_tf import training
from glow_tf.analysis import baselines
from glow_tf.analysis import figures
from glow_tf.analysis import reports
from glow_tf.analysis import samples
from glow_tf import machine
from glow_tf.config import GlowConfig

__all__ = ['DemoSettings', 'TrainedModel', 'train', 'restore', 'evaluate',
           'draw_samples', 'draw_curve', 'export_model', 'measure_peak',
           'training_curve_ylim', 'write_training_curve']


@dataclasses.dataclass(frozen=True)
class DemoSettings:
  """What the stages are told (the arguments of `run_demo`)."""
  output_dir: str
  glow_config: GlowConfig
  train_config: training.TrainConfig
  data_dir: Optional[str] = None
  idx_dir: Optional[str] = None
  eval_every_steps: int = 250
  curve_examples: int = 1000
  curve_time_fraction: Optional[float] = 0.03
  log: Callable[[str], None] = print

  @property
  def model_dir(self):
    return os.path.join(self.output_dir, 'model')

  def load_dataset(self, split):
    """The Fashion-MNIST `split` (prepared in `data_dir` on first use)."""
    return data_lib.load_dataset('fashion_mnist', split,
                                 data_dir=self.data_dir, idx_dir=self.idx_dir)


class TrainedModel:
  """The newest checkpoint of a model_dir (averaged weights), restored once."""

  def __init__(self, model_dir):
    self.model_dir = model_dir
    self.glow = self.step = None

  @property
  def restored(self):
    return self.glow is not None

  def restore(self):
    """`(glow, step)`, restored on the first call."""
    if self.glow is None:
      self.glow, self.step = training.restore_model(self.model_dir)
    return self.glow, self.step


def train(record, settings):
  """Trains (or resumes) for the time budget; returns the curve's points."""
  test_images, _ = reports.load_arrays('fashion_mnist', 'test',
                                       data_dir=settings.data_dir,
                                       idx_dir=settings.idx_dir)
  curve = training.CurveEvaluation(
      test_images[:settings.curve_examples], settings.eval_every_steps,
      log=settings.log, max_time_fraction=settings.curve_time_fraction)
  settings.log(f'Training {settings.glow_config} for '
               f'{settings.train_config.time_budget_s:.0f} s ...')
  run = training.train(settings.glow_config, settings.train_config,
                       settings.model_dir,
                       lambda context: settings.load_dataset('train'),
                       callbacks=[curve], log=settings.log)
  # A run with nothing left to train never started the curve: the points
  # are those of the runs before, in the model_dir.
  history = curve.history or training.read_history(settings.model_dir)
  record.update(
      step=run['step'], training_wall_clock_seconds=run['seconds'],
      training_setup_seconds=run.get('setup_seconds'),
      train_step_seconds=run['train_step_seconds'],
      images_per_sec=run['images_per_sec'], stop_reason=run['stop_reason'],
      curve_evaluation_seconds=round(curve.seconds, 1),
      curve_points_skipped=curve.skipped,
      history=[dataclasses.asdict(p) for p in history])
  record.add_file('model_dir', 'model')
  return history


def restore(record, model):
  """Restores `model` (a `TrainedModel`) and records its step."""
  _, step = model.restore()
  record.update(step=step)


def evaluate(record, settings, model):
  """Bits/dim of all the test images under `model`, and the worst image."""
  restore(record, model)
  settings.log(f'Evaluating step {model.step} on the Fashion-MNIST test '
               'images ...')
  evaluation = training.evaluate(model.glow, settings.load_dataset('test'),
                                 batch_size=500, log=settings.log)
  record.update(test_bits_per_dim=evaluation['bits_per_dim'],
                test_bits_per_dim_std=evaluation['bits_per_dim_std'],
                test_bits_per_dim_p99=evaluation['bits_per_dim_p99'],
                test_bits_per_dim_max=evaluation['bits_per_dim_max'],
                test_worst_image=evaluation['worst_example'],
                num_test_images=evaluation['num_examples'])
  settings.log(
      f'Test bits/dim {evaluation["bits_per_dim"]:.4f} after {model.step} '
      f'steps (99th percentile {evaluation["bits_per_dim_p99"]:.4f}, worst '
      f'image {evaluation["bits_per_dim_max"]:.4f}: test image '
      f'{evaluation["worst_example"]}).')


def draw_samples(record, settings, model):
  """samples.png: ten samples of `model` at each of the demo's temperatures."""
  summary = reports.write_temperature_grid(
      model.glow, settings.output_dir, temperatures=samples.DEMO_TEMPERATURES,
      num_samples=10, step=model.step, name='samples')
  record.add_file('samples', summary['figure'])


def draw_curve(record, settings, history):
  """training_curve.png from `history` (None: the model_dir's curve)."""
  if history is None:
    history = training.read_history(settings.model_dir)
  minutes = settings.train_config.time_budget_s / 60
  write_training_curve(
      os.path.join(settings.output_dir, 'training_curve.png'), history,
      title=f'Glow on Fashion-MNIST, {minutes:g} min budget')
  record.add_file('training_curve', 'training_curve.png')


def export_model(record, settings, model):
  """export/<step>/, unless that version is there already."""
  step = model.step or training.restore_model(settings.model_dir)[1]
  export_dir = os.path.join(settings.output_dir, 'export')
  version_dir = os.path.join(export_dir, str(step))
  if not os.path.exists(version_dir):
    version_dir = export_lib.export_from_model_dir(settings.model_dir,
                                                   export_dir)
  record.add_file('export', os.path.relpath(version_dir, settings.output_dir))
  settings.log(f'Exported the SavedModel to {version_dir}.')


def measure_peak(record, settings):
  """The float32 matmul peak of this machine, at the model's shapes (~10 s).

  A slower CPU gets fewer steps in the same minutes: the peak goes with the
  result.
  """
  gflops = round(machine.peak_matmul_gflops(
      machine.model_matmul_shapes(settings.glow_config)), 1)
  record.update(matmul_peak_gflops=gflops)
  settings.log(f'float32 matmul peak of this machine: {gflops:.0f} GFLOP/s.')


def training_curve_ylim(history):
  """The y range of the training curve, or None to show every point.

  A single-batch spike of the training loss can be far above the rest and
  would flatten the curve. A training point more than the curve's span
  (highest test point less the lowest point) above the highest test point
  is such a spike: the axis then stops a little above the highest of the
  other points, the spike running off the top (its value stays in
  history.json). Anything closer, such as the early training loss of a
  warm restart above its first test point, stays on the axis.
  """
  test = [p.test_bits_per_dim for p in history]
  train = [p.train_bits_per_dim for p in history
           if p.train_bits_per_dim is not None]
  if not test or not train:
    return None
  top = max(test)
  limit = top + (top - min(test + train))
  kept = [value for value in train if value <= limit]
  if len(kept) == len(train):
    return None
  lowest, highest = min(test + kept), max(test + kept)
  margin = 0.05 * (highest - lowest)
  return (lowest - margin, highest + margin)


def write_training_curve(path, history, title=None):
  """Writes train and test bits/dim of `EvalPoint`s against step, as a PNG.

  The y axis is `training_curve_ylim(history)`: a training-loss spike far
  above the curve runs off the top.
  """
  train_points = [(p.step, p.train_bits_per_dim) for p in history
                  if p.train_bits_per_dim is not None]
  curves = {'test (EMA weights)': ([p.step for p in history],
                                   [p.test_bits_per_dim for p in history])}
  if train_points:
    curves['train (running mean)'] = tuple(zip(*train_points))
  glow = baselines.PUBLISHED['glow_fashion_mnist']['test_bits_per_dim']
  histogram = baselines.PUBLISHED['histogram_fashion_mnist'][
      'test_bits_per_dim']
  references = {
      f'published Glow {glow} (Kirichenko et al. 2020)': glow,
      f'per-pixel histogram ~{histogram}': histogram,
  }
  return figures.save_curves(path, curves, xlabel='training step',
                             ylabel='bits/dim', title=title,
                             references=references,
                             ylim=training_curve_ylim(history))
