"""Tests of glow_tf.analysis.attributes: class-mean directions."""

import numpy as np
import pytest

from glow_tf import analysis
from tests import fixtures


def test_attribute_direction_and_zero_strength():
  glow, images = fixtures.small_glow(), fixtures.random_images()
  labels = np.arange(12) % 3
  means = analysis.class_mean_latents(glow, images, labels, [0, 1],
                                      batch_size=3)
  direction = analysis.attribute_direction(means, 0, 1)
  assert [d.shape for d in direction] == [tuple(s)
                                          for s in glow.latent_shapes]
  rows = analysis.manipulate(glow, images[:2], direction, [0.0, 1.0])
  np.testing.assert_array_equal(rows[:, 0], images[:2])
  with pytest.raises(ValueError, match='no image'):
    analysis.class_mean_latents(glow, images, labels, [5])
