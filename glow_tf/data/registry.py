"""The data sets glow_tf loads: their names, image shapes, classes and splits.

`dataset_info(name)` needs no data on disk; `glow_tf.data.load_dataset`
yields the images it describes.
"""

import dataclasses
import functools

import tensorflow_datasets as tfds

__all__ = ['DatasetInfo', 'dataset_info', 'dataset_names', 'lsun_categories']

# TFDS data sets read from a prepared `data_dir` -> (image shape, classes,
# splits). `None` in the shape: set by `image_size`.
_TFDS_DATASETS = {
    'cifar10': ((32, 32, 3), 10, ('train', 'test')),
    'mnist': ((28, 28, 1), 10, ('train', 'test')),
    'celeb_a': ((None, None, 3), None, ('train', 'validation', 'test')),
    'downsampled_imagenet/32x32': ((32, 32, 3), None, ('train', 'validation')),
    'downsampled_imagenet/64x64': ((64, 64, 3), None, ('train', 'validation')),
}
_LSUN_SPLITS = ('train', 'validation')
_DEFAULT_IMAGE_SIZE = 64


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
  """What a model needs to know about a data set.

  Attributes:
    name: the name given to `load_dataset`.
    image_shape: `(H, W, C)` of the images `load_dataset` yields.
    num_classes: number of labels, or `None` for unlabelled data sets (whose
      `label` is -1).
    splits: the split names, training split first.
  """
  name: str
  image_shape: tuple
  num_classes: int | None
  splits: tuple

  @property
  def train_split(self):
    """The split to train on."""
    return self.splits[0]

  @property
  def eval_split(self):
    """The split to evaluate on (the last one: test, else validation)."""
    return self.splits[-1]

  @property
  def num_dims(self):
    """`H * W * C`, the `D` of bits per dimension."""
    height, width, channels = self.image_shape
    return height * width * channels


@functools.cache
def lsun_categories():
  """The LSUN categories TFDS knows, e.g. `'bedroom'`, `'church_outdoor'`."""
  return tuple(config.name for config in
               tfds.builder_cls('lsun').BUILDER_CONFIGS)


def dataset_names():
  """The names `load_dataset` accepts (LSUN as `'lsun/<category>'`)."""
  return (('fashion_mnist', 'mnist_idx') + tuple(_TFDS_DATASETS)
          + ('lsun/<category>',))


def _unknown_name_error(name):
  return ValueError(
      f'Unknown data set name {name!r}. Valid names: '
      f'{list(dataset_names())}, with <category> one of '
      f'{list(lsun_categories())}.')


def _check_image_size(name, image_size, native_shape):
  """Returns the (H, W, C) `load_dataset` yields for `name`."""
  if image_size is not None and (
      isinstance(image_size, bool) or not isinstance(image_size, int)
      or image_size <= 0):
    raise ValueError(
        f'image_size must be a positive int or None, got {image_size!r}.')
  height, width, channels = native_shape
  if height is None:  # Resized data sets (CelebA, LSUN).
    size = _DEFAULT_IMAGE_SIZE if image_size is None else image_size
    return (size, size, channels)
  if image_size is not None and image_size != height:
    raise ValueError(
        f'{name!r} has fixed {height}x{width} images; image_size '
        f'{image_size!r} can only be None or {height}. It can be set for '
        "'celeb_a' and 'lsun/<category>'.")
  return native_shape


def dataset_info(name, image_size=None):
  """Returns the `DatasetInfo` (image shape, classes, splits) of `name`.

  Needs no data on disk.

  Args:
    name: one of `dataset_names()`.
    image_size: output size of `'celeb_a'` and `'lsun/<category>'` (default
      64); must be None or the native size for the others.

  Returns:
    A `DatasetInfo`.

  Raises:
    ValueError: for an unknown name or a bad `image_size`; the message lists
      the valid names.

  #### Examples

  ```python
  info = dataset_info('cifar10')
  info.image_shape, info.num_classes   # (32, 32, 3), 10
  ```
  """
  if not isinstance(name, str):
    raise _unknown_name_error(name)
  if name in ('fashion_mnist', 'mnist_idx'):
    shape, num_classes, splits = (28, 28, 1), 10, ('train', 'test')
  elif name in _TFDS_DATASETS:
    shape, num_classes, splits = _TFDS_DATASETS[name]
  elif name.startswith('lsun/') and name[len('lsun/'):] in lsun_categories():
    shape, num_classes, splits = (None, None, 3), None, _LSUN_SPLITS
  else:
    raise _unknown_name_error(name)
  shape = _check_image_size(name, image_size, shape)
  return DatasetInfo(name=name, image_shape=tuple(shape),
                     num_classes=num_classes, splits=tuple(splits))
