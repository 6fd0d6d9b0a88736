"""Tests of glow_tf.kernels.reference: the definitions themselves."""

import numpy as np
import tensorflow as tf

from glow_tf import kernels


class ReferenceTest(tf.test.TestCase):

  def test_edge_padding_adds_the_indicator_channels_weights(self):
    # With a zero kernel, the output is the edge weights summed over the
    # taps that fall outside the image: none inside, three at an edge
    # (middle of a side), five at a corner.
    edge = tf.ones([9, 1], tf.float64)
    y = kernels.get('reference').conv2d(tf.zeros([1, 4, 5, 2], tf.float64),
                                        tf.zeros([3, 3, 2, 1], tf.float64),
                                        edge)[0, ..., 0].numpy()
    self.assertEqual(y[1, 1], 0.0)
    self.assertEqual(y[0, 2], 3.0)
    self.assertEqual(y[0, 0], 5.0)
    self.assertEqual(y[3, 4], 5.0)

  def test_without_edge_is_conv2d_same(self):
    x = tf.random.stateless_normal([2, 4, 5, 3], [1, 1], dtype=tf.float64)
    k = tf.random.stateless_normal([3, 3, 3, 2], [1, 2], dtype=tf.float64)
    self.assertAllClose(kernels.get('reference').conv2d(x, k),
                        tf.nn.conv2d(x, k, 1, 'SAME'), atol=1e-14)
    self.assertEqual(np.asarray(kernels.get('reference').units([1, 2])).tolist(),
                     [1, 2])


if __name__ == '__main__':
  tf.test.main()
