"""Tests of benchmarks.flops: the analytic FLOP count.

No timing is asserted.
"""

from absl.testing import parameterized
import tensorflow as tf

import benchmarks
import glow_tf


class FlopsTest(tf.test.TestCase, parameterized.TestCase):
  """FLOPs of every matmul of the flow."""

  def test_flops_count_the_coupling_networks(self):
    config = glow_tf.preset('fashion_mnist', num_steps=8,
                            hidden_channels=400)
    # Level 0: 14x14 pixels, 4 channels; level 1: 7x7 pixels, 8 channels.
    level0 = 196 * (9 * 2 * 400 + 400 * 400 + 9 * 400 * 4 + 16)
    level1 = 49 * (9 * 4 * 400 + 400 * 400 + 9 * 400 * 8 + 64)
    split = 196 * 9 * 2 * 4
    expected = 2 * (8 * (level0 + level1) + split)
    self.assertEqual(benchmarks.forward_flops_per_image(config), expected)
    self.assertEqual(benchmarks.train_flops_per_image(config),
                     3 * expected)
