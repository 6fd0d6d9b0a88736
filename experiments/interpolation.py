r"""Linear interpolation of all levels' latents between pairs of test images.

Writes `interpolation.png` (one pair per row) and `interpolation.json` to
`--output_dir`.

```
python -m experiments.interpolation --model_dir=/tmp/glow \
    --output_dir=/tmp/glow/figures
```
"""

from absl import app
from absl import flags

from glow_tf import analysis
from glow_tf.training import checkpoints

_MODEL_DIR = flags.DEFINE_string(
    'model_dir', None, 'Training directory (experiments/train.py).',
    required=True)
_OUTPUT_DIR = flags.DEFINE_string(
    'output_dir', None, 'Folder for the PNG and JSON files.', required=True)
_DATASET = flags.DEFINE_string(
    'dataset', 'fashion_mnist', 'glow_tf.data.load_dataset name of the images.')
_SPLIT = flags.DEFINE_string('split', 'test', 'Split to take the images from.')
_DATA_DIR = flags.DEFINE_string('data_dir', None, 'TFDS data directory.')
_IDX_DIR = flags.DEFINE_string(
    'idx_dir', None, 'IDX folder (mnist_idx, or the Fashion-MNIST files).')
_NUM_PAIRS = flags.DEFINE_integer('num_pairs', 6, 'Rows of the figure.')
_NUM_POINTS = flags.DEFINE_integer(
    'num_points', 9, 'Images per row, both ends included.')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed choosing the pairs.')
_USE_EMA = flags.DEFINE_boolean(
    'use_ema', True, 'Use the averaged weights when the checkpoint has them.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  glow, step = checkpoints.restore_model(_MODEL_DIR.value,
                                         use_ema=_USE_EMA.value)
  images, labels = analysis.load_arrays(
      _DATASET.value, _SPLIT.value, data_dir=_DATA_DIR.value,
      idx_dir=_IDX_DIR.value, max_examples=1000)
  summary = analysis.write_interpolations(
      glow, images, _OUTPUT_DIR.value, num_pairs=_NUM_PAIRS.value,
      num_points=_NUM_POINTS.value, seed=_SEED.value, step=step,
      labels=labels if glow.config.num_classes else None)
  print(f'Wrote {summary["figure"]} to {_OUTPUT_DIR.value} (step {step}).')


if __name__ == '__main__':
  app.run(main)
