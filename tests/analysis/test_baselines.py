"""Tests of glow_tf.analysis.baselines: the per-pixel histogram."""

import numpy as np

from glow_tf import analysis


def test_histogram_baseline_limits():
  train = np.zeros((10, 2, 2, 1), np.uint8)
  bpd = analysis.histogram_baseline_bits_per_dim(train, train[:3],
                                                 alpha=1e-9)
  np.testing.assert_allclose(bpd, 0.0, atol=1e-6)
  uniform = analysis.histogram_baseline_bits_per_dim(train, train[:1] + 7,
                                                     alpha=1e9)
  np.testing.assert_allclose(uniform, 8.0, atol=1e-6)
