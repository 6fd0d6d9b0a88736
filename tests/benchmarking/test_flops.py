"""Tests of glow_tf.benchmarking.flops: the analytic FLOP count.

No timing is asserted.
"""

from absl.testing import parameterized
import tensorflow as tf

import glow_tf
import glow_tf.kernels.taps
from glow_tf import benchmarking


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
    self.assertEqual(benchmarking.forward_flops_per_image(config), expected)
    self.assertEqual(benchmarking.train_flops_per_image(config),
                     3 * expected)

  @parameterized.parameters((2, 16), (16, 4), (3, 3), (4, 36))
  def test_conv3x3_matmul_is_the_matmul_the_network_runs(self, c_in, c_out):
    # The FLOP count's shape is the one matmul in the traced convolution.
    x = tf.TensorSpec([2, 5, 6, c_in], tf.float32)
    kernel = tf.zeros([3, 3, c_in, c_out])
    graph = tf.function(
        lambda x: glow_tf.kernels.taps.conv_as_matmul(x, kernel)
    ).get_concrete_function(x).graph
    matmuls = [op for op in graph.get_operations() if op.type == 'MatMul']
    self.assertLen(matmuls, 1)
    a, b = (t.shape.as_list() for t in matmuls[0].inputs)
    self.assertEqual((a[0], a[1], b[1]),
                     benchmarking.flops.conv3x3_matmul(60, c_in, c_out))
    self.assertEqual(glow_tf.kernels.taps_on_output(c_in, c_out),
                     c_in > c_out)
