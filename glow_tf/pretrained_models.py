"""Trained Glow weights that ship with the package, loaded offline.

```python
import glow_tf

glow = glow_tf.pretrained('fashion_mnist')       # a ready glow_tf.Glow
images = glow_tf.to_uint8(glow.sample(16, seed=1, temperature=0.7))
bits = glow_tf.bits_per_dim(glow, test_images)  # uint8 [N, 28, 28, 1]
glow_tf.pretrained_info('fashion_mnist')         # how it was made and scored
```

Each model is a folder `glow_tf/weights/<name>/` with

```
config.json                      the GlowConfig
weights.index, weights.data-*    a tf.train.Checkpoint of the Glow alone:
                                 the averaged (EMA) weights, float32, no
                                 optimizer state
info.json                        step, test bits/dim, the commands that made it
```
written by `save_pretrained` (see `experiments/save_pretrained.py`).
"""

import json
import os

import tensorflow as tf

from glow_tf.config import GlowConfig
from glow_tf.glow import Glow

__all__ = ['pretrained', 'pretrained_info', 'available_pretrained',
           'load_pretrained', 'load_named_or_saved', 'saved_info',
           'save_pretrained', 'WEIGHTS_DIR']

WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           'weights')
_CONFIG, _INFO, _PREFIX = 'config.json', 'info.json', 'weights'


def available_pretrained():
  """Names of the models that ship with the package, sorted."""
  if not os.path.isdir(WEIGHTS_DIR):
    return []
  return sorted(name for name in os.listdir(WEIGHTS_DIR)
                if os.path.isfile(os.path.join(WEIGHTS_DIR, name, _CONFIG)))


def _folder(name):
  if not isinstance(name, str) or name not in available_pretrained():
    raise ValueError(f'No pretrained model {name!r}; the package ships '
                     f'{available_pretrained()}.')
  return os.path.join(WEIGHTS_DIR, name)


def _read_json(path):
  with open(path) as f:
    return json.load(f)


def load_pretrained(directory):
  """The `Glow` saved in `directory` by `save_pretrained`.

  Raises:
    ValueError: the folder is not a saved model, or its weights are
      missing, damaged or do not match its config.
  """
  config_path = os.path.join(directory, _CONFIG)
  if not os.path.isfile(config_path):
    raise ValueError(f'No {_CONFIG} in {directory!r}: not a folder written '
                     'by glow_tf.pretrained_models.save_pretrained.')
  try:
    config = GlowConfig.from_json(_read_json(config_path))
  except (ValueError, TypeError) as e:
    raise ValueError(f'Corrupt {config_path}: {e}') from e
  glow = Glow(config)
  prefix = os.path.join(directory, _PREFIX)
  try:
    status = tf.train.Checkpoint(model=glow).read(prefix)
    status.assert_existing_objects_matched()
    status.assert_consumed()
  except (tf.errors.OpError, AssertionError, ValueError, IndexError) as e:
    raise ValueError(f'The weights in {directory!r} are missing, damaged or '
                     f'do not match its {_CONFIG}: {e}') from e
  return glow


def pretrained(name='fashion_mnist'):
  """The shipped model `name` as a ready `glow_tf.Glow` (no download).

  Args:
    name: one of `available_pretrained()`.

  Returns:
    A `Glow` holding the averaged weights; `pretrained_info(name)` says how
    it was trained and what it scores.

  #### Examples

  ```python
  glow = glow_tf.pretrained('fashion_mnist')
  samples = glow.sample(8, seed=0, temperature=0.7)  # model space
  ```
  """
  return load_pretrained(_folder(name))


def pretrained_info(name='fashion_mnist'):
  """The `info.json` of a shipped model: step, bits/dim, commands, commit."""
  return _read_json(os.path.join(_folder(name), _INFO))


def _shipped_or_saved(name_or_directory):
  """The folder of a shipped model's name, or a folder written by us."""
  if name_or_directory in available_pretrained():
    return _folder(name_or_directory)
  if os.path.isfile(os.path.join(name_or_directory, _CONFIG)):
    return name_or_directory
  raise ValueError(
      f'{name_or_directory!r} is neither a model that ships with glow_tf '
      f'({available_pretrained()}) nor a folder written by save_pretrained '
      f'(no {_CONFIG} in it).')


def load_named_or_saved(name_or_directory):
  """`pretrained(name)` for a shipped model's name, else `load_pretrained`.

  #### Examples

  ```python
  glow = load_named_or_saved('fashion_mnist')        # the shipped model
  glow = load_named_or_saved('outputs/my_weights')   # save_pretrained's folder
  ```
  """
  return load_pretrained(_shipped_or_saved(name_or_directory))


def saved_info(name_or_directory):
  """The `info.json` of a shipped model or a saved folder ({} if none)."""
  path = os.path.join(_shipped_or_saved(name_or_directory), _INFO)
  return _read_json(path) if os.path.isfile(path) else {}


def save_pretrained(glow, directory, info=None):
  """Writes `glow` (config and weights only) to `directory`.

  Args:
    glow: a `Glow` (e.g. `glow_tf.training.restore_model(model_dir)[0]`,
      the averaged weights).
    directory: the folder; created, and its previous files replaced.
    info: a JSON-able dict saved as `info.json` (how it was made, scores).

  Returns:
    The total size of the files written, in bytes.
  """
  if not isinstance(glow, Glow):
    raise TypeError(f'glow must be a glow_tf.Glow, got {type(glow).__name__}.')
  os.makedirs(directory, exist_ok=True)
  for old in os.listdir(directory):
    if old.startswith(_PREFIX + '.') or old in (_CONFIG, _INFO):
      os.remove(os.path.join(directory, old))
  with open(os.path.join(directory, _CONFIG), 'w') as f:
    json.dump(glow.config.to_json(), f, indent=2, sort_keys=True)
  tf.train.Checkpoint(model=glow).write(os.path.join(directory, _PREFIX))
  with open(os.path.join(directory, _INFO), 'w') as f:
    json.dump(info or {}, f, indent=2, sort_keys=True)
  return sum(os.path.getsize(os.path.join(directory, n))
             for n in os.listdir(directory))

