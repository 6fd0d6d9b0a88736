"""Tests of glow_tf.kernels.taps: 3x3 convolutions as matmuls equal tf.nn.conv2d.

No timing is asserted.
"""

import logging

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from glow_tf.kernels import taps
from tests.fixtures import xla_compiled_functions


class ConvolutionAsMatmulTest(tf.test.TestCase, parameterized.TestCase):

  def test_one_by_one_and_rank_check(self):
    x = tf.random.stateless_normal([2, 3, 4, 5], seed=[4, 1],
                                   dtype=tf.float64)
    kernel = tf.random.stateless_normal([1, 1, 5, 7], seed=[4, 2],
                                        dtype=tf.float64)
    self.assertAllClose(taps.conv_as_matmul(x, kernel),
                        tf.nn.conv2d(x, kernel, 1, 'SAME'), atol=1e-12)
    with self.assertRaisesRegex(ValueError, 'rank 4'):
      taps.conv_as_matmul(x[None], kernel)

  @parameterized.product(channels=[(2, 16), (16, 4), (3, 3), (1, 1)],
                         xla=[True, False])
  def test_equals_conv2d_with_its_gradients(self, channels, xla):
    c_in, c_out = channels
    x = tf.random.stateless_normal([2, 5, 6, c_in], seed=[1, 1],
                                   dtype=tf.float64)
    kernel = tf.random.stateless_normal([3, 3, c_in, c_out], seed=[1, 2],
                                        dtype=tf.float64)
    weights = tf.random.stateless_normal([2, 5, 6, c_out], seed=[1, 3],
                                         dtype=tf.float64)

    def value_and_gradients(conv):
      with tf.GradientTape() as tape:
        tape.watch([x, kernel])
        y = conv(x, kernel)
        loss = tf.reduce_sum(weights * y)
      return [y] + tape.gradient(loss, [x, kernel])

    fast = lambda x, k: taps.conv_as_matmul(x, k, xla)
    # In a graph (as in training) and eagerly.
    traced = tf.function(value_and_gradients, autograph=False)(fast)
    eager = value_and_gradients(fast)
    for a, b in zip(traced, eager):
      self.assertAllClose(a, b, rtol=1e-12, atol=1e-12)
    reference = value_and_gradients(lambda x, k: tf.nn.conv2d(x, k, 1, 'SAME'))
    for a, b in zip(traced, reference):
      self.assertAllClose(a, b, rtol=1e-12, atol=1e-12)

  def test_taps_of_an_image_size_unknown_when_traced(self):
    # The XLA sum of taps slices each block by the static H and W; traced
    # with unknown ones it pads first, as the plain taps do.
    for c_in, c_out in ((2, 16), (16, 4)):
      kernel = tf.random.stateless_normal([3, 3, c_in, c_out], seed=[7, 2])
      x = tf.random.stateless_normal([2, 5, 6, c_in], seed=[7, 1])
      conv = tf.function(lambda x, k=kernel: taps.conv_as_matmul(x, k),
                         input_signature=[tf.TensorSpec([None, None, None,
                                                         c_in])])
      self.assertAllClose(conv(x), tf.nn.conv2d(x, kernel, 1, 'SAME'),
                          rtol=1e-5, atol=1e-5)

  def test_xla_argument_decides_the_traced_graph(self):
    x_spec = tf.TensorSpec([None, 5, 6, 2], tf.float32)
    kernel = tf.random.stateless_normal([3, 3, 2, 16], seed=[6, 1])
    back = tf.random.stateless_normal([3, 3, 16, 2], seed=[6, 2])

    def graph(xla):
      fn = tf.function(lambda x: taps.conv_as_matmul(
          taps.conv_as_matmul(x, kernel, xla), back, xla))
      return fn.get_concrete_function(x_spec).graph.as_graph_def()

    self.assertLen(xla_compiled_functions(graph(True)), 2)  # gather, sum
    self.assertEmpty(xla_compiled_functions(graph(False)))

  def test_empty_batch(self):
    for c_in, c_out in ((2, 16), (16, 4)):
      kernel = tf.ones([3, 3, c_in, c_out])
      y = taps.conv_as_matmul(tf.zeros([0, 5, 6, c_in]), kernel)
      self.assertEqual(y.shape, [0, 5, 6, c_out])

  def test_gradient_of_the_taps_is_their_adjoint(self):
    for c_in, c_out in ((2, 5), (5, 2)):
      x = tf.random.stateless_normal([1, 3, 4, c_in], seed=[2, c_in],
                                     dtype=tf.float64)
      kernel = tf.random.stateless_normal([3, 3, c_in, c_out], seed=[2, 9],
                                          dtype=tf.float64)
      theoretical, numerical = tf.test.compute_gradient(
          lambda x, k=kernel: taps.conv_as_matmul(x, k), [x])
      self.assertAllClose(theoretical[0], numerical[0], atol=1e-6)

  def test_eager_calls_of_new_batch_sizes_warn_of_no_retracing(self):
    # TensorFlow warns when one function retraces often: advice for code that
    # re-creates functions, shown to users whose eager calls vary the batch.
    messages = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    logger = logging.getLogger('tensorflow')
    logger.addHandler(handler)
    try:
      for n in range(1, 8):
        x = tf.random.stateless_normal([n, 4, 5, 2], seed=[3, n])
        kernel = tf.random.stateless_normal([3, 3, 2, 18], seed=[3, 0])
        y = taps.conv_as_matmul(x, kernel)   # gathers the taps
        self.assertAllClose(y, tf.nn.conv2d(x, kernel, 1, 'SAME'),
                            rtol=1e-5, atol=1e-5)
        out = taps.conv_as_matmul(y, tf.ones([3, 3, 18, 2]))  # sums
        self.assertEqual(out.shape, [n, 4, 5, 2])
    finally:
      logger.removeHandler(handler)
    self.assertEmpty([m for m in messages if 'retracing' in m])

  def test_indicator_marks_the_taps_outside_the_image(self):
    mask = taps.edge_indicator(tf.zeros([2, 3, 4, 5])).numpy()
    self.assertEqual(mask.shape, (12, 9))
    self.assertAllEqual(mask[5], np.zeros(9))  # (1, 1): every tap inside.
    # (0, 0): the taps of row -1 or column -1 are outside.
    self.assertAllEqual(mask[0], [1, 1, 1, 1, 0, 0, 1, 0, 0])
    # Taps inside: (2 + 3 + 2) rows x (3 + 4 + 3) columns = 70 of 108.
    self.assertEqual(int(mask.sum()), 108 - 70)

  def test_taps_go_on_the_narrow_side(self):
    self.assertFalse(taps.taps_on_output(6, 512))
    self.assertTrue(taps.taps_on_output(512, 12))


if __name__ == '__main__':
  tf.test.main()
