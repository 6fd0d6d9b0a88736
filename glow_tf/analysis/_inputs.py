"""Shared argument checks and batching for the analysis functions."""

import numpy as np
import tensorflow as tf

from glow_tf import _checks
from glow_tf.glow import Glow


def check_glow(glow):
  if not isinstance(glow, Glow):
    raise ValueError(f'glow must be a glow_tf.Glow, got {type(glow).__name__}.')
  return glow


def take_arrays(dataset, max_examples=None):
  """`(images uint8 [N, H, W, C], labels int64 [N])` from a `load_dataset` set.

  Args:
    dataset: a `tf.data.Dataset` of unbatched `{'image', 'label'}` dicts.
    max_examples: keep only the first `max_examples` (None: all).
  """
  if not isinstance(dataset, tf.data.Dataset):
    raise ValueError('dataset must be a tf.data.Dataset of {"image", "label"} '
                     f'dicts (glow_tf.data.load_dataset), got '
                     f'{type(dataset).__name__}.')
  if max_examples is not None:
    dataset = dataset.take(_checks.positive_int(max_examples, 'max_examples'))
  images, labels = [], []
  for batch in dataset.batch(1024):
    images.append(batch['image'].numpy())
    labels.append(batch['label'].numpy() if 'label' in batch else
                  np.full(len(batch['image']), -1, np.int64))
  if not images:
    raise ValueError('dataset is empty.')
  return np.concatenate(images), np.concatenate(labels)
