"""Versioned SavedModel folders, as TF Serving watches them.

```
<export_dir>/                 TF Serving's --model_base_path
  <version>/                  an integer; written whole, never overwritten
    saved_model.pb, variables/
    assets.extra/glow_config.json, tf_serving_warmup_requests
  tmp-export-<version>-<id>/  an export under way (ignored by TF Serving)
```
`export_saved_model` writes a version, `export_from_model_dir` the latest
checkpoint of a training folder; `latest_version` and `load` find the
newest complete version.
"""

import json
import os
import uuid

import tensorflow as tf

from glow_tf import _files
from glow_tf.export.signatures import check_non_negative_int
from glow_tf.export.signatures import ExportError
from glow_tf.export.signatures import ServingModule
from glow_tf.export.warmup import write_warmup_requests
from glow_tf.training import checkpoints

__all__ = ['export_from_model_dir', 'export_saved_model', 'latest_version',
           'load', 'CONFIG_ASSET']

CONFIG_ASSET = os.path.join('assets.extra', 'glow_config.json')
_TEMP_PREFIX = 'tmp-export-'


def _new_version_dir(export_dir, version):
  """`<export_dir>/<version>`, or an ExportError if it exists or is invalid."""
  version = check_non_negative_int(version, 'version')
  path = os.path.join(export_dir, str(version))
  if tf.io.gfile.exists(path):
    raise ExportError(
        f'Export version {path!r} exists already; it is never overwritten. '
        'Choose another version (--version) or remove it.')
  return path


def export_saved_model(glow, export_dir, version, score_seed=None,
                       max_num_samples=1024, warmup=True, model_name='glow'):
  """Writes `glow` as the SavedModel `<export_dir>/<version>/` (tag `serve`).

  The SavedModel is written to a temporary directory inside `export_dir`
  (a name TF Serving ignores) and renamed to `<version>` only when complete,
  so a server watching `export_dir` never sees half a model, and an
  existing version is never touched.

  Args:
    glow: an initialised `glow_tf.Glow`.
    export_dir: the model base path that TF Serving watches.
    version: non-negative int, the version directory's name.
    score_seed: see `ServingModule`.
    max_num_samples: see `ServingModule`.
    warmup: also write `assets.extra/tf_serving_warmup_requests`.
    model_name: `model_spec.name` of the warm-up requests.

  Returns:
    The path of the new version directory.

  Raises:
    ExportError: `version` is not a non-negative int, or
      `<export_dir>/<version>` exists already.
  """
  final = _new_version_dir(export_dir, version)
  module = ServingModule(glow, score_seed=score_seed,
                         max_num_samples=max_num_samples)
  _files.make_dirs(export_dir, 'export_dir')
  temp = os.path.join(export_dir, f'{_TEMP_PREFIX}{version}-{uuid.uuid4().hex}')
  try:
    tf.saved_model.save(module, temp, signatures=module.signatures())
    config_path = os.path.join(temp, CONFIG_ASSET)
    tf.io.gfile.makedirs(os.path.dirname(config_path))
    with tf.io.gfile.GFile(config_path, 'w') as f:
      json.dump(glow.config.to_json(), f, indent=2, sort_keys=True)
    if warmup:
      write_warmup_requests(temp, glow.config, model_name=model_name)
    if tf.io.gfile.exists(final):
      raise ExportError(
          f'Export version {final!r} appeared while exporting; it is never '
          'overwritten.')
    tf.io.gfile.rename(temp, final, overwrite=False)
  finally:
    if tf.io.gfile.exists(temp):
      tf.io.gfile.rmtree(temp)
  return final


def export_from_model_dir(model_dir, export_dir, version=None, use_ema=True,
                          checkpoint=None, **kwargs):
  """Exports the latest checkpoint of a training `model_dir` for TF Serving.

  Args:
    model_dir: a training directory (`glow_tf.training.checkpoints`).
    export_dir: the model base path; the SavedModel goes to
      `<export_dir>/<version>/`.
    version: non-negative int; default the checkpoint's training step.
    use_ema: export the averaged (EMA) weights when the checkpoint has them.
    checkpoint: a checkpoint prefix; default the latest in `model_dir`.
    **kwargs: passed to `export_saved_model` (`score_seed`,
      `max_num_samples`, `warmup`, `model_name`).

  Returns:
    The path of the new version directory.

  Raises:
    CheckpointError: the model_dir or checkpoint is missing or corrupt.
    ExportError: the version exists already or is invalid.

  #### Examples

  ```python
  from glow_tf import export
  export.export_from_model_dir('/tmp/glow', '/tmp/glow_export')
  ```
  """
  if version is not None:
    _new_version_dir(export_dir, version)  # Fail before restoring.
  try:
    glow, step = checkpoints.restore_model(model_dir, use_ema=use_ema,
                                           checkpoint=checkpoint)
  except (IndexError, tf.errors.OpError) as e:
    # TF's checkpoint reader raises IndexError on a truncated data file.
    raise checkpoints.CheckpointError(
        f'Cannot restore a checkpoint of {model_dir!r}: it is corrupt or '
        f'truncated ({type(e).__name__}: {e}).') from e
  return export_saved_model(glow, export_dir,
                            step if version is None else version, **kwargs)


def latest_version(export_dir):
  """`<export_dir>/<version>` of the highest complete version, as TF Serving picks.

  Only folders named by an integer that hold a SavedModel count: a
  temporary `tmp-export-...` folder of an export under way does not.

  Raises:
    ExportError: `export_dir` holds no version.
  """
  versions = []
  if tf.io.gfile.isdir(export_dir):
    for name in tf.io.gfile.listdir(export_dir):
      name = name.rstrip('/')
      if name.isdigit() and tf.saved_model.contains_saved_model(
          os.path.join(export_dir, name)):
        versions.append(int(name))
  if not versions:
    raise ExportError(
        f'No exported version in {export_dir!r}: expected '
        '<export_dir>/<version>/saved_model.pb, the layout that '
        'experiments/export.py (glow_tf.export.export_saved_model) writes.')
  return os.path.join(export_dir, str(max(versions)))


def load(path):
  """Loads an export: a version folder, or the base folder's newest version.

  `tf.saved_model.load` needs `<export_dir>/<version>`; given the base
  folder (what TF Serving's `--model_base_path` takes) it says only that no
  SavedModel is there. This takes either.

  Args:
    path: `<export_dir>/<version>` or `<export_dir>`.

  Returns:
    The loaded SavedModel (`.signatures['serving_default']`, ...).

  Raises:
    ExportError: `path` is neither.

  #### Examples

  ```python
  from glow_tf import export
  model = export.load('/tmp/glow_export')     # the newest version
  model.signatures['sample'](num_samples=4, temperature=0.7, seed=0)
  ```
  """
  path = os.fspath(path)
  if not tf.saved_model.contains_saved_model(path):
    path = latest_version(path)
  return tf.saved_model.load(path, tags=['serve'])
