r"""The paper's figure 3: permutation x coupling on Fashion-MNIST.

Trains reverse / shuffle / 1x1 convolution, each with additive and affine
coupling, from each of `--seeds` for the same number of steps, and writes to
`--output_dir`:

```
ablation.png          mean test bits/dim against step, shaded over seeds
ablation.json         every run's curve and final figure, each variant's mean
ablation.md           the table: mean, std, lowest-highest, ahead of next
runs/<name>/seed_<k>/ each run's model_dir (resumable: finished runs skipped)
```

```
python -m experiments.ablation --output_dir=outputs/ablation \
    --train_steps=2000 --seeds=0,1,2 --record_to=docs/results.json
```
Equal steps, not equal seconds: on a shared machine the same budget gives
runs different numbers of steps (`--train_seconds` still caps a run).
"""

import dataclasses
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
from glow_tf import data
from glow_tf import training
from glow_tf.analysis import ablation


_OUTPUT_DIR = _flags.define_output_dir(
    'Folder of the figure, the table and the runs.')
_TRAIN_STEPS = flags.DEFINE_integer(
    'train_steps', 2000, 'Training steps of every run (the comparison is at '
    'equal steps).')
_TRAIN_SECONDS = flags.DEFINE_float(
    'train_seconds', None, 'Optional wall-clock cap of each run (training '
    'and its evaluations); runs it stops are no longer at equal steps.')
_SEEDS = flags.DEFINE_list('seeds', ['0', '1', '2'],
                           'Seeds each variant is trained from.')
_PERMUTATIONS = flags.DEFINE_list(
    'permutations', list(ablation.ABLATION_PERMUTATIONS),
    'Permutations to compare (reverse, shuffle, lu_conv, conv).')
_COUPLINGS = flags.DEFINE_list(
    'couplings', list(ablation.ABLATION_COUPLINGS),
    'Couplings to compare (additive, affine).')
_PRESET = flags.DEFINE_string('preset', 'fashion_mnist',
                              'glow_tf.preset the variants start from.')
_NUM_STEPS = flags.DEFINE_integer(
    'num_steps', None, 'Override of the preset\'s flow steps per level.')
_HIDDEN_CHANNELS = flags.DEFINE_integer(
    'hidden_channels', None, 'Override of the preset\'s coupling width.')
_BATCH_SIZE, _LEARNING_RATE, _WARMUP_STEPS = _flags.define_short_run_flags()
_EVAL_EVERY_STEPS = flags.DEFINE_integer(
    'eval_every_steps', 100, 'Steps between the points of the curves.')
_CURVE_EXAMPLES = flags.DEFINE_integer(
    'curve_examples', 1000, 'Test images scored for each point of a curve.')
_TEST_EXAMPLES = flags.DEFINE_integer(
    'test_examples', None, 'Test images of the final figure (default all).')
_DATASET = _flags.define_dataset()
_DATA_DIR, _IDX_DIR = _flags.define_data_dirs()
_RECORD_TO = flags.DEFINE_string(
    'record_to', None, 'Add one entry per run to this results JSON '
    '(docs/results.json).')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  base = glow_tf.preset(_PRESET.value, **_flags.given(
      num_steps=_NUM_STEPS, hidden_channels=_HIDDEN_CHANNELS))
  variants = analysis.ablation_variants(base, _PERMUTATIONS.value,
                                        _COUPLINGS.value)
  train_config = training.TrainConfig(
      batch_size=_BATCH_SIZE.value, train_steps=_TRAIN_STEPS.value,
      learning_rate=_LEARNING_RATE.value, warmup_steps=_WARMUP_STEPS.value,
      summary_every=0, sample_every=0,
      init_batch_size=min(512, 8 * _BATCH_SIZE.value))
  test_images, _ = analysis.load_arrays(
      _DATASET.value, 'test', data_dir=_DATA_DIR.value,
      idx_dir=_IDX_DIR.value, max_examples=_TEST_EXAMPLES.value)
  dataset_fn = lambda ctx: data.load_dataset(
      _DATASET.value, 'train', data_dir=_DATA_DIR.value,
      idx_dir=_IDX_DIR.value)
  train_fn = ablation.budgeted_train_fn(
      train_config, dataset_fn, test_images[:_CURVE_EXAMPLES.value],
      test_images, _TRAIN_SECONDS.value,
      eval_every_steps=_EVAL_EVERY_STEPS.value, log=_main.progress)
  seeds = [_seed(text) for text in _SEEDS.value]
  # A finished run of --output_dir is reused only if it matches all this.
  settings = dict(dataclasses.asdict(train_config),
                  train_seconds=_TRAIN_SECONDS.value, dataset=_DATASET.value,
                  eval_every_steps=_EVAL_EVERY_STEPS.value,
                  curve_examples=_CURVE_EXAMPLES.value,
                  num_test_images=len(test_images))
  summaries = analysis.run_ablation(
      variants, train_fn, _OUTPUT_DIR.value, seeds=seeds, log=_main.progress,
      title=f'Permutation x coupling, {_TRAIN_STEPS.value} steps, '
            f'{len(seeds)} seed(s)', settings=settings)
  print(analysis.ablation_table(summaries))
  if _RECORD_TO.value:
    command = analysis.command_line(module='experiments.ablation')
    analysis.record_runs(_RECORD_TO.value, [
        analysis.run_record(
            f'ablation/{s.variant.name}', command,
            sum(r.wall_clock_seconds for r in s.results), s.mean,
            s.variant.config, steps=[r.steps for r in s.results],
            seeds=list(s.seeds),
            per_seed_test_bits_per_dim=[round(float(b), 4) for b in s.finals],
            test_bits_per_dim_std=round(s.std, 4),
            train_seconds_budget=_TRAIN_SECONDS.value,
            batch_size=_BATCH_SIZE.value,
            num_test_images=len(test_images), dataset=_DATASET.value,
            note='test_bits_per_dim is the mean over the seeds')
        for s in summaries])


def _seed(text):
  try:
    return int(text)
  except ValueError:
    raise app.UsageError(f'--seeds must be integers, got {text!r}.') from None


if __name__ == '__main__':
  _main.run(main)
