"""Tests of glow_tf.analysis.samples: temperature grids."""

import numpy as np
import pytest

from glow_tf import analysis
from tests import fixtures


def test_temperature_grid_shares_latents_across_rows():
  glow = fixtures.small_glow()
  grid = analysis.temperature_grid(glow, [0.0, 0.0, 1.0], num_samples=3)
  assert grid.shape == (3, 3, 8, 8, 1) and grid.dtype == np.uint8
  np.testing.assert_array_equal(grid[0], grid[1])
  with pytest.raises(ValueError, match='temperatures'):
    analysis.temperature_grid(glow, [-1.0], num_samples=3)
