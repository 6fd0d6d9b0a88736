"""Between uint8 images and Glow's model space, and the bits-per-dimension metric.

Glow models continuous images `x` in `[-0.5, 0.5]^D` ("model space"). A uint8
image with `n_bits` of colour depth is turned into such an `x` by dropping the
low bits, adding uniform noise inside each of the `2**n_bits` bins
(dequantisation) and rescaling:

```
k = floor(image / 2**(8 - n_bits))          # integer bin in [0, 2**n_bits)
x = (k + u) / 2**n_bits - 0.5,   u ~ U[0, 1)
```

A density `p(x)` in model space then gives a lower bound on the discrete
probability of the bins, `P(k) >= p(x) * (1 / 2**n_bits)**D` on average over
`u`, and the usual figure of merit is

```
bits/dim = -(log p(x) - D * log(2**n_bits)) / (D * log(2))
```
"""

import math

import numpy as np
import tensorflow as tf

from glow_tf import _checks

__all__ = ['dequantize', 'quantize', 'to_uint8', 'bits_per_dim',
           'bits_per_dim_from_log_prob', 'check_n_bits']


def check_n_bits(n_bits):
  """Returns `n_bits` as an int, or raises ValueError unless it is in 1..8."""
  if isinstance(n_bits, bool) or not isinstance(n_bits, (int, np.integer)):
    raise ValueError(f'n_bits must be an integer in 1..8, got {n_bits!r}.')
  if not 1 <= n_bits <= 8:
    raise ValueError(f'n_bits must be in 1..8, got {n_bits!r}.')
  return int(n_bits)


def _check_uint8(images):
  images = tf.convert_to_tensor(images)
  if images.dtype != tf.uint8:
    raise ValueError(
        f'images must be uint8 (0..255), got dtype {images.dtype.name}. '
        'Convert float images with glow_tf.to_uint8 first.')
  return images


def quantize(images_uint8, n_bits):
  """Integer bins `floor(image / 2**(8 - n_bits))`, as float32 in [0, 2**n_bits)."""
  n_bits = check_n_bits(n_bits)
  images = _check_uint8(images_uint8)
  return tf.floor(tf.cast(images, tf.float32) / 2.0**(8 - n_bits))


def dequantize(images_uint8, n_bits=8, seed=None, dtype=tf.float32,
               noise=True):
  """Maps uint8 images to model space `[-0.5, 0.5]` with uniform noise.

  ```
  x = (floor(image / 2**(8 - n_bits)) + u) / 2**n_bits - 0.5,  u ~ U[0, 1)
  ```

  Args:
    images_uint8: uint8 tensor of any shape (typically `[N, H, W, C]`).
    n_bits: colour depth kept, 1..8.
    seed: optional stateless seed, an int or a shape-[2] int tensor; the same
      seed gives the same noise. `None` draws fresh noise.
    dtype: float dtype of the result.
    noise: if False, `u = 0.5` (bin centres), a deterministic mapping.

  Returns:
    A float tensor of the same shape as `images_uint8`.

  #### Examples

  ```python
  x = glow_tf.dequantize(tf.constant([[0, 255]], tf.uint8), n_bits=5, seed=1)
  ```
  """
  dtype = _checks.float_dtype(dtype)
  bins = quantize(images_uint8, n_bits)
  if not noise:
    u = tf.fill(tf.shape(bins), 0.5)
  elif seed is None:
    u = tf.random.uniform(tf.shape(bins))
  else:
    u = tf.random.stateless_uniform(tf.shape(bins),
                                    seed=_checks.seed_pair(seed))
  x = (bins + u) / 2.0**n_bits - 0.5
  return tf.cast(x, dtype)


def to_uint8(x, n_bits=8):
  """Maps model-space floats back to uint8 images (inverse of `dequantize`).

  ```
  image = clip(floor((x + 0.5) * 2**n_bits), 0, 2**n_bits - 1) * 2**(8 - n_bits)
  ```
  Values outside `[-0.5, 0.5]` (common in samples) are clipped.
  """
  n_bits = check_n_bits(n_bits)
  x = tf.convert_to_tensor(x)
  if not x.dtype.is_floating:
    raise ValueError(f'x must be a float tensor, got dtype {x.dtype.name}.')
  bins = tf.clip_by_value(tf.floor((tf.cast(x, tf.float32) + 0.5) * 2.0**n_bits),
                          0.0, 2.0**n_bits - 1.0)
  return tf.cast(bins * 2.0**(8 - n_bits), tf.uint8)


def bits_per_dim_from_log_prob(log_prob, num_dims, n_bits):
  """`-(log_prob - D log(2**n_bits)) / (D log 2)` for model-space log-densities."""
  n_bits = check_n_bits(n_bits)
  log_prob = tf.convert_to_tensor(log_prob)
  d = float(num_dims)
  return -(log_prob - d * n_bits * math.log(2.0)) / (d * math.log(2.0))


def _model_n_bits(dist, n_bits):
  """`n_bits`, or the model's own colour depth; a contradiction is refused."""
  own = getattr(getattr(dist, 'config', None), 'n_bits', None)
  if n_bits is None:
    return 8 if own is None else own
  n_bits = check_n_bits(n_bits)
  if own is not None and n_bits != own:
    raise ValueError(f'`n_bits` is {n_bits}, but the model was built for '
                     f'{own}-bit images (config.n_bits); leave n_bits out to '
                     'use the model\'s.')
  return n_bits


def bits_per_dim(dist, images_uint8, n_bits=None, labels=None, seed=None,
                 context=None):
  """Bits per dimension of uint8 images under a model-space distribution.

  ```
  x = dequantize(images, n_bits, seed)
  bits/dim = -(log p(x) - D * log(2**n_bits)) / (D * log(2)),   D = H * W * C
  ```
  This is the negative log-likelihood of the discretised image in bits,
  divided by the number of sub-pixels: the figure papers report (Glow reports
  3.35 on CIFAR-10 at 8 bits). It is an upper bound in expectation over the
  dequantisation noise.

  Args:
    dist: a distribution over model-space images, e.g. `glow_tf.Glow`.
    images_uint8: uint8 tensor `[N, H, W, C]`.
    n_bits: colour depth the model was trained at. Default: the model's own
      (`dist.config.n_bits`, as a `glow_tf.Glow` has), else 8. A value that
      contradicts the model's is refused: its bits/dim would be wrong.
    labels: int labels `[N]`, for class-conditional models.
    seed: stateless seed for the dequantisation noise.
    context: the images' contexts `[N, *context_shape]`, for conditional
      models (`glow_tf.GlowConfig.context_shape`).

  Returns:
    A float tensor `[N]` of bits per dimension.

  #### Examples

  ```python
  bpd = glow_tf.bits_per_dim(glow, images)   # at glow.config.n_bits
  ```
  """
  n_bits = _model_n_bits(dist, n_bits)
  images = _check_uint8(images_uint8)
  if images.shape.rank is not None and images.shape.rank < 3:
    raise ValueError(
        f'images must be [N, H, W, C] or [H, W, C], got shape {images.shape}.')
  x = dequantize(images, n_bits, seed=seed, dtype=dist.dtype)
  conditions = {name: value for name, value in (('labels', labels),
                                                ('context', context))
                if value is not None}
  log_prob = dist.log_prob(x, **conditions)
  num_dims = int(np.prod(images.shape[-3:]))
  return bits_per_dim_from_log_prob(log_prob, num_dims, n_bits)
