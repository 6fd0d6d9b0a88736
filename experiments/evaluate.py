r"""Bits/dim of a trained Glow on a data set split; writes JSON.

```
python -m experiments.evaluate --model_dir=/tmp/glow --data_dir=/tmp/tfds
python -m experiments.evaluate --model_dir=/tmp/glow --dataset=mnist_idx \
    --idx_dir=../shared/data/mnist --split=test     # out of distribution
python -m experiments.evaluate --pretrained=fashion_mnist  # the model shipped
```

Uses the averaged (EMA) weights of the latest checkpoint when it has them
(`--nouse_ema` for the raw ones). The JSON goes to `--output`, by default
`<model_dir>/eval/<dataset>_<split>.json`, or with `--pretrained=<name>`
`outputs/pretrained_<name>/eval/<dataset>_<split>.json`.
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
from glow_tf import data
from glow_tf import training
from glow_tf.training import checkpoints


_MODEL = _flags.define_model_source('Training directory.')
_CHECKPOINT = flags.DEFINE_string(
    'checkpoint', None, 'Checkpoint prefix; default the latest in model_dir.')
_DATASET = _flags.define_dataset()
_SPLIT = flags.DEFINE_string(
    'split', None, 'Split (or TFDS slice); default the test split, else the '
    'validation split.')
_DATA_DIR, _IDX_DIR = _flags.define_data_dirs()
_IMAGE_SIZE = _flags.define_image_size()
_BATCH_SIZE = flags.DEFINE_integer('batch_size', 256, 'Images per batch.')
_MAX_EXAMPLES = flags.DEFINE_integer('max_examples', None,
                                     'Evaluate only the first N images.')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of the dequantisation noise.')
_USE_EMA = _flags.define_use_ema()
_OUTPUT = _flags.define_output_file(
    'Path of the JSON results; default <model_dir>/eval/<dataset>_<split>'
    '.json, or with --pretrained=<name> outputs/pretrained_<name>/eval/'
    '<dataset>_<split>.json (relative to the working directory).')
_CONTEXT = flags.DEFINE_enum(
    'context', None, list(data.CONTEXTS),
    "A conditional model's context, computed from each image (default: "
    'low_res for a model whose context has its shape).')


def _context_name(config):
  """The context a conditional model is scored with (None: unconditional)."""
  if not config.conditional:
    if _CONTEXT.value is not None:
      raise app.UsageError(f'--context={_CONTEXT.value}: the model is '
                           'unconditional.')
    return None
  if _CONTEXT.value is not None:
    return _CONTEXT.value
  if config.context_shape == data.context_shape('low_res',
                                                config.image_shape):
    return 'low_res'
  raise app.UsageError(
      f'The model is conditional (context_shape={config.context_shape}): '
      'give --context.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  glow, step, model = _MODEL.load(use_ema=_USE_EMA.value,
                                  checkpoint=_CHECKPOINT.value)
  ema = model.record['ema_weights']
  info = data.dataset_info(_DATASET.value, image_size=_IMAGE_SIZE.value)
  split = _SPLIT.value or info.eval_split
  dataset = data.load_dataset(_DATASET.value, split, data_dir=_DATA_DIR.value,
                              idx_dir=_IDX_DIR.value,
                              image_size=_IMAGE_SIZE.value)
  context = _context_name(glow.config)
  if context is not None:
    dataset = data.with_context(dataset, context)
  _main.progress(f'Evaluating {model} (step {step}, '
                 f'{"averaged" if ema else "raw"} weights) on {_DATASET.value} '
                 f'{split}.')
  results = training.evaluate(glow, dataset, batch_size=_BATCH_SIZE.value,
                              seed=_SEED.value,
                              max_examples=_MAX_EXAMPLES.value,
                              log=_main.progress)
  results.update(model.record, step=step, dataset=_DATASET.value, split=split,
                 n_bits=glow.config.n_bits, seed=_SEED.value,
                 context=context)
  output = _OUTPUT.value or os.path.join(
      model.output_root, 'eval', f'{_DATASET.value.replace("/", "_")}_'
      f'{split.replace("/", "_")}.json')
  checkpoints.write_json(output, results)  # Atomic: never half written.
  print(f'{_DATASET.value} {split}: {results["bits_per_dim"]:.4f} bits/dim '
        f'over {results["num_examples"]} images (step {step}, '
        f'{"averaged" if ema else "raw"} weights). Wrote {output}.')
  print('Worst images (position in the split: bits/dim): ' + ', '.join(
      f'{i}: {value:.2f}' for i, value in results['worst_examples'][:5]) +
        f'; 99th percentile {results["bits_per_dim_p99"]:.4f}.')


if __name__ == '__main__':
  _main.run(main)
