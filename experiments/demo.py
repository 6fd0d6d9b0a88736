r"""The main job: Glow on Fashion-MNIST for a bounded time, then its report.

Trains the `fashion_mnist` preset for `--train_minutes` (15 by default),
evaluates the test bits/dim on all 10,000 test images, and writes to
`--output_dir`: `samples.png` (temperatures 0, 0.5, 0.7, 1.0),
`training_curve.png`, `metrics.json`, the training directory `model/` (with
TensorBoard scalars every 100 steps in `model/train/`: loss, learning rate,
gradient norm) and the SavedModel `export/<step>/`. Rerunning continues the
training.

```
python -m experiments.demo --output_dir=outputs/demo --train_minutes=15
```
(`scripts/demo.sh` installs what this needs first.)
"""

import os
import sys

if not __package__:  # Run as `python experiments/<name>.py`: find the packages.
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  import experiments  # Loads TensorFlow quietly (experiments/__init__.py).

# pylint: disable=g-import-not-at-top,wrong-import-position
from absl import app
from absl import flags

from experiments import _flags
from experiments import _main
import glow_tf
from glow_tf import analysis
from glow_tf import main_job
from glow_tf import training


_OUTPUT_DIR = _flags.define_output_dir(
    'Folder of everything the demo writes.', default='outputs/demo')
_TRAIN_MINUTES = flags.DEFINE_float(
    'train_minutes', 15.0, 'Wall-clock budget of the training, counted '
    'across reruns (rerun with a larger value to train on), from the end of '
    "each run's first step: setup and compilation are not counted.")
_LR_DECAY = flags.DEFINE_enum(
    'lr_decay', 'cosine', ['none', 'cosine'],
    'Learning-rate decay to 0 by the end of the time budget.')
_CLIP_GRAD_NORM = flags.DEFINE_float(
    'clip_grad_norm', 20.0, 'Clip the global gradient norm to this (0: off). '
    'The two-hour K=16 run of docs/results.md trained with 20; without a '
    'clip, K=16 at a constant rate diverged.', lower_bound=0.0)
_TRAIN_STEPS = flags.DEFINE_integer(
    'train_steps', 1_000_000, 'Step limit (the time budget usually stops '
    'the training first).')
_PRESET = flags.DEFINE_string('preset', 'fashion_mnist',
                              'glow_tf.preset to train.')
_NUM_STEPS = flags.DEFINE_integer('num_steps', None,
                                  'Override of the flow steps per level.')
_HIDDEN_CHANNELS = flags.DEFINE_integer(
    'hidden_channels', None, 'Override of the coupling width.')
_EDGE_PADDING = flags.DEFINE_boolean(
    'edge_padding', None, "The official code's padding-indicator channel in "
    'every 3x3 convolution (overrides preset; default off).')
_NETWORK_DTYPE = _flags.define_network_dtype()
_ACT_NORM_LOG_SCALE_FACTOR = _flags.define_act_norm_log_scale_factor()
_DEQUANTIZATION = _flags.define_dequantization()
_INIT_FROM = _flags.define_init_from()
_BATCH_SIZE, _LEARNING_RATE, _WARMUP_STEPS = _flags.define_short_run_flags(
    learning_rate=5e-3,
    learning_rate_help=(
        "Adamax's peak rate, reached after the warm-up and decayed to zero "
        'by the end of the budget. 5e-3 (five times the paper\'s 1e-3) was '
        'ahead of 4e-3 in two hours and in 15-minute runs with either of '
        'two seeds, 4e-3 of 3e-3 and 3e-3 of 2e-3 (docs/results.md).'))
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of weights, data and noise.')
_EVAL_EVERY_STEPS = flags.DEFINE_integer(
    'eval_every_steps', 250, 'Steps between the points of the curve.')
_CURVE_EXAMPLES = flags.DEFINE_integer(
    'curve_examples', 1000, 'Test images scored for each point of the curve.')
_CURVE_TIME_FRACTION = flags.DEFINE_float(
    'curve_time_fraction', 0.03, 'Skip curve points that would raise the '
    "curve's share of the training time above this (0: score every point; "
    'a slow CPU gets fewer points instead of less training).',
    lower_bound=0.0, upper_bound=0.99)
_DATA_DIR, _IDX_DIR = _flags.define_data_dirs(
    data_dir_help='TFDS data directory (default ~/tensorflow_datasets).',
    idx_dir_help='Fashion-MNIST IDX folder (default '
    '/usr/share/datasets/fashion-mnist, Debian\'s dataset-fashion-mnist).')
_EXPORT = flags.DEFINE_boolean('export', True,
                               'Export the SavedModel for TF Serving.')
_RECORD_TO = flags.DEFINE_string(
    'record_to', None, 'Add this run to a results JSON (docs/results.json).')
_RECORD_NAME = flags.DEFINE_string('record_name', 'demo',
                                   'Name of the run in --record_to.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  if not _TRAIN_MINUTES.value > 0:
    raise app.UsageError(
        f'--train_minutes must be > 0, got {_TRAIN_MINUTES.value}.')
  glow_config = glow_tf.preset(_PRESET.value, **_flags.given(
      num_steps=_NUM_STEPS, hidden_channels=_HIDDEN_CHANNELS,
      edge_padding=_EDGE_PADDING,
      network_dtype=_NETWORK_DTYPE,
      act_norm_log_scale_factor=_ACT_NORM_LOG_SCALE_FACTOR,
      dequantization=_DEQUANTIZATION))
  train_config = training.TrainConfig(
      batch_size=_BATCH_SIZE.value, train_steps=_TRAIN_STEPS.value,
      learning_rate=_LEARNING_RATE.value, warmup_steps=_WARMUP_STEPS.value,
      seed=_SEED.value, summary_every=100, sample_every=0,
      init_batch_size=min(512, 8 * _BATCH_SIZE.value),
      time_budget_s=60.0 * _TRAIN_MINUTES.value, lr_decay=_LR_DECAY.value,
      clip_grad_norm=_CLIP_GRAD_NORM.value or None,
      init_from=_INIT_FROM.value)
  command = analysis.command_line(module='experiments.demo')
  metrics = main_job.run_demo(
      _OUTPUT_DIR.value, glow_config, train_config, data_dir=_DATA_DIR.value,
      idx_dir=_IDX_DIR.value, eval_every_steps=_EVAL_EVERY_STEPS.value,
      curve_examples=_CURVE_EXAMPLES.value, export=_EXPORT.value,
      curve_time_fraction=_CURVE_TIME_FRACTION.value or None,
      command=command, log=_main.progress)
  if _RECORD_TO.value:
    analysis.record_runs(_RECORD_TO.value, [analysis.run_record(
        _RECORD_NAME.value, command, metrics['wall_clock_seconds'],
        metrics['test_bits_per_dim'], glow_config, steps=metrics['step'],
        train_seconds_budget=metrics['train_seconds_budget'],
        batch_size=_BATCH_SIZE.value,
        num_test_images=metrics['num_test_images'],
        images_per_sec=metrics.get('images_per_sec'),
        training_wall_clock_seconds=metrics.get('training_wall_clock_seconds'),
        curve_evaluation_seconds=metrics.get('curve_evaluation_seconds'),
        matmul_peak_gflops=metrics['matmul_peak_gflops'],
        dataset='fashion_mnist', **_flags.given(init_from=_INIT_FROM))])


if __name__ == '__main__':
  _main.run(main)
