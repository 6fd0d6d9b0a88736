"""The layout of a training `model_dir`, shared by training, evaluation and export.

```
model_dir/
  config.json          the GlowConfig (written once, checked on resume)
  checkpoint           tf.train.CheckpointManager's index
  ckpt-<N>.index/.data the checkpoints: step, model, optimizer, ema_model
  train/ (summaries)
```

A checkpoint holds `step` (the global step, an int64 variable named `step`),
`model` (the `Glow`), `optimizer`, and, when parameter averaging is on,
`ema_model` (a second `Glow` of the same config holding the averaged weights).
"""

import dataclasses
import json
import os

import tensorflow as tf

from glow_tf.config import GlowConfig
from glow_tf.glow import Glow

__all__ = ['CheckpointError', 'save_config', 'load_config',
           'latest_checkpoint', 'has_ema_weights', 'restore_model',
           'CONFIG_FILE']

CONFIG_FILE = 'config.json'


class CheckpointError(ValueError):
  """A model_dir or checkpoint that is missing, incomplete or corrupt."""


def save_config(model_dir, config):
  """Writes `config` to `model_dir/config.json` (atomically)."""
  tf.io.gfile.makedirs(model_dir)
  path = os.path.join(model_dir, CONFIG_FILE)
  tmp = path + '.tmp'
  with tf.io.gfile.GFile(tmp, 'w') as f:
    json.dump(dataclasses.asdict(config), f, indent=2, sort_keys=True)
  tf.io.gfile.rename(tmp, path, overwrite=True)


def load_config(model_dir):
  """Reads the `GlowConfig` of a training `model_dir`."""
  path = os.path.join(model_dir, CONFIG_FILE)
  if not tf.io.gfile.exists(path):
    raise CheckpointError(
        f'No {CONFIG_FILE} in model_dir {model_dir!r}: is it a glow_tf '
        'training directory (experiments/train.py --model_dir=...)?')
  try:
    with tf.io.gfile.GFile(path) as f:
      fields = json.load(f)
    fields['image_shape'] = tuple(fields['image_shape'])
    return GlowConfig(**fields)
  except (ValueError, TypeError, KeyError) as e:
    raise CheckpointError(f'Corrupt {path}: {e}') from e


def latest_checkpoint(model_dir):
  """The newest checkpoint prefix in `model_dir`, or a CheckpointError."""
  prefix = tf.train.latest_checkpoint(model_dir)
  if prefix is None:
    raise CheckpointError(f'No checkpoint in model_dir {model_dir!r}.')
  return prefix


def has_ema_weights(checkpoint):
  """Whether the checkpoint prefix `checkpoint` holds averaged weights.

  Raises:
    CheckpointError: the checkpoint cannot be read.
  """
  try:
    names = [name for name, _ in tf.train.list_variables(checkpoint)]
  except (tf.errors.OpError, ValueError) as e:
    raise CheckpointError(
        f'Cannot read checkpoint {checkpoint!r}: {e}') from e
  return any(name.startswith('ema_model/') for name in names)


def restore_model(model_dir, use_ema=True, checkpoint=None):
  """Builds the `Glow` of `model_dir` and restores its weights.

  Args:
    model_dir: a training directory (see the module docstring).
    use_ema: restore the averaged weights (`ema_model`) when the checkpoint
      has them; otherwise, or when it has none, the raw weights (`model`).
    checkpoint: a checkpoint prefix; default the latest in `model_dir`.

  Returns:
    `(glow, step)`: the restored model and the global step it was saved at.

  Raises:
    CheckpointError: no config, no checkpoint, or a checkpoint that cannot
      be read or does not match the config.
  """
  config = load_config(model_dir)
  prefix = checkpoint or latest_checkpoint(model_dir)
  try:
    names = {name for name, _ in tf.train.list_variables(prefix)}
  except (tf.errors.OpError, ValueError) as e:
    raise CheckpointError(f'Cannot read checkpoint {prefix!r}: {e}') from e
  slot = 'ema_model' if use_ema and any(
      n.startswith('ema_model/') for n in names) else 'model'
  glow = Glow(config)
  step = tf.Variable(0, dtype=tf.int64, name='step')
  ckpt = tf.train.Checkpoint(step=step, **{slot: glow})
  try:
    status = ckpt.read(prefix)
    status.assert_existing_objects_matched()
    status.expect_partial()  # the optimizer and the other weights stay unread
  except (tf.errors.OpError, AssertionError, ValueError, IndexError) as e:
    raise CheckpointError(
        f'Checkpoint {prefix!r} does not match the config in {model_dir!r} '
        f'or is corrupt: {e}') from e
  return glow, int(step.numpy())
