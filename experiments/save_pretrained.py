r"""Ships a trained model with the package: `glow_tf.pretrained(name)`.

```
python -m experiments.save_pretrained --model_dir=outputs/demo/model \
    --name=fashion_mnist --record_to=docs/results.json
```

Restores the averaged (EMA) weights of the newest intact checkpoint, scores
the first `--num_images` Fashion-MNIST test images in the order of the IDX
file `t10k-images-idx3-ubyte` (dequantisation seed 0;
`tests/test_pretrained.py` checks the shipped model against this figure),
and writes `glow_tf/weights/<name>/` (config, float32 weights without
optimizer state, info.json) with `glow_tf.pretrained_models.save_pretrained`.
info.json's `commands` are the ones that made the model, as far as the
training directory tells (a demo's command; the commands of the weights an
`--init_from` run started from), then this one.
"""

import os
import sys
import time

if not __package__:  # Run as `python experiments/<name>.py`: find the packages.
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  import experiments  # Loads TensorFlow quietly (experiments/__init__.py).

# pylint: disable=g-import-not-at-top,wrong-import-position
from absl import app
from absl import flags
import numpy as np

import benchmarks
from experiments import _flags
from experiments import _main
from glow_tf import analysis
from glow_tf import data
from glow_tf import pretrained_models as pretrained_lib
from glow_tf import training
from glow_tf.analysis import figures
from glow_tf.analysis import records
from glow_tf.training import checkpoints

_MODEL_DIR = _flags.define_model_dir('Training directory of the model.')
_NAME = flags.DEFINE_string('name', 'fashion_mnist',
                            'Name under glow_tf/weights/ (and in pretrained()).')
_OUTPUT_DIR = flags.DEFINE_string(
    'output_dir', None, 'Folder to write; default glow_tf/weights/<name>.')
_IDX_DIR = flags.DEFINE_string(
    'idx_dir', None, 'Folder of the Fashion-MNIST IDX files; default '
    'Debian\'s (apt-get install dataset-fashion-mnist).')
_NUM_IMAGES = flags.DEFINE_integer(
    'num_images', 1000, 'First test images scored for info.json.')
_RECORD_TO = flags.DEFINE_string(
    'record_to', None, 'Add the shipped model to a results JSON.')


def _training_commands(model_dir):
  """The commands that trained `model_dir`, as far as its files tell.

  A demo's `model/` has the demo's command in `../metrics.json`; a run
  started from other weights (`--init_from`) is preceded by the commands
  that made those (their `info.json`).
  """
  commands = []
  train_config = os.path.join(model_dir, checkpoints.TRAIN_CONFIG_FILE)
  if os.path.isfile(train_config):
    init_from = figures.read_json(train_config).get('init_from')
    if init_from:
      try:
        commands += pretrained_lib.saved_info(init_from).get('commands', [])
      except ValueError as e:
        _main.progress(f'The commands of {init_from!r}, where this run '
                       f'started, are not known: {e}')
  metrics = os.path.join(os.path.dirname(os.path.normpath(model_dir)),
                         'metrics.json')
  if os.path.isfile(metrics):
    command = figures.read_json(metrics).get('command')
    if command:
      commands.append(command)
  return commands


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  start = time.monotonic()
  model_dir = _MODEL_DIR.value
  prefix = checkpoints.latest_checkpoint(model_dir)
  if not checkpoints.has_ema_weights(prefix):
    raise app.UsageError(f'{prefix} has no averaged (EMA) weights to ship.')
  glow, step = checkpoints.restore_model(model_dir, use_ema=True,
                                         checkpoint=prefix)
  images, _ = data.load_idx_split(
      _IDX_DIR.value or data.DEFAULT_FASHION_MNIST_DIR, 't10k')
  images = images[:_NUM_IMAGES.value]
  _main.progress(f'Scoring step {step} on the first {len(images)} test '
                 'images.')
  bits = float(np.mean(training.BitsPerDimScorer(glow)(images, seed=0)))
  command = records.command_line(module='experiments.save_pretrained')
  commands = _training_commands(model_dir) + [command]
  parameters = benchmarks.count_parameters(glow)
  info = {'name': _NAME.value, 'step': step, 'weights': 'ema',
          'dataset': 'fashion_mnist', 'split': 'test',
          'num_images': len(images), 'dequantization_seed': 0,
          'test_bits_per_dim': round(bits, 4), 'parameters': parameters,
          'commit': records.git_commit(), 'commands': commands}
  output_dir = _OUTPUT_DIR.value or os.path.join(pretrained_lib.WEIGHTS_DIR,
                                                 _NAME.value)
  size = pretrained_lib.save_pretrained(glow, output_dir, info)
  print(f'Wrote {output_dir}: step {step}, {parameters:,} parameters, '
        f'{size / 2**20:.2f} MiB; {bits:.4f} bits/dim on the first '
        f'{len(images)} test images.')
  if _RECORD_TO.value:
    analysis.record_runs(_RECORD_TO.value, [analysis.run_record(
        f'pretrained/{_NAME.value}', command, time.monotonic() - start, bits,
        glow.config, steps=step, num_test_images=len(images),
        size_bytes=size, parameters=parameters,
        note=f'the model shipped as glow_tf.pretrained({_NAME.value!r}); '
             f'bits/dim of the first {len(images)} test images, EMA weights')])


if __name__ == '__main__':
  _main.run(main)
