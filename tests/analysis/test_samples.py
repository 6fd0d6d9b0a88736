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


def test_temperature_grid_seeds():
  glow = fixtures.small_glow()
  grid = analysis.temperature_grid(glow, [1.0], num_samples=2, seed=5)
  # An int s is the stateless seed [0, s]; another seed gives other latents.
  np.testing.assert_array_equal(
      grid, analysis.temperature_grid(glow, [1.0], num_samples=2,
                                      seed=np.array([0, 5])))
  assert not np.array_equal(
      grid, analysis.temperature_grid(glow, [1.0], num_samples=2, seed=6))
  # A float seed was once truncated silently: now it is refused.
  with pytest.raises(ValueError, match='seed.*float'):
    analysis.temperature_grid(glow, [1.0], num_samples=2, seed=5.7)
