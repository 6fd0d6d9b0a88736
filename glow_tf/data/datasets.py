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

import contextlib
import dataclasses
import fcntl
import functools
import io
import os
import socket
import time

from absl import logging
import tensorflow as tf
import tensorflow_datasets as tfds

from glow_tf.data import fashion_mnist
from glow_tf.data import idx

__all__ = ['DatasetNotFoundError', 'DatasetInfo', 'dataset_info',
           'dataset_names', 'load_dataset', 'idx_dataset', 'lsun_categories',
           'prepare_builder']

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
_IDX_SPLIT_PREFIXES = {'train': 'train', 'test': 't10k'}
_DEFAULT_IMAGE_SIZE = 64
_CELEB_A_CROP = 148
_UNLABELLED = -1
_PREPARE_TIMEOUT_S = 600.0
_PREPARE_POLL_S = 0.2
_PREPARE_LOG_EVERY_S = 10.0


class DatasetNotFoundError(FileNotFoundError, ValueError):
  """A data set's files are not on this machine (and are never downloaded)."""


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


def _download_and_prepare(builder):
  """`builder.download_and_prepare()`; its printed notes only at absl INFO."""
  logging.info('Preparing %s in %s (once).', builder.name,
               os.fspath(builder.data_dir_root))
  if logging.level_info():
    builder.download_and_prepare()
    return
  with contextlib.redirect_stdout(io.StringIO()):
    builder.download_and_prepare()


def prepare_builder(builder, timeout_s=_PREPARE_TIMEOUT_S):
  """`builder.download_and_prepare()`, once for all processes sharing its dir.

  Several processes (the workers of `MultiWorkerMirroredStrategy`, or two
  trainings started together) may prepare the same data set into the same
  `data_dir` at once. TFDS writes each preparation into its own
  `incomplete.XXXXXX_<version>` folder and renames it to `<version>` at the
  end, so a reader never sees half-written data and a crashed preparation is
  never taken as complete; but every process but the first to finish then
  fails to rename its folder (`FileExistsError`). Here the check and the
  preparation run under an exclusive `fcntl.flock` on
  `<data_dir>/.<name>.lock`: the first process prepares, the others wait,
  then read what it wrote. The kernel releases the lock when its holder
  exits, even on a crash or `kill -9`; the folders such a crash leaves behind
  are removed by the next preparation, so every process that prepares into
  this `data_dir` must go through this function (a bare
  `builder.download_and_prepare()` running at the same time could lose its
  `incomplete.*` folder). The lock file itself stays. Paths with a
  `scheme://` (e.g. `gs://`) are prepared without a lock.

  Args:
    builder: a `tfds.core.DatasetBuilder`, e.g. `FashionMnistLocal`.
    timeout_s: how long to wait for the lock before giving up; progress is
      logged (absl, INFO) every 10 s while waiting.

  Returns:
    `builder`, prepared, its `info` read from disk.

  Raises:
    TimeoutError: if another process holds the lock for more than
      `timeout_s` seconds; the message names it and the lock file.
    Whatever `builder.download_and_prepare()` raises.

  #### Examples

  ```python
  builder = prepare_builder(FashionMnistLocal(data_dir='/tmp/tfds'))
  ds = builder.as_dataset(split='train')
  ```
  """
  if builder.is_prepared():
    return builder
  root = os.fspath(builder.data_dir_root)
  if '://' in root:
    logging.warning('Preparing %s in %s without a lock: concurrent processes '
                    'may collide.', builder.name, root)
    _download_and_prepare(builder)
    return builder
  os.makedirs(root, exist_ok=True)
  lock_path = os.path.join(root, f'.{builder.name}.lock')
  with open(lock_path, 'a+', encoding='utf-8') as lock_file:
    start = time.monotonic()
    last_log = start - _PREPARE_LOG_EVERY_S  # Logs the first wait at once.
    while True:
      try:
        fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        break
      except BlockingIOError:
        lock_file.seek(0)
        holder = lock_file.read().strip() or 'unknown process'
        waited = time.monotonic() - start
        if waited >= timeout_s:
          raise TimeoutError(
              f'Timed out after {timeout_s:g} s waiting for another process '
              f'({holder}) to finish preparing {builder.name!r} in {root!r}: '
              f'it still holds the lock file {lock_path!r}. The lock is '
              'released when that process ends, even if it crashes; if it '
              'is stuck, stop it and run again.') from None
        if time.monotonic() - last_log >= _PREPARE_LOG_EVERY_S:
          last_log = time.monotonic()
          logging.info('Waiting for %s to finish preparing %s in %s (%.0f s '
                       'of %.0f s).', holder, builder.name, root, waited,
                       timeout_s)
        time.sleep(_PREPARE_POLL_S)
    try:
      lock_file.truncate(0)
      lock_file.write(f'pid {os.getpid()} on {socket.gethostname()}\n')
      lock_file.flush()
      if builder.is_prepared():  # By the process we waited for.
        builder.info.read_from_directory(builder.data_dir)
        return builder
      for stale in builder.data_path.parent.glob(
          f'incomplete.*_{builder.data_path.name}'):
        logging.info('Removing %s, left by an interrupted preparation.',
                     stale)
        stale.rmtree()
      _download_and_prepare(builder)
      return builder
    finally:
      lock_file.truncate(0)  # a later waiter must not name this process
      lock_file.flush()
      fcntl.flock(lock_file, fcntl.LOCK_UN)


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
  info = dataset_info(name, image_size)
  shape = info.image_shape
  if name == 'mnist_idx':
    if idx_dir is None:
      raise ValueError(
          "'mnist_idx' needs idx_dir, the folder holding the IDX files "
          '(e.g. t10k-images-idx3-ubyte.gz), got None.')
    dataset = idx_dataset(idx_dir, split)
  elif name == 'fashion_mnist':
    dataset = _load_fashion_mnist(split, data_dir, idx_dir, shuffle_files,
                                  read_config)
  else:
    if idx_dir is not None:
      raise ValueError(
          f'idx_dir is only used by fashion_mnist and mnist_idx, got '
          f'idx_dir={idx_dir!r} for {name!r}.')
    dataset = _load_tfds(name, split, data_dir, shuffle_files, read_config)
    if name == 'celeb_a':
      dataset = dataset.map(
          functools.partial(_crop_and_resize_celeb_a, size=shape[0]),
          num_parallel_calls=tf.data.AUTOTUNE)
    elif name.startswith('lsun/'):
      dataset = dataset.map(
          functools.partial(_resize_and_crop_lsun, size=shape[0]),
          num_parallel_calls=tf.data.AUTOTUNE)
  return dataset.map(
      functools.partial(_select_image_and_label, image_shape=shape),
      num_parallel_calls=tf.data.AUTOTUNE)
