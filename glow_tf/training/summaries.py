"""TensorBoard summaries without the `tensorboard` package, and image grids."""

import math

import tensorflow as tf
from tensorflow.core.framework import summary_pb2

__all__ = ['image_grid', 'scalar', 'image']


def image_grid(images, num_rows=None):
  """Tiles `N` images `[N, H, W, C]` into one `[1, rows * H, cols * W, C]` image.

  Args:
    images: a tensor `[N, H, W, C]` (uint8 for TensorBoard).
    num_rows: rows of the grid; default `floor(sqrt(N))`. `N` must be a
      multiple of it (the grid is full).

  Returns:
    A `[1, num_rows * H, (N / num_rows) * W, C]` tensor, ready for
    `tf.summary.image`.

  Raises:
    ValueError: if `images` is not rank 4 or `N` is not a multiple of
      `num_rows`.

  #### Examples

  ```python
  grid = image_grid(glow_tf.to_uint8(glow.sample(16, temperature=0.7)))
  tf.summary.image('samples', grid, step=step)
  ```
  """
  images = tf.convert_to_tensor(images)
  if images.shape.rank != 4 or not images.shape.is_fully_defined():
    raise ValueError(
        f'images must be [N, H, W, C] with a known shape, got {images.shape}.')
  n, h, w, c = images.shape
  if num_rows is None:
    num_rows = max(1, int(math.isqrt(n)))
    while n % num_rows:
      num_rows -= 1
  if (isinstance(num_rows, bool) or not isinstance(num_rows, int)
      or num_rows <= 0 or n % num_rows):
    raise ValueError(
        f'num_rows must be a positive divisor of the number of images ({n}), '
        f'got {num_rows!r}.')
  num_cols = n // num_rows
  grid = tf.reshape(images, [num_rows, num_cols, h, w, c])
  grid = tf.transpose(grid, [0, 2, 1, 3, 4])
  return tf.reshape(grid, [1, num_rows * h, num_cols * w, c])


# TensorBoard's own summary ops (`tf.summary.scalar`, `tf.summary.image`)
# live in the `tensorboard` package, which TensorFlow no longer installs. These
# write the very same records (TensorBoard's scalar and image plugin formats)
# with TensorFlow alone, so TensorBoard shows them whenever it is installed.


def _metadata(plugin_name, data_class):
  metadata = summary_pb2.SummaryMetadata()
  metadata.plugin_data.plugin_name = plugin_name
  metadata.plugin_data.content = b''  # The plugins' version-0 proto.
  metadata.data_class = data_class
  return metadata


def scalar(name, value, step=None):
  """Writes a scalar to the default summary writer (as `tf.summary.scalar`).

  Args:
    name: tag of the summary.
    value: a real scalar.
    step: int64 step; default `tf.summary.experimental.get_step()`.

  Returns:
    True if a record was written (a default writer was set).
  """
  return tf.summary.write(
      name, tf.cast(value, tf.float32), step=step,
      metadata=_metadata('scalars', summary_pb2.DATA_CLASS_SCALAR))


def image(name, images, step=None, max_outputs=3):
  """Writes uint8 images `[N, H, W, C]` as PNGs (as `tf.summary.image`).

  Args:
    name: tag of the summary.
    images: uint8 tensor `[N, H, W, C]`, C in 1, 3 or 4.
    step: int64 step; default `tf.summary.experimental.get_step()`.
    max_outputs: at most this many images are written.

  Returns:
    True if a record was written (a default writer was set).

  Raises:
    ValueError: for images that are not uint8 `[N, H, W, C]`.
  """
  images = tf.convert_to_tensor(images)
  if images.dtype != tf.uint8 or images.shape.rank != 4:
    raise ValueError('images must be uint8 [N, H, W, C], got '
                     f'{images.dtype.name} of shape {images.shape}.')
  shape = tf.shape(images)
  encoded = tf.map_fn(tf.image.encode_png, images[:max_outputs],
                      fn_output_signature=tf.string)
  tensor = tf.concat([tf.stack([tf.as_string(shape[2]),
                                tf.as_string(shape[1])]), encoded], axis=0)
  return tf.summary.write(
      name, tensor, step=step,
      metadata=_metadata('images', summary_pb2.DATA_CLASS_BLOB_SEQUENCE))
