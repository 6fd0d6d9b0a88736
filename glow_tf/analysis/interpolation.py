"""Linear interpolation between images in Glow's latent space (all levels)."""

import numpy as np
import tensorflow as tf

from glow_tf import _checks
from glow_tf import images as images_lib
from glow_tf.analysis import _inputs

__all__ = ['interpolate', 'interpolation_rows']


def interpolate(glow, x_start, x_end, num_points, label=None):
  """Decodes points on the line between the latents of two images.

  ```
  [eps_0 .. eps_top](x) = glow.encode(x)                      (every level)
  eps_l(a) = (1 - a) * eps_l(x_start) + a * eps_l(x_end),   a in linspace(0, 1)
  x(a) = glow.decode([eps_0(a) .. eps_top(a)])
  ```
  The end points decode back to the inputs exactly (Glow is invertible).

  Args:
    glow: a `glow_tf.Glow`.
    x_start: one image `[H, W, C]`, uint8 (dequantised at bin centres) or
      model-space float.
    x_end: the other image, likewise.
    num_points: number of points `a`, end points included (>= 2).
    label: int label of both images, for class-conditional models.

  Returns:
    Model-space images `[num_points, H, W, C]`.
  """
  _inputs.check_glow(glow)
  num_points = _checks.positive_int(num_points, 'num_points')
  if num_points < 2:
    raise ValueError(f'num_points must be >= 2 (the two ends), got '
                     f'{num_points}.')
  pair = tf.stack([_bin_centres(glow, x_start, 'x_start'),
                   _bin_centres(glow, x_end, 'x_end')])
  labels = None if label is None else tf.fill([2], tf.cast(label, tf.int64))
  latents = glow.encode(pair, labels=labels)
  alphas = tf.cast(tf.linspace(0.0, 1.0, num_points), glow.dtype)
  mixed = []
  for eps in latents:
    a = tf.reshape(alphas, [-1] + [1] * (eps.shape.rank - 1))
    mixed.append((1 - a) * eps[0] + a * eps[1])
  out_labels = None if label is None else tf.fill(
      [num_points], tf.cast(label, tf.int64))
  return glow.decode(mixed, labels=out_labels)


def _bin_centres(glow, image, name):
  image = tf.convert_to_tensor(image)
  if image.shape.rank != 3:
    raise ValueError(f'{name} must be one image [H, W, C], got shape '
                     f'{image.shape}.')
  if image.dtype == tf.uint8:
    return images_lib.dequantize(image, glow.config.n_bits, noise=False,
                                 dtype=glow.dtype)
  return tf.cast(image, glow.dtype)


def interpolation_rows(glow, images, pairs, num_points, labels=None):
  """uint8 rows of interpolations, one row per pair of images.

  Args:
    glow: a `glow_tf.Glow`.
    images: uint8 `[N, H, W, C]`.
    pairs: sequence of `(i, j)` indices into `images`.
    num_points: images per row, end points included.
    labels: int labels `[N]`, for class-conditional models (the start
      image's label is used along the row).

  Returns:
    uint8 array `[len(pairs), num_points, H, W, C]`.
  """
  images = np.asarray(images)
  if images.dtype != np.uint8 or images.ndim != 4:
    raise ValueError('images must be uint8 [N, H, W, C], got '
                     f'{images.dtype} of shape {images.shape}.')
  rows = []
  for i, j in pairs:
    if not (0 <= i < len(images) and 0 <= j < len(images)):
      raise ValueError(f'pair ({i}, {j}) is out of range for {len(images)} '
                       'images.')
    label = None if labels is None else int(labels[i])
    x = interpolate(glow, images[i], images[j], num_points, label=label)
    rows.append(images_lib.to_uint8(x, glow.config.n_bits).numpy())
  return np.stack(rows)
