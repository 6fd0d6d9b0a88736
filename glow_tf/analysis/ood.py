"""Likelihood on out-of-distribution data (Nalisnick et al., ICLR 2019).

A Glow trained on Fashion-MNIST famously gives MNIST digits *higher*
likelihood (fewer bits/dim) than its own test set. `dataset_bits_per_dim`
scores a data set; `ood_summary` compares two: `auroc` is the probability
that an out-of-distribution image gets more bits/dim than an in-distribution
one (1: likelihood separates them perfectly, 0.5: chance, below 0.5: the
model prefers the out-of-distribution data).
"""

import numpy as np
import tensorflow as tf

from glow_tf import images as images_lib
from glow_tf.analysis import _inputs

__all__ = ['BitsPerDimScorer', 'dataset_bits_per_dim', 'ood_summary',
           'auroc']


class BitsPerDimScorer:
  """Bits/dim of uint8 images under one Glow, compiled once and reused.

  ```
  x = dequantize(images, n_bits, seed=[seed, b])   (batch b)
  bits/dim = -(log p(x) - D log 2**n_bits) / (D log 2)
  ```
  """

  def __init__(self, glow, batch_size=500):
    self.glow = _inputs.check_glow(glow)
    self.batch_size = _inputs.positive_int(batch_size, 'batch_size')
    self._log_prob = tf.function(
        lambda x, labels: glow.log_prob(x, labels=labels),
        reduce_retracing=True)

  def __call__(self, images, seed=0, labels=None):
    """float64 numpy array `[N]` of the bits/dim of uint8 `images`."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4:
      raise ValueError('images must be uint8 [N, H, W, C], got '
                       f'{images.dtype} of shape {images.shape}.')
    n_bits = self.glow.config.n_bits
    num_dims = int(np.prod(images.shape[1:]))
    scores = []
    for b, start in enumerate(range(0, len(images), self.batch_size)):
      chunk = images[start:start + self.batch_size]
      x = images_lib.dequantize(chunk, n_bits, seed=[int(seed), b],
                                dtype=self.glow.dtype)
      batch_labels = None if labels is None else tf.constant(
          np.asarray(labels)[start:start + self.batch_size], tf.int64)
      bpd = images_lib.bits_per_dim_from_log_prob(
          self._log_prob(x, batch_labels), num_dims, n_bits)
      scores.append(bpd.numpy().astype(np.float64))
    return np.concatenate(scores)


def dataset_bits_per_dim(glow, images, batch_size=500, seed=0, labels=None):
  """Bits/dim of every image, with seeded dequantisation noise.

  Args:
    glow: a `glow_tf.Glow`.
    images: uint8 `[N, H, W, C]`.
    batch_size: images scored at a time.
    seed: int; batch `b` uses the stateless noise seed `[seed, b]`.
    labels: int labels `[N]`, for class-conditional models.

  Returns:
    float64 numpy array `[N]` of bits per dimension.
  """
  return BitsPerDimScorer(glow, batch_size)(images, seed=seed, labels=labels)


def auroc(in_scores, out_scores):
  """P(out > in) + P(out == in) / 2 over all pairs: the AUROC of the score."""
  a = np.sort(np.asarray(in_scores, np.float64))
  b = np.asarray(out_scores, np.float64)
  if not a.size or not b.size:
    raise ValueError('both score arrays must be non-empty.')
  below = np.searchsorted(a, b, side='left')
  at_or_below = np.searchsorted(a, b, side='right')
  return float(np.mean(below + 0.5 * (at_or_below - below)) / a.size)


def ood_summary(in_bpd, out_bpd, in_name='in', out_name='out'):
  """Means, spreads and the AUROC of bits/dim between two data sets."""
  in_bpd, out_bpd = np.asarray(in_bpd), np.asarray(out_bpd)

  def stats(v):
    return {'count': int(v.size), 'mean': float(v.mean()),
            'std': float(v.std()), 'median': float(np.median(v)),
            'min': float(v.min()), 'max': float(v.max())}

  return {
      in_name: stats(in_bpd),
      out_name: stats(out_bpd),
      'auroc': auroc(in_bpd, out_bpd),
      'fraction_out_below_in_median': float(
          np.mean(out_bpd < np.median(in_bpd))),
  }
