"""Likelihood on out-of-distribution data (Nalisnick et al., ICLR 2019).

A Glow trained on Fashion-MNIST famously gives MNIST digits *higher*
likelihood (fewer bits/dim) than its own test set. `dataset_bits_per_dim`
scores a data set; `ood_summary` compares two: `auroc` is the probability
that an out-of-distribution image gets more bits/dim than an in-distribution
one (1: likelihood separates them perfectly, 0.5: chance, below 0.5: the
model prefers the out-of-distribution data).
"""

import numpy as np

from glow_tf.training.evaluation import BitsPerDimScorer

__all__ = ['dataset_bits_per_dim', 'ood_summary', 'auroc']


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
