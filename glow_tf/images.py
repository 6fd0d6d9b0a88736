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

That is the variational bound with the uniform noise distribution. A model
may bring its own noise distribution `q(u | k)` over `u in (0, 1)^D` (a
`glow_tf.Glow` with `dequantization='variational'`, Flow++'s variational
dequantisation, `glow_tf.dequantizer`); for any `q`,

```
log P(k) = log E_q[p(x) / q(u | k)] - D log(2**n_bits)
        >= E_q[log p(x) - log q(u | k)] - D log(2**n_bits)       (the bound)
bits/dim = -(log p(x) - log q(u | k) - D log(2**n_bits)) / (D log(2))
```

(`bits_per_dim_from_log_prob` with `log_q`; uniform noise has `log q = 0`),
and `bits_per_dim` estimates `log P(k)` by importance sampling with `K`
draws of `u`, `log (1/K) sum_k exp(log p(x_k) - log q(u_k | k))`, a bound
that tightens as `K` grows (Burda et al. 2016) and is the variational bound
at `K = 1`.
"""

import math

import numpy as np
import tensorflow as tf

from glow_tf import _checks

__all__ = ['dequantize', 'quantize', 'to_uint8', 'bits_per_dim',
           'bits_per_dim_from_log_prob', 'check_n_bits', 'model_space_bins',
           'importance_weighted_bits_per_dim', 'default_num_samples',
           'VARIATIONAL_NUM_SAMPLES']

# `bits_per_dim`'s default number of draws of `u` for a model with a
# variational dequantizer (uniform dequantisation: 1, the usual figure).
VARIATIONAL_NUM_SAMPLES = 4


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


def model_space_bins(x, n_bits):
  """The integer bins `k` of dequantised model-space images, in `x`'s dtype.

  ```
  k = clip(floor((x + 0.5) * 2**n_bits), 0, 2**n_bits - 1)
  ```
  For `x = dequantize(image, n_bits)` this is `quantize(image, n_bits)`
  exactly: `x + 0.5` and the scaling are exact in floating point, so the
  floor finds the bin `x` lies in. (`dequantize` computes `k + u` in float32,
  which rounds a `u` within about `2**-17` of 1 up to the next bin's edge:
  that `x` is the next bin's `u = 0` point, and its bin is the next one.)
  """
  n_bits = check_n_bits(n_bits)
  x = tf.convert_to_tensor(x)
  if not x.dtype.is_floating:
    raise ValueError(f'x must be a float tensor, got dtype {x.dtype.name}.')
  levels = 2.0**n_bits
  return tf.clip_by_value(tf.floor((x + 0.5) * levels), 0.0, levels - 1.0)


def bits_per_dim_from_log_prob(log_prob, num_dims, n_bits, log_q=None):
  """The bound in bits/dim, per example, from model-space log-densities.

  ```
  bits/dim = -(log p(x) - log q(u | k) - D log(2**n_bits)) / (D log 2)
  x = (k + u) / 2**n_bits - 0.5
  ```
  the training objective: an upper bound, in expectation over `u ~ q`, on
  the discrete image's `-log2 P(k) / D` (module docstring). `log_q` None
  (uniform dequantisation, `log q = 0`) computes the formula without it.

  Args:
    log_prob: `log p(x)`, any shape.
    num_dims: D, the sub-pixels of an image.
    n_bits: colour depth, 1..8.
    log_q: None, or `log q(u | k)` of the noise that made `x`, broadcast
      with `log_prob`.
  """
  n_bits = check_n_bits(n_bits)
  log_prob = tf.convert_to_tensor(log_prob)
  if log_q is not None:
    log_prob = log_prob - log_q
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


def default_num_samples(dist):
  """`bits_per_dim`'s default K: 4 with a variational dequantizer, else 1."""
  variational = getattr(dist, 'dequantizer', None) is not None
  return VARIATIONAL_NUM_SAMPLES if variational else 1


def _dequantize_with(dist, images, n_bits, seed):
  """`(x, log q)`: the model's own dequantisation, else uniform noise (log q 0)."""
  own = getattr(dist, 'dequantize_and_log_q', None)
  if own is not None:  # glow_tf.Glow: uniform or variational
    return own(images, seed=seed)
  if images.dtype.is_floating:
    x = images  # already a uniform draw
  else:
    x = dequantize(images, n_bits, seed=seed, dtype=dist.dtype)
  return x, tf.zeros(tf.shape(x)[:-3], x.dtype)


def importance_weighted_bits_per_dim(dist, images, n_bits, labels=None,
                                     seed=None, num_samples=1, context=None):
  """Bits/dim of discrete images from `num_samples` dequantisations each.

  ```
  x_j, log q_j = the model's dequantisation of the images   (j = 1..K)
  bits/dim = -(log (1/K) sum_j exp(log p(x_j) - log q_j)
               - D log(2**n_bits)) / (D log 2)
  ```
  `glow_tf.Glow` dequantises with its own noise (`Glow.dequantize_and_log_q`:
  uniform, `log q = 0`, or its variational dequantizer); any other
  distribution with uniform noise. `K = 1` is the variational bound (the
  training loss); a larger `K` a tighter bound on `-log2 P(k) / D`. The K
  draws are scored as one batch of `K * N` images.

  Args:
    dist: a distribution over model-space images, e.g. `glow_tf.Glow`.
    images: uint8 images `[..., H, W, C]`, or images already dequantised
      into model space (floats of the model's dtype, as the data pipeline
      gives them): their bins are the discrete images, and under uniform
      dequantisation their noise is the first draw.
    n_bits: the model's colour depth.
    labels: int labels of the batch, for class-conditional models.
    seed: None (fresh noise), or a stateless seed: draw 1 uses `seed` (so
      that `K = 1` with uniform noise is `dequantize(images, n_bits, seed)`),
      draws 2..K, made as one batch `[K - 1, *batch]`,
      `stateless_fold_in(seed, 1)`.
    num_samples: K, a positive int.
    context: the images' contexts `[*batch, *context_shape]`, for
      conditional models (the same for every draw).

  Returns:
    A float tensor of the images' batch shape.
  """
  num_samples = _checks.positive_int(num_samples, 'num_samples')
  images = tf.convert_to_tensor(images)
  event_shape = images.shape[-3:]
  if images.shape.rank is None or images.shape.rank < 3 or (
      not event_shape.is_fully_defined()):
    raise ValueError('images must be [..., H, W, C] with known H, W and C, '
                     f'got shape {images.shape}.')
  x, log_q = _dequantize_with(dist, images, n_bits, seed)
  x, log_q = x[tf.newaxis], log_q[tf.newaxis]  # draw 1 of K: [1, *batch, ...]
  if num_samples > 1:  # the other K - 1 draws, as one batch
    discrete = to_uint8(images, n_bits) if images.dtype.is_floating else images
    more, more_log_q = _dequantize_with(
        dist, tf.broadcast_to(discrete, tf.concat(
            [[num_samples - 1], tf.shape(discrete)], axis=0)), n_bits,
        None if seed is None else tf.random.experimental.stateless_fold_in(
            tf.cast(_checks.seed_pair(seed), tf.int64), 1))
    x = tf.concat([x, more], axis=0)
    log_q = tf.concat([log_q, more_log_q], axis=0)
  batch_shape = tf.shape(x)[:-3]
  flat = tf.reshape(x, [-1] + event_shape.as_list())
  conditions = {}
  if labels is not None:
    conditions['labels'] = tf.reshape(tf.broadcast_to(labels, batch_shape),
                                      [-1])
  if context is not None:  # [*batch, *context_shape], the same for each draw
    context = tf.convert_to_tensor(context, dist.dtype)
    context_event = tf.shape(context)[images.shape.rank - 3:]
    conditions['context'] = tf.reshape(
        tf.broadcast_to(context, tf.concat([[num_samples], tf.shape(context)],
                                           axis=0)),
        tf.concat([[-1], context_event], axis=0))
  log_prob = dist.log_prob(flat, **conditions)
  log_weights = tf.reshape(log_prob, batch_shape) - log_q
  log_mean = tf.reduce_logsumexp(log_weights, axis=0) - math.log(num_samples)
  return bits_per_dim_from_log_prob(log_mean, event_shape.num_elements(),
                                    n_bits)


def bits_per_dim(dist, images_uint8, n_bits=None, labels=None, seed=None,
                 num_samples=None, context=None):
  """Bits per dimension of uint8 images under a model-space distribution.

  ```
  x_j, log q_j = dequantisation j of the images, j = 1..K
  bits/dim = -(log (1/K) sum_j exp(log p(x_j) - log q_j)
               - D * log(2**n_bits)) / (D * log(2)),        D = H * W * C
  ```
  The negative log-likelihood of the discretised image in bits, divided by
  the number of sub-pixels: the figure papers report (Glow reports 3.35 on
  CIFAR-10 at 8 bits), estimated from above:

  * uniform dequantisation (`x = dequantize(images, n_bits, seed)`,
    `log q = 0`, any distribution): by default `K = 1`, the variational
    bound, the usual figure (an upper bound in expectation over the noise);
  * a `glow_tf.Glow` with `dequantization='variational'` draws `u ~ q(u | k)`
    from its dequantizer: by default `K = VARIATIONAL_NUM_SAMPLES` (4), the
    importance-weighted bound, tighter than the variational bound (`K = 1`,
    the training loss) and approaching `-log2 P(k) / D` as `K` grows.

  Args:
    dist: a distribution over model-space images, e.g. `glow_tf.Glow`.
    images_uint8: uint8 tensor `[N, H, W, C]`.
    n_bits: colour depth the model was trained at. Default: the model's own
      (`dist.config.n_bits`, as a `glow_tf.Glow` has), else 8. A value that
      contradicts the model's is refused: its bits/dim would be wrong.
    labels: int labels `[N]`, for class-conditional models.
    seed: stateless seed for the dequantisation noise (see
      `importance_weighted_bits_per_dim`); None draws fresh noise.
    num_samples: K, the draws of the noise per image; None: 1 under uniform
      dequantisation, 4 with a variational dequantizer.
    context: the images' contexts `[N, *context_shape]`, for conditional
      models (`glow_tf.GlowConfig.context_shape`).

  Returns:
    A float tensor `[N]` of bits per dimension.

  #### Examples

  ```python
  bpd = glow_tf.bits_per_dim(glow, images)   # at glow.config.n_bits
  elbo = glow_tf.bits_per_dim(glow, images, num_samples=1)  # the loss's bound
  ```

  #### References

  [1]: Yuri Burda, Roger Grosse, Ruslan Salakhutdinov. Importance Weighted
       Autoencoders. ICLR 2016. https://arxiv.org/abs/1509.00519
  """
  n_bits = _model_n_bits(dist, n_bits)
  images = _check_uint8(images_uint8)
  if images.shape.rank is not None and images.shape.rank < 3:
    raise ValueError(
        f'images must be [N, H, W, C] or [H, W, C], got shape {images.shape}.')
  if num_samples is None:
    num_samples = default_num_samples(dist)
  return importance_weighted_bits_per_dim(dist, images, n_bits, labels=labels,
                                          seed=seed, num_samples=num_samples,
                                          context=context)
