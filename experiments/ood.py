r"""Bits/dim histograms of in- and out-of-distribution test sets, same model.

Scores the Fashion-MNIST test set (`--dataset`) and an MNIST-style IDX
folder (`--ood_idx_dir`, e.g. the MNIST test set) under one trained Glow, and
writes `ood_histogram.png` and `ood.json` (means, spreads, AUROC) to
`--output_dir`; with `--histogram_baseline` (default) `ood.json` also holds
both sets' bits/dim under per-pixel histograms fitted on the training split.
Nalisnick et al. (ICLR 2019) found that a Glow trained on
Fashion-MNIST gives MNIST the higher likelihood.

```
python -m experiments.ood --model_dir=/tmp/glow \
    --ood_idx_dir=../shared/data/mnist --output_dir=/tmp/glow/figures
python -m experiments.ood --pretrained=fashion_mnist \
    --ood_idx_dir=../shared/data/mnist --output_dir=/tmp/pretrained_figures
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
_OOD_IDX_DIR = flags.DEFINE_string(
    'ood_idx_dir', None, 'IDX folder of the out-of-distribution test set '
    '(t10k-images-idx3-ubyte[.gz]), e.g. the MNIST test set.', required=True)
_OOD_NAME = flags.DEFINE_string('ood_name', 'MNIST test',
                                'Legend of the out-of-distribution set.')
_DATASET = _flags.define_dataset(
    'glow_tf.data.load_dataset name of the in-distribution set.')
_IN_NAME = flags.DEFINE_string('in_name', 'Fashion-MNIST test',
                               'Legend of the in-distribution set.')
_DATA_DIR, _IDX_DIR = _flags.define_data_dirs(
    idx_dir_help='IDX folder of the in-distribution set (mnist_idx, or the '
    'Fashion-MNIST files).')
_MAX_EXAMPLES = flags.DEFINE_integer(
    'max_examples', None, 'Score only the first N images of each set.')
_HISTOGRAM_BASELINE = flags.DEFINE_boolean(
    'histogram_baseline', True, 'Also score both sets under per-pixel '
    'histograms fitted on the training split of --dataset.')
_BATCH_SIZE = flags.DEFINE_integer('batch_size', 500, 'Images per batch.')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of the dequantisation noise.')
_USE_EMA = _flags.define_use_ema()


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  glow, step, model = _MODEL.load(use_ema=_USE_EMA.value)
  in_images, _ = analysis.load_arrays(
      _DATASET.value, 'test', data_dir=_DATA_DIR.value,
      idx_dir=_IDX_DIR.value, max_examples=_MAX_EXAMPLES.value)
  out_images, _ = analysis.load_arrays(
      'mnist_idx', 'test', idx_dir=_OOD_IDX_DIR.value,
      max_examples=_MAX_EXAMPLES.value)
  train_images = None
  if _HISTOGRAM_BASELINE.value:
    train_images, _ = analysis.load_arrays(
        _DATASET.value, 'train', data_dir=_DATA_DIR.value,
        idx_dir=_IDX_DIR.value)
  summary = analysis.write_ood_histograms(
      glow, in_images, out_images, _OUTPUT_DIR.value, in_name=_IN_NAME.value,
      out_name=_OOD_NAME.value, batch_size=_BATCH_SIZE.value,
      seed=_SEED.value, step=step, train_images=train_images,
      model_source=model.record)
  print(f'{_IN_NAME.value}: {summary[_IN_NAME.value]["mean"]:.3f} bits/dim, '
        f'{_OOD_NAME.value}: {summary[_OOD_NAME.value]["mean"]:.3f} bits/dim, '
        f'AUROC {summary["auroc"]:.3f} ({model}). Wrote {summary["figure"]}.')


if __name__ == '__main__':
  _main.run(main)
