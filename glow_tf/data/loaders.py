"""The image data sets of the Glow paper, loaded offline as `tf.data`.

Every loader gives a `tf.data.Dataset` of dicts

```
{'image': uint8 [H, W, C], 'label': int64 []}     label = -1 when unlabelled
```

and nothing ever downloads:

* `'fashion_mnist'`: built by `FashionMnistLocal` from local IDX files
  (Debian's `dataset-fashion-mnist`, or `idx_dir`) into `data_dir` on first
  use, then read from there. Processes sharing `data_dir` prepare it once:
  the others wait on a lock file (`prepare_builder`).
* `'mnist_idx'`: any MNIST-style IDX folder (`idx_dir`), read straight into
  memory, e.g. the MNIST test set for out-of-distribution evaluation.
* `'cifar10'`, `'mnist'`, `'celeb_a'`, `'downsampled_imagenet/32x32'`,
  `'downsampled_imagenet/64x64'`, `'lsun/<category>'`: TFDS data sets that must
  already be prepared in `data_dir` (run `tfds build NAME --data_dir=DIR` on a
  machine with internet and copy `DIR`). A missing one raises
  `DatasetNotFoundError`.

CelebA is centre-cropped to 148x148 and resized to `image_size` (64 by
default); LSUN is resized so that its shorter side is `image_size` (64 by
default) and centre-cropped, as in Real NVP and Glow.
"""

import functools
import os

import tensorflow as tf
import tensorflow_datasets as tfds

from glow_tf.data import fashion_mnist
from glow_tf.data import idx
from glow_tf.data.preparation import prepare_builder
from glow_tf.data.registry import dataset_info

__all__ = ['DatasetNotFoundError', 'idx_dataset', 'load_dataset']

_IDX_SPLIT_PREFIXES = {'train': 'train', 'test': 't10k'}
_CELEB_A_CROP = 148
_UNLABELLED = -1


class DatasetNotFoundError(FileNotFoundError, ValueError):
  """A data set's files are not on this machine (and are never downloaded)."""


def idx_dataset(idx_dir, split):
  """A `tf.data.Dataset` of `{'image', 'label'}` read from an IDX folder.

  The arrays are loaded into memory with `load_idx_split`; no TFDS
  preparation is needed.

  Args:
    idx_dir: folder with `{prefix}-images-idx3-ubyte[.gz]` and
      `{prefix}-labels-idx1-ubyte[.gz]`.
    split: `'train'` (prefix `train`) or `'test'` (prefix `t10k`).

  Returns:
    A dataset of `{'image': uint8 [H, W, 1], 'label': int64 []}`, in file
    order.

  Raises:
    ValueError: for another split.
    DatasetNotFoundError: if the folder or a file is missing.
    IdxFormatError: if a file is malformed.

  #### Examples

  ```python
  ood = idx_dataset('/path/to/mnist', 'test')   # 10000 MNIST digits
  ```
  """
  if split not in _IDX_SPLIT_PREFIXES:
    raise ValueError(
        f'IDX split must be one of {list(_IDX_SPLIT_PREFIXES)}, got '
        f'{split!r}.')
  try:
    images, labels = idx.load_idx_split(idx_dir, _IDX_SPLIT_PREFIXES[split])
  except FileNotFoundError as err:
    raise DatasetNotFoundError(
        f'Cannot load split {split!r} from IDX folder {os.fspath(idx_dir)!r}: '
        f'{err}') from err
  return tf.data.Dataset.from_tensor_slices({'image': images,
                                             'label': labels})


def _select_image_and_label(example, image_shape):
  image = tf.ensure_shape(example['image'], image_shape)
  if 'label' in example:
    label = tf.cast(example['label'], tf.int64)
  else:
    label = tf.constant(_UNLABELLED, tf.int64)
  return {'image': image, 'label': label}


def _to_uint8(image):
  return tf.cast(tf.round(tf.clip_by_value(image, 0.0, 255.0)), tf.uint8)


def _crop_and_resize_celeb_a(example, size):
  """Centre 148x148 crop of the 218x178 face, resized to `size`."""
  image = tf.image.resize_with_crop_or_pad(example['image'], _CELEB_A_CROP,
                                           _CELEB_A_CROP)
  image = tf.image.resize(image, (size, size), method='area')
  return {'image': _to_uint8(image)}


def _resize_and_crop_lsun(example, size):
  """Resizes the shorter side to `size`, then centre-crops `size`x`size`."""
  image = example['image']
  shape = tf.cast(tf.shape(image)[:2], tf.float32)
  scale = size / tf.reduce_min(shape)
  new_shape = tf.maximum(tf.cast(tf.round(shape * scale), tf.int32), size)
  image = tf.image.resize(image, new_shape, method='area')
  image = tf.image.resize_with_crop_or_pad(image, size, size)
  return {'image': _to_uint8(image)}


def _not_prepared_error(name, builder, data_dir):
  return DatasetNotFoundError(
      f'Data set {name!r} is not prepared in data_dir={data_dir!r} (looked '
      f'for {os.fspath(builder.data_dir)!r}). glow_tf never '
      'downloads. On a machine with internet, run '
      f'`tfds build {name} --data_dir=DIR` (some data sets, e.g. ImageNet, '
      'need a manual download first, see the TFDS catalogue), then copy '
      "DIR to this machine and pass it as data_dir (default: TFDS' "
      '~/tensorflow_datasets or $TFDS_DATA_DIR).')


def _load_tfds(name, split, data_dir, shuffle_files, read_config):
  builder = tfds.builder(name, data_dir=data_dir)
  kwargs = dict(split=split, shuffle_files=shuffle_files,
                read_config=read_config)
  if builder.is_prepared():
    return builder.as_dataset(**kwargs)
  # Not prepared: `as_dataset` fails at once without downloading (it still
  # succeeds under `tfds.testing.mock_data`, which fakes the data).
  try:
    return builder.as_dataset(**kwargs)
  except Exception as err:  # pylint: disable=broad-except
    raise _not_prepared_error(name, builder, data_dir) from err


def _load_fashion_mnist(split, data_dir, idx_dir, shuffle_files,
                        read_config):
  builder = fashion_mnist.FashionMnistLocal(data_dir=data_dir,
                                            idx_dir=idx_dir)
  try:
    if idx_dir is not None:
      # A folder given but missing is a mistake even where `data_dir` is
      # prepared already (then the folder is not read).
      fashion_mnist.check_idx_dir(idx_dir)
    prepare_builder(builder)
  except FileNotFoundError as err:
    raise DatasetNotFoundError(str(err)) from err
  return builder.as_dataset(split=split, shuffle_files=shuffle_files,
                            read_config=read_config)


def load_dataset(name, split, data_dir=None, idx_dir=None, image_size=None,
                 shuffle_files=False, read_config=None):
  """Loads one split of an image data set, offline, as `tf.data`.

  Args:
    name: one of `dataset_names()`: `'fashion_mnist'`, `'mnist_idx'`,
      `'cifar10'`, `'mnist'`, `'celeb_a'`, `'downsampled_imagenet/32x32'`,
      `'downsampled_imagenet/64x64'` or `'lsun/<category>'`.
    split: a split name (`dataset_info(name).splits`); TFDS data sets also
      take TFDS slices such as `'train[:90%]'`.
    data_dir: TFDS data directory. `'fashion_mnist'` is prepared into it on
      first use (about 10 s; processes sharing `data_dir` prepare it once,
      see `prepare_builder`); the other TFDS data sets must already be
      prepared there. `None`: TFDS' default (`$TFDS_DATA_DIR` or
      `~/tensorflow_datasets`).
    idx_dir: IDX folder: required for `'mnist_idx'`; for `'fashion_mnist'`,
      the source files (default `/usr/share/datasets/fashion-mnist`), read
      only to prepare `data_dir`; a folder given must exist, even then.
    image_size: output size for `'celeb_a'` and `'lsun/<category>'` (default
      64); must be None or the native size for the others.
    shuffle_files: passed to TFDS' `as_dataset`.
    read_config: optional `tfds.ReadConfig`, passed to TFDS' `as_dataset`.

  Returns:
    A `tf.data.Dataset` of `{'image': uint8 [H, W, C], 'label': int64 []}`,
    with `(H, W, C) = dataset_info(name, image_size).image_shape`; `label` is
    -1 for unlabelled data sets (CelebA, ImageNet, LSUN).

  Raises:
    ValueError: for an unknown name (the message lists the valid ones), a bad
      `image_size`, or `'mnist_idx'` without `idx_dir`.
    DatasetNotFoundError: (a `ValueError` and a `FileNotFoundError`) if the
      data are not on this machine; the message says how to prepare them.

  #### Examples

  ```python
  train = load_dataset('fashion_mnist', 'train', data_dir='/tmp/tfds')
  ood = load_dataset('mnist_idx', 'test', idx_dir='/data/mnist')
  cifar = load_dataset('cifar10', 'test', data_dir='/data/tfds')
  ```
  """
  shape = dataset_info(name, image_size).image_shape
  if name == 'mnist_idx':
    dataset = _load_mnist_idx(split, idx_dir)
  elif name == 'fashion_mnist':
    dataset = _load_fashion_mnist(split, data_dir, idx_dir, shuffle_files,
                                  read_config)
  else:
    if idx_dir is not None:
      raise ValueError(
          f'idx_dir is only used by fashion_mnist and mnist_idx, got '
          f'idx_dir={idx_dir!r} for {name!r}.')
    dataset = _load_tfds(name, split, data_dir, shuffle_files, read_config)
    dataset = _resize(dataset, name, shape[0])
  return dataset.map(
      functools.partial(_select_image_and_label, image_shape=shape),
      num_parallel_calls=tf.data.AUTOTUNE)


def _load_mnist_idx(split, idx_dir):
  if idx_dir is None:
    raise ValueError(
        "'mnist_idx' needs idx_dir, the folder holding the IDX files "
        '(e.g. t10k-images-idx3-ubyte.gz), got None.')
  return idx_dataset(idx_dir, split)


def _resize(dataset, name, size):
  """CelebA and LSUN images cropped and resized to `size`; others as they are."""
  if name == 'celeb_a':
    return dataset.map(functools.partial(_crop_and_resize_celeb_a, size=size),
                       num_parallel_calls=tf.data.AUTOTUNE)
  if name.startswith('lsun/'):
    return dataset.map(functools.partial(_resize_and_crop_lsun, size=size),
                       num_parallel_calls=tf.data.AUTOTUNE)
  return dataset
