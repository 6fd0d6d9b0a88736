r"""2x super-resolution of Fashion-MNIST: p(28x28 image | its 14x14 average).

Trains a conditional Glow whose context is the 2x2 average of each image
(`--context=low_res` of experiments/train.py) with the demo's settings for
`--train_minutes`, and, unless `--baseline_dir` is empty, the unconditional
demo model for the same time (or reuses it: training resumes, and a model
already trained to the budget is only evaluated). Then it scores both on
the 10,000 test images and writes `--output_dir/super_resolution.png`
(low-resolution inputs, samples at temperatures 0, 0.5 and 0.8, the true
images) and `metrics.json`; `--record_to` adds the run to a results JSON.

```
python -m experiments.super_resolution --train_minutes=15 \
    --output_dir=outputs/super_resolution \
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

_TEMPERATURES = flags.DEFINE_list(
    'temperatures', ['0', '0.5', '0.8'], 'One row of samples per temperature.')
_NUM_IMAGES = flags.DEFINE_integer(
    'num_images', 10, 'Test images (columns) in the figure.', lower_bound=1)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  config = cflags.model_config(context_shape=data.context_shape(
      'low_res', (28, 28, 1)))
  run = cflags.train_and_score(config, 'low_res', 'super_resolution')
  glow = run['glow']
  test_images, _ = analysis.load_arrays(
      'fashion_mnist', 'test', data_dir=cflags.DATA_DIR.value,
      idx_dir=cflags.IDX_DIR.value, max_examples=_NUM_IMAGES.value)
  temperatures = [float(t) for t in _TEMPERATURES.value]
  rows = analysis.conditional.super_resolution_rows(glow, test_images,
                                                    temperatures)
  figure = analysis.save_image_grid(
      os.path.join(run['output_dir'], 'super_resolution.png'), rows,
      row_labels=(['14x14 input'] + [f'T={t:g}' for t in temperatures] +
                  ['true 28x28']),
      title='p(28x28 | 14x14 average): samples at temperature T')
  cflags.finish(run, {'figure': figure})


if __name__ == '__main__':
  _main.run(main)
