r"""Linear interpolation of all levels' latents between pairs of test images.

Writes `interpolation.png` (one pair per row) and `interpolation.json` to
`--output_dir`.

```
python -m experiments.interpolation --model_dir=/tmp/glow \
    --output_dir=/tmp/glow/figures
python -m experiments.interpolation --pretrained=fashion_mnist \
    --output_dir=/tmp/pretrained_figures      # the model shipped, untrained
```
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
from glow_tf import analysis


_MODEL = _flags.define_model_source()
_OUTPUT_DIR = _flags.define_output_dir()
_DATASET, _SPLIT, _DATA_DIR, _IDX_DIR = _flags.define_image_source()
_NUM_PAIRS = flags.DEFINE_integer('num_pairs', 6, 'Rows of the figure.')
_NUM_POINTS = flags.DEFINE_integer(
    'num_points', 9, 'Images per row, both ends included.')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed choosing the pairs.')
_USE_EMA = _flags.define_use_ema()


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  glow, step, model = _MODEL.load(use_ema=_USE_EMA.value)
  images, labels = analysis.load_arrays(
      _DATASET.value, _SPLIT.value, data_dir=_DATA_DIR.value,
      idx_dir=_IDX_DIR.value, max_examples=1000)
  summary = analysis.write_interpolations(
      glow, images, _OUTPUT_DIR.value, num_pairs=_NUM_PAIRS.value,
      num_points=_NUM_POINTS.value, seed=_SEED.value, step=step,
      labels=labels if glow.config.num_classes else None,
      model_source=model.record)
  print(f'Wrote {summary["figure"]} to {_OUTPUT_DIR.value} ({model}, step '
        f'{step}).')


if __name__ == '__main__':
  _main.run(main)
