"""Attribute manipulation along the difference of class-mean latents.

The paper's method for CelebA attributes (Kingma & Dhariwal, 2018, section
5.3 and figure 5), with a class standing in for an attribute:

```
mean_k   = average of glow.encode(x) over the images x of class k   (every level)
v        = mean_target - mean_source                              (per level)
x'(s)    = glow.decode(glow.encode(x) + s * v),   s a strength
```
`s = 0` gives the image back; `s = 1` moves it by the full distance between
the two class means.
"""

import numpy as np
import tensorflow as tf

from glow_tf import _checks
from glow_tf import images as images_lib
from glow_tf.analysis import _inputs

__all__ = ['class_mean_latents', 'attribute_direction', 'manipulate',
           'DEFAULT_STRENGTHS']

DEFAULT_STRENGTHS = (-1.0, -0.5, 0.0, 0.5, 1.0, 1.5)


def class_mean_latents(glow, images, labels, classes, batch_size=256,
                       encode_labels=False):
  """Per-class means of every level's latent.

  Args:
    glow: a `glow_tf.Glow`.
    images: uint8 images `[N, H, W, C]` (dequantised at bin centres).
    labels: int labels `[N]`.
    classes: the classes to average over.
    batch_size: images encoded at a time.
    encode_labels: pass `labels` to `encode` (class-conditional models).

  Returns:
    dict class -> list (one per level) of mean latents, numpy `[h, w, c]`.

  Raises:
    ValueError: if a class has no image.
  """
  _inputs.check_glow(glow)
  batch_size = _checks.positive_int(batch_size, 'batch_size')
  images, labels = np.asarray(images), np.asarray(labels)
  if images.dtype != np.uint8 or images.ndim != 4 or len(labels) != len(
      images):
    raise ValueError('images must be uint8 [N, H, W, C] with one label each, '
                     f'got {images.dtype} {images.shape} and labels of shape '
                     f'{labels.shape}.')
  encode = tf.function(glow.encode, reduce_retracing=True)
  means = {}
  for k in classes:
    chosen = images[labels == k]
    if not len(chosen):
      raise ValueError(f'class {k!r} has no image among the {len(images)} '
                       f'given (labels present: {sorted(set(labels.tolist()))}).')
    sums = None
    for start in range(0, len(chosen), batch_size):
      x = images_lib.dequantize(chosen[start:start + batch_size],
                                glow.config.n_bits, noise=False,
                                dtype=glow.dtype)
      kwargs = {}
      if encode_labels:
        kwargs['labels'] = tf.fill([x.shape[0]], tf.constant(k, tf.int64))
      batch_sums = [tf.reduce_sum(eps, axis=0).numpy()
                    for eps in encode(x, **kwargs)]
      sums = batch_sums if sums is None else [
          a + b for a, b in zip(sums, batch_sums)]
    means[k] = [s / len(chosen) for s in sums]
  return means


def attribute_direction(means, source, target):
  """`means[target] - means[source]`, level by level."""
  for k in (source, target):
    if k not in means:
      raise ValueError(f'class {k!r} has no mean latent; got classes '
                       f'{sorted(means)}.')
  return [t - s for s, t in zip(means[source], means[target])]


def manipulate(glow, images, direction, strengths=DEFAULT_STRENGTHS,
               labels=None):
  """Moves images along a latent direction: `decode(encode(x) + s * v)`.

  Args:
    glow: a `glow_tf.Glow`.
    images: uint8 images `[N, H, W, C]`.
    direction: list of per-level arrays (`attribute_direction`).
    strengths: the values of `s`, one column each.
    labels: int labels `[N]`, for class-conditional models.

  Returns:
    uint8 array `[N, len(strengths), H, W, C]`: one row per image.
  """
  _inputs.check_glow(glow)
  strengths = [float(s) for s in strengths]
  if not strengths:
    raise ValueError('strengths must not be empty.')
  if len(direction) != len(glow.latent_shapes):
    raise ValueError(f'direction must have one array per level '
                     f'({len(glow.latent_shapes)}), got {len(direction)}.')
  images = np.asarray(images)
  x = images_lib.dequantize(images, glow.config.n_bits, noise=False,
                            dtype=glow.dtype)
  kwargs = {} if labels is None else {'labels': labels}
  latents = glow.encode(x, **kwargs)
  columns = []
  for s in strengths:
    moved = [eps + tf.cast(s * v, glow.dtype)
             for eps, v in zip(latents, direction)]
    columns.append(images_lib.to_uint8(glow.decode(moved, **kwargs),
                                       glow.config.n_bits).numpy())
  return np.stack(columns, axis=1)
