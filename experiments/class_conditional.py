r"""Class-conditional Glow on Fashion-MNIST with the class-prediction loss.

The paper's class conditioning, complete: a class-conditional top prior and
the official code's class-prediction loss (`--ycond --weight_y=0.01`: a
linear classifier on the spatial mean of the top latent, its cross-entropy
added to the loss with weight `--class_loss_weight`). Trains for
`--train_minutes` with the demo's settings, and, unless `--baseline_dir` is
empty, the unconditional demo model for the same time (or reuses it). Then
it scores both on the 10,000 test images, measures the classifier's test
accuracy from the latent, and writes `--output_dir/class_samples.png`
(10 classes x 8 samples at temperature 0.7, the paper's figure) and
`metrics.json`; `--record_to` adds the run to a results JSON.

```
python -m experiments.class_conditional --train_minutes=15 \
    --output_dir=outputs/class_conditional \
    --baseline_dir=outputs/unconditional/model
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

from experiments import _conditional_flags as cflags
from experiments import _main
from glow_tf import analysis
from glow_tf import data

_CLASS_LOSS_WEIGHT = flags.DEFINE_float(
    'class_loss_weight', 0.01,
    "Weight of the class-prediction loss (the official code's --weight_y).",
    lower_bound=0.0)
_TEMPERATURE = flags.DEFINE_float('temperature', 0.7,
                                  'Temperature of the samples grid.')
_PER_CLASS = flags.DEFINE_integer('per_class', 8, 'Samples of each class.',
                                  lower_bound=1)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  config = cflags.model_config(num_classes=10,
                               class_loss_weight=_CLASS_LOSS_WEIGHT.value)
  run = cflags.train_and_score(config, None, 'class_conditional')
  glow = run['glow']
  test_images, test_labels = analysis.load_arrays(
      'fashion_mnist', 'test', data_dir=cflags.DATA_DIR.value,
      idx_dir=cflags.IDX_DIR.value)
  extra = {}
  if config.class_loss_weight:
    extra['classifier_test_accuracy'] = analysis.conditional.class_accuracy(
        glow, test_images, test_labels)
    _main.progress('Classifier on the top latent: test accuracy '
                   f'{extra["classifier_test_accuracy"]:.4f}.')
  rows = analysis.conditional.class_sample_rows(
      glow, 10, _PER_CLASS.value, _TEMPERATURE.value)
  extra['figure'] = analysis.save_image_grid(
      os.path.join(run['output_dir'], 'class_samples.png'), rows,
      row_labels=list(data.FASHION_MNIST_CLASS_NAMES),
      title=f'Class-conditional samples at T={_TEMPERATURE.value:g}')
  cflags.finish(run, extra)


if __name__ == '__main__':
  _main.run(main)
