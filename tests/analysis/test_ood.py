"""Tests of glow_tf.analysis.ood: AUROC and the bits/dim of image sets."""

import numpy as np

from glow_tf import analysis
from tests import fixtures


def test_auroc_is_the_probability_of_ranking_out_above_in():
  assert analysis.auroc([1, 2], [3, 4]) == 1.0
  assert analysis.auroc([3, 4], [1, 2]) == 0.0
  assert analysis.auroc([1, 2], [1, 2]) == 0.5
  # 3 of the 4 (in, out) pairs have out > in.
  assert analysis.auroc([1, 3], [2, 4]) == 0.75


def test_dataset_bits_per_dim_is_seeded_and_batch_free():
  glow, images = fixtures.small_glow(), fixtures.random_images()
  a = analysis.dataset_bits_per_dim(glow, images, batch_size=12)
  b = analysis.dataset_bits_per_dim(glow, images, batch_size=12)
  np.testing.assert_array_equal(a, b)
  assert a.shape == (12,) and np.all(np.isfinite(a))
