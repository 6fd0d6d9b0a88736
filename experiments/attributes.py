r"""Attribute manipulation: move test images along the difference of class means.

The paper's method for CelebA attributes (section 5.3), with Fashion-MNIST
classes as the attributes: `v = mean latent(target) - mean latent(source)`
over `--max_per_class` test images of each class, every level; the figure
shows `decode(encode(x) + s * v)` for test images `x` of the source class at
the strengths `s` of `--strengths`. Writes `attributes.png` and
`attributes.json` to `--output_dir`.

```
python -m experiments.attributes --model_dir=/tmp/glow \
    --output_dir=/tmp/glow/figures --source_class=0 --target_class=3
python -m experiments.attributes --pretrained=fashion_mnist \
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
from glow_tf.data import FASHION_MNIST_CLASS_NAMES


_MODEL = _flags.define_model_source()
_OUTPUT_DIR = _flags.define_output_dir()
_DATASET, _SPLIT, _DATA_DIR, _IDX_DIR = _flags.define_image_source()
_SOURCE_CLASS = flags.DEFINE_integer(
    'source_class', 0, 'Class the images come from (0: T-shirt/top).')
_TARGET_CLASS = flags.DEFINE_integer(
    'target_class', 3, 'Class the direction points to (3: Dress).')
_STRENGTHS = flags.DEFINE_list(
    'strengths', [str(s) for s in analysis.DEFAULT_STRENGTHS],
    'Multiples of the direction, one column each.')
_NUM_IMAGES = flags.DEFINE_integer('num_images', 6, 'Rows of the figure.')
_MAX_PER_CLASS = flags.DEFINE_integer(
    'max_per_class', 1000, 'Images of each class averaged into its mean.')
_USE_EMA = _flags.define_use_ema()


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  glow, step, model = _MODEL.load(use_ema=_USE_EMA.value)
  images, labels = analysis.load_arrays(
      _DATASET.value, _SPLIT.value, data_dir=_DATA_DIR.value,
      idx_dir=_IDX_DIR.value)
  class_names = (FASHION_MNIST_CLASS_NAMES
                 if _DATASET.value == 'fashion_mnist' else None)
  summary = analysis.write_attribute_manipulation(
      glow, images, labels, _OUTPUT_DIR.value,
      source_class=_SOURCE_CLASS.value, target_class=_TARGET_CLASS.value,
      strengths=[float(s) for s in _STRENGTHS.value],
      num_images=_NUM_IMAGES.value, class_names=class_names, step=step,
      encode_labels=glow.config.num_classes is not None,
      max_per_class=_MAX_PER_CLASS.value, model_source=model.record)
  print(f'Wrote {summary["figure"]} to {_OUTPUT_DIR.value} ({model}, step '
        f'{step}).')


if __name__ == '__main__':
  _main.run(main)
