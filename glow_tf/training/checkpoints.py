"""The layout of a training `model_dir`, and saving and restoring its checkpoints.

```
model_dir/
  config.json          the GlowConfig (written once, checked on resume)
  train_config.json    the TrainConfig of the latest run (for the record)
  checkpoint           tf.train.CheckpointManager's index
  ckpt-<N>.index/.data the checkpoints: step, model, optimizer, ema_model
  history.json         test bits/dim measured during training (if asked for)
  train/ (summaries)
```

A checkpoint holds `step` (the global step, an int64 variable named `step`),
`model` (the `Glow`), `optimizer`, and, when parameter averaging is on,
`ema_model` (a second `Glow` of the same config holding the averaged weights).

A damaged checkpoint (truncated, overwritten, a file missing) costs only
itself: `find_intact_checkpoint` reads every tensor of the newest checkpoint
and falls back to the next older one with a warning that names the one it
skipped, so training, evaluation and export resume from the newest intact
checkpoint.
"""

import dataclasses
import json
import os
import re

from absl import logging
import tensorflow as tf

from glow_tf.config import GlowConfig
from glow_tf.glow import Glow
from glow_tf.training import distribution

__all__ = ['CheckpointError', 'save_config', 'load_config',
           'check_or_save_config', 'write_json', 'checkpoint_candidates',
           'verify_checkpoint', 'variable_names', 'find_intact_checkpoint',
           'latest_checkpoint',
           'has_ema_weights', 'restore_model', 'Checkpointer', 'CONFIG_FILE',
           'TRAIN_CONFIG_FILE', 'CHECKPOINT_NAME', 'train_config_changes',
           'model_differences']

CONFIG_FILE = 'config.json'
TRAIN_CONFIG_FILE = 'train_config.json'
CHECKPOINT_NAME = 'ckpt'


class CheckpointError(ValueError):
  """A model_dir or checkpoint that is missing, incomplete or corrupt."""


def write_json(path, value):
  """Writes `value` (a dataclass or a JSON-able dict) to `path`, atomically."""
  if dataclasses.is_dataclass(value):
    value = dataclasses.asdict(value)
  directory = os.path.dirname(path)
  if directory:
    tf.io.gfile.makedirs(directory)
  tmp = path + '.tmp'
  with tf.io.gfile.GFile(tmp, 'w') as f:
    json.dump(value, f, indent=2, sort_keys=True)
  tf.io.gfile.rename(tmp, path, overwrite=True)


def save_config(model_dir, config):
  """Writes `config` to `model_dir/config.json` (atomically)."""
  write_json(os.path.join(model_dir, CONFIG_FILE), config.to_json())


def load_config(model_dir):
  """Reads the `GlowConfig` of a training `model_dir`."""
  path = os.path.join(model_dir, CONFIG_FILE)
  if not tf.io.gfile.exists(path):
    raise CheckpointError(
        f'No {CONFIG_FILE} in model_dir {model_dir!r}: is it a glow_tf '
        'training directory (experiments/train.py --model_dir=...)?')
  try:
    with tf.io.gfile.GFile(path) as f:
      return GlowConfig.from_json(f.read())
  except (ValueError, TypeError, KeyError) as e:
    raise CheckpointError(f'Corrupt {path}: {e}') from e


def train_config_changes(model_dir, train_config):
  """The fields of `train_config` that differ from `model_dir`'s last run.

  Reads `model_dir/train_config.json` (written by every run of
  `glow_tf.training.train`) and returns `['batch_size: 64 -> 32', ...]`;
  empty when nothing changed, the file is missing or it is unreadable (a
  training setting may change between runs: this is for telling the user).
  """
  path = os.path.join(model_dir, TRAIN_CONFIG_FILE)
  try:
    if not tf.io.gfile.exists(path):
      return []
    with tf.io.gfile.GFile(path) as f:
      saved = json.load(f)
  except (ValueError, tf.errors.OpError):
    return []
  if not isinstance(saved, dict):
    return []
  fields = json.loads(json.dumps(dataclasses.asdict(train_config)))
  return [f'{k}: {saved[k]!r} -> {v!r}' for k, v in sorted(fields.items())
          if k in saved and saved[k] != v]


def model_differences(saved, glow_config):
  """`[(field, saved value, glow_config's value)]` where the models differ.

  How the layers are computed (`kernels`) is not part of the model, nor is
  the width of a context that neither (unconditional) model has.
  """
  saved = saved.replace(kernels=glow_config.kernels)
  if not (saved.conditional or glow_config.conditional):
    saved = saved.replace(context_channels=glow_config.context_channels)
  saved_fields, fields = (dataclasses.asdict(saved),
                          dataclasses.asdict(glow_config))
  return [(k, saved_fields[k], fields[k]) for k in fields
          if saved_fields[k] != fields[k]]


def check_or_save_config(model_dir, glow_config, chief=True):
  """Checks `glow_config` against `model_dir`'s, or writes it (on the chief).

  Raises:
    CheckpointError: `model_dir` holds a different model.
  """
  if tf.io.gfile.exists(os.path.join(model_dir, CONFIG_FILE)):
    differences = model_differences(load_config(model_dir), glow_config)
    if differences:
      diffs = ', '.join(f'{k}: {saved!r} (saved) != {ours!r}'
                        for k, saved, ours in differences)
      raise CheckpointError(
          f'model_dir {model_dir!r} holds a different model ({diffs}). '
          'Resume with the same model flags, or train into a new model_dir.')
  elif chief:
    save_config(model_dir, glow_config)


def _number(prefix):
  match = re.search(r'-(\d+)$', prefix)
  return int(match.group(1)) if match else -1


def checkpoint_candidates(model_dir):
  """Every checkpoint prefix of `model_dir`, newest first.

  Those named in the `checkpoint` index and those found on disk
  (`ckpt-<N>.index`), so that a damaged index loses nothing.
  """
  prefixes = set()
  try:
    state = tf.train.get_checkpoint_state(model_dir)
  except (tf.errors.OpError, ValueError) as e:  # An unparsable index file.
    logging.warning('The checkpoint index of %r is unreadable (%s); looking '
                    'for checkpoint files instead.', model_dir, e)
    state = None
  if state is not None:
    # get_checkpoint_state already joins relative entries to model_dir.
    for path in list(state.all_model_checkpoint_paths) + [
        state.model_checkpoint_path]:
      if path:
        prefixes.add(os.path.normpath(path))
  for index in tf.io.gfile.glob(
      os.path.join(model_dir, f'{CHECKPOINT_NAME}-*.index')):
    prefixes.add(os.path.normpath(index[:-len('.index')]))
  return sorted(prefixes, key=_number, reverse=True)


def verify_checkpoint(prefix):
  """Reads every tensor of checkpoint `prefix`; a CheckpointError if it can't."""
  try:
    reader = tf.train.load_checkpoint(prefix)
    for name in reader.get_variable_to_shape_map():
      reader.get_tensor(name)
  except Exception as e:  # pylint: disable=broad-except
    # TensorFlow's reader raises OpErrors, ValueError, and IndexError
    # ('Read less bytes than requested') for a truncated data file.
    message = str(e).strip().splitlines()[0] if str(e).strip() else repr(e)
    raise CheckpointError(
        f'Checkpoint {prefix!r} is unreadable ({type(e).__name__}: '
        f'{message})') from e


def find_intact_checkpoint(model_dir):
  """The newest checkpoint of `model_dir` that reads whole, or None if none.

  Damaged newer checkpoints are skipped with a warning that names them.

  Raises:
    CheckpointError: `model_dir` has checkpoints but none of them is intact.
  """
  candidates = checkpoint_candidates(model_dir)
  skipped = []
  for prefix in candidates:
    try:
      verify_checkpoint(prefix)
    except CheckpointError as e:
      skipped.append(str(e))
      continue
    if skipped:
      logging.warning('Skipped %d damaged checkpoint(s) of %r: %s. Using %r.',
                      len(skipped), model_dir, '; '.join(skipped), prefix)
    return prefix
  if skipped:
    raise CheckpointError(
        f'No intact checkpoint in {model_dir!r}: {"; ".join(skipped)}. '
        'Delete the damaged files, or train into a new model_dir.')
  return None


def latest_checkpoint(model_dir):
  """The newest intact checkpoint prefix in `model_dir`, or a CheckpointError."""
  prefix = find_intact_checkpoint(model_dir)
  if prefix is None:
    raise CheckpointError(f'No checkpoint in model_dir {model_dir!r}.')
  return prefix


def variable_names(prefix):
  """The names of the values saved in checkpoint `prefix`, as a set."""
  try:
    return {name for name, _ in tf.train.list_variables(prefix)}
  except (tf.errors.OpError, ValueError) as e:
    raise CheckpointError(f'Cannot read checkpoint {prefix!r}: {e}') from e


def has_ema_weights(checkpoint):
  """Whether the checkpoint prefix `checkpoint` holds averaged weights.

  Raises:
    CheckpointError: the checkpoint cannot be read.
  """
  return any(name.startswith('ema_model/')
             for name in variable_names(checkpoint))


def restore_model(model_dir, use_ema=True, checkpoint=None):
  """Builds the `Glow` of `model_dir` and restores its weights.

  Args:
    model_dir: a training directory (see the module docstring).
    use_ema: restore the averaged weights (`ema_model`) when the checkpoint
      has them; otherwise, or when it has none, the raw weights (`model`).
    checkpoint: a checkpoint prefix; default the newest intact one in
      `model_dir`.

  Returns:
    `(glow, step)`: the restored model and the global step it was saved at.

  Raises:
    CheckpointError: no config, no checkpoint, or a checkpoint that cannot
      be read or does not match the config.

  #### Examples

  ```python
  glow, step = restore_model('/tmp/glow_fmnist')
  ```
  """
  config = load_config(model_dir)
  if checkpoint is None:
    prefix = latest_checkpoint(model_dir)
  else:
    prefix = checkpoint
    verify_checkpoint(prefix)
  slot = 'ema_model' if use_ema and has_ema_weights(prefix) else 'model'
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


class Checkpointer:
  """Saves `ckpt-<step>` checkpoints of a `tf.train.Checkpoint` in `model_dir`.

  Under MultiWorkerMirroredStrategy every worker must save (the variables are
  collective); the workers other than the chief save into a temporary folder
  of their own, deleted straight after, so only the chief's copy stays.
  """

  def __init__(self, checkpoint, model_dir, strategy, keep):
    self._chief = distribution.is_chief(strategy)
    self._dir = distribution.worker_write_dir(model_dir, strategy)
    self.manager = tf.train.CheckpointManager(
        checkpoint, self._dir, max_to_keep=keep,
        checkpoint_name=CHECKPOINT_NAME)
    self.last_saved_step = None

  def save(self, step):
    """Saves the checkpoint of `step`; returns its prefix (None off the chief)."""
    path = self.manager.save(checkpoint_number=step)
    if not self._chief:
      tf.io.gfile.rmtree(self._dir)
      path = None
    self.last_saved_step = step
    return path
