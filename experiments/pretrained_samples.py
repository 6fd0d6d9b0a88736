r"""Samples of the pretrained model that ships with the package, as one PNG.

One row per temperature, the same latents in each column; the README's
"Pretrained model" figure (`docs/figures/pretrained_samples.png`) is

```
python -m experiments.pretrained_samples \
    --output=docs/figures/pretrained_samples.png
```
Offline: the weights are in the package (`glow_tf.pretrained`).
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


_NAME = flags.DEFINE_string(
    'name', 'fashion_mnist', 'A glow_tf.pretrained model name.')
_OUTPUT = _flags.define_output_file('The PNG to write.', required=True)
_TEMPERATURES = flags.DEFINE_list(
    'temperatures', [str(t) for t in analysis.DEMO_TEMPERATURES],
    'One row of samples per temperature.')
_NUM_SAMPLES = flags.DEFINE_integer('num_samples', 10, 'Samples per row.',
                                    lower_bound=1)
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of the latents.')


def title(name):
  """The figure's title: which model the samples come from."""
  return f"glow_tf.pretrained('{name}'): samples at temperature T"


def row_labels(temperatures):
  """`['T=0', 'T=0.5', ...]`, one per row."""
  return [f'T={t:g}' for t in temperatures]


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  temperatures = [float(t) for t in _TEMPERATURES.value]
  glow = glow_tf.pretrained(_NAME.value)
  grid = analysis.temperature_grid(glow, temperatures, _NUM_SAMPLES.value,
                                   seed=_SEED.value)
  path = analysis.save_image_grid(_OUTPUT.value, grid,
                                  row_labels=row_labels(temperatures),
                                  title=title(_NAME.value))
  _main.progress(f'Wrote {path}: {_NUM_SAMPLES.value} samples at T = '
                 f'{", ".join(f"{t:g}" for t in temperatures)} from '
                 f'glow_tf.pretrained({_NAME.value!r}), seed {_SEED.value}.')


if __name__ == '__main__':
  _main.run(main)
