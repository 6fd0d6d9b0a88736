"""Scalar curves read back from TensorBoard event files.

`tf.summary.scalar` (TF2) stores each value as a tensor in an `Event`; TF1's
summaries store `simple_value`. Both are read here, from every
`events.out.tfevents.*` file under a folder (recursively), without
TensorBoard.
"""

import collections
import os

import numpy as np
import tensorflow as tf

__all__ = ['read_scalars']


def _event_files(logdir):
  found = []
  for root, _, files in tf.io.gfile.walk(logdir):
    found.extend(os.path.join(root, f) for f in files
                 if 'tfevents' in f)
  return sorted(found)


def read_scalars(logdir, prefix_with_subdir=False):
  """All scalar summaries under `logdir`, as `tag -> [(step, value), ...]`.

  Args:
    logdir: a summary folder (searched recursively).
    prefix_with_subdir: name each tag `<subdir>/<tag>`, `subdir` being the
      event file's folder relative to `logdir` (e.g. `train/loss`,
      `eval/bits_per_dim`), so that equal tags of two writers stay apart.

  Returns:
    A dict of lists sorted by step; a step logged twice keeps its last value.
    Empty when `logdir` holds no event file.
  """
  values = collections.defaultdict(dict)
  if not tf.io.gfile.exists(logdir):
    return {}
  for path in _event_files(logdir):
    subdir = os.path.relpath(os.path.dirname(path), logdir)
    try:
      records = list(tf.data.TFRecordDataset(path).as_numpy_iterator())
    except tf.errors.DataLossError:  # A file still being written.
      continue
    for record in records:
      event = tf.compat.v1.Event.FromString(record)
      if not event.HasField('summary'):
        continue
      for value in event.summary.value:
        if value.HasField('simple_value'):
          number = float(value.simple_value)
        elif value.HasField('tensor'):
          array = tf.make_ndarray(value.tensor)
          if array.size != 1 or not np.issubdtype(array.dtype, np.number):
            continue
          number = float(array.reshape(()))
        else:
          continue
        tag = value.tag
        if prefix_with_subdir and subdir != '.':
          tag = f'{subdir}/{tag}'
        values[tag][int(event.step)] = number
  return {tag: sorted(steps.items()) for tag, steps in values.items()}
