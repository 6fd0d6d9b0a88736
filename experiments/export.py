r"""Exports a trained Glow as a SavedModel that TensorFlow Serving serves.

Restores the latest checkpoint of `--model_dir` (the averaged EMA weights
when it has them), or loads `--pretrained=<name>` (a model that ships with
the package, `glow_tf.pretrained`), and writes `<export_dir>/<version>/`
(tag `serve`; version = the training step unless `--version` is given)
with the signatures `serving_default`, `sample`, `encode` and `decode` (and
`classify` for a model with a classifier) and TF Serving's warm-up
requests; see `glow_tf.export` and docs/serving.md. An existing version is
never overwritten.

```
python -m experiments.export --model_dir=/tmp/glow \
    --export_dir=/tmp/glow_export
tensorflow_model_server --rest_api_port=8501 --model_name=glow \
    --model_base_path=/tmp/glow_export
python -m experiments.export --pretrained=fashion_mnist \
    --export_dir=/tmp/glow_export                # serve without training
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
from glow_tf import export


_MODEL = _flags.define_model_source()
_EXPORT_DIR = flags.DEFINE_string(
    'export_dir', None, 'Model base path: the SavedModel goes to '
    '<export_dir>/<version>/.', required=True)
_VERSION = flags.DEFINE_integer(
    'version', None, 'Version directory; default the checkpoint\'s training '
    'step.', lower_bound=0)
_CHECKPOINT = flags.DEFINE_string(
    'checkpoint', None, 'Checkpoint prefix; default the latest in '
    '--model_dir.')
_USE_EMA = _flags.define_use_ema(
    'Export the averaged weights when the checkpoint has them.')
_SCORE_SEED = flags.DEFINE_integer(
    'score_seed', None, 'Seed of the dequantisation noise of '
    'serving_default; default: score at the bin centres.', lower_bound=0)
_MAX_NUM_SAMPLES = flags.DEFINE_integer(
    'max_num_samples', 1024, 'Largest num_samples the sample signature '
    'accepts.', lower_bound=1)
_MODEL_NAME = flags.DEFINE_string(
    'model_name', 'glow', 'model_spec.name of the warm-up requests (the '
    'server\'s --model_name).')
_WARMUP = flags.DEFINE_boolean(
    'warmup', True, 'Write assets.extra/tf_serving_warmup_requests.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  # A CheckpointError or ExportError (both ValueErrors) ends the binary with
  # `export: error: <message>` (experiments/_main.py).
  glow, step, model = _MODEL.load(use_ema=_USE_EMA.value,
                                  checkpoint=_CHECKPOINT.value)
  path = export.export_saved_model(
      glow, _EXPORT_DIR.value,
      step if _VERSION.value is None else _VERSION.value,
      score_seed=_SCORE_SEED.value, max_num_samples=_MAX_NUM_SAMPLES.value,
      warmup=_WARMUP.value, model_name=_MODEL_NAME.value)
  print(f'Exported {model} to {path} (signatures: '
        f'{", ".join(export.signature_names(glow.config))}).')


if __name__ == '__main__':
  _main.run(main)
