"""Tests of glow_tf.analysis.interpolation: latent lines between images."""

import numpy as np
import pytest

from glow_tf import analysis
from tests import fixtures


def test_interpolation_ends_are_the_images():
  glow, images = fixtures.small_glow(), fixtures.random_images()
  rows = analysis.interpolation_rows(glow, images, [(0, 1), (2, 3)], 4)
  assert rows.shape == (2, 4, 8, 8, 1)
  np.testing.assert_array_equal(rows[:, 0], images[[0, 2]])
  np.testing.assert_array_equal(rows[:, -1], images[[1, 3]])
  with pytest.raises(ValueError, match='num_points'):
    analysis.interpolate(glow, images[0], images[1], 1)
