r"""Rows of samples at temperatures T = 0 .. 1 (the paper's figure 8).

Writes `temperature_grid.png` and `temperature_grid.json` to `--output_dir`.

```
python -m experiments.temperature_grid --model_dir=/tmp/glow \
    --output_dir=/tmp/glow/figures
python -m experiments.temperature_grid --pretrained=fashion_mnist \
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
_TEMPERATURES = flags.DEFINE_list(
    'temperatures', [str(t) for t in analysis.PAPER_TEMPERATURES],
    'One row of samples per temperature.')
_NUM_SAMPLES = flags.DEFINE_integer('num_samples', 10, 'Samples per row.')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of the latents.')
_USE_EMA = _flags.define_use_ema()


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  temperatures = [float(t) for t in _TEMPERATURES.value]
  glow, step, model = _MODEL.load(use_ema=_USE_EMA.value)
  summary = analysis.write_temperature_grid(
      glow, _OUTPUT_DIR.value, temperatures=temperatures,
      num_samples=_NUM_SAMPLES.value, seed=_SEED.value, step=step,
      model_source=model.record)
  print(f'Wrote {summary["figure"]} to {_OUTPUT_DIR.value} ({model}, step '
        f'{step}).')


if __name__ == '__main__':
  _main.run(main)
