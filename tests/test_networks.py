"""Tests of glow_tf.networks: convolutions as matmuls and the folded coupling network equal the plain ops.

No timing is asserted.
"""

import logging

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from glow_tf import networks
from tests.fixtures import xla_compiled_functions


def _images(n, seed=2, shape=(8, 8, 2)):
  return tf.random.stateless_uniform([n, *shape], seed=[1, seed],
                                     dtype=tf.float64) - 0.5


class ConvolutionAsMatmulTest(tf.test.TestCase, parameterized.TestCase):

  def test_one_by_one_and_rank_check(self):
    x = tf.random.stateless_normal([2, 3, 4, 5], seed=[4, 1],
                                   dtype=tf.float64)
    kernel = tf.random.stateless_normal([1, 1, 5, 7], seed=[4, 2],
                                        dtype=tf.float64)
    self.assertAllClose(networks.conv_as_matmul(x, kernel),
                        tf.nn.conv2d(x, kernel, 1, 'SAME'), atol=1e-12)
    with self.assertRaisesRegex(ValueError, 'rank 4'):
      networks.conv_as_matmul(x[None], kernel)

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

    with networks.xla_taps(xla):  # in a graph (as in training) and eagerly
      fast = tf.function(value_and_gradients, autograph=False)(
          networks.conv3x3_as_matmul)
      eager = value_and_gradients(networks.conv3x3_as_matmul)
    for a, b in zip(fast, eager):
      self.assertAllClose(a, b, rtol=1e-12, atol=1e-12)
    reference = value_and_gradients(lambda x, k: tf.nn.conv2d(x, k, 1, 'SAME'))
    for a, b in zip(fast, reference):
      self.assertAllClose(a, b, rtol=1e-12, atol=1e-12)

  @parameterized.parameters((2, 16), (16, 4))
  def test_xla_taps_are_the_plain_ones_in_float32(self, c_in, c_out):
    x = tf.random.stateless_normal([3, 7, 7, c_in], seed=[5, 1])
    kernel = tf.random.stateless_normal([3, 3, c_in, c_out], seed=[5, 2])
    results = []
    for xla in (True, False):
      with networks.xla_taps(xla), tf.GradientTape() as tape:
        tape.watch(x)
        y = networks.conv3x3_as_matmul(x, kernel)
        loss = tf.reduce_sum(tf.sin(y))
      results.append([y, tape.gradient(loss, x)])
    for a, b in zip(*results):
      self.assertAllClose(a, b, rtol=1e-6, atol=1e-6)

  def test_taps_of_an_image_size_unknown_when_traced(self):
    # The XLA sum of taps slices each block by the static H and W; traced
    # with unknown ones it pads first, as the plain taps do.
    for c_in, c_out in ((2, 16), (16, 4)):
      kernel = tf.random.stateless_normal([3, 3, c_in, c_out], seed=[7, 2])
      x = tf.random.stateless_normal([2, 5, 6, c_in], seed=[7, 1])
      conv = tf.function(lambda x, k=kernel: networks.conv3x3_as_matmul(x, k),
                         input_signature=[tf.TensorSpec([None, None, None,
                                                         c_in])])
      self.assertAllClose(conv(x), tf.nn.conv2d(x, kernel, 1, 'SAME'),
                          rtol=1e-5, atol=1e-5)

  def test_xla_taps_switch_decides_the_traced_graph(self):
    self.assertTrue(networks.xla_taps_enabled())
    x_spec = tf.TensorSpec([None, 5, 6, 2], tf.float32)
    kernel = tf.random.stateless_normal([3, 3, 2, 16], seed=[6, 1])
    back = tf.random.stateless_normal([3, 3, 16, 2], seed=[6, 2])

    def graph():
      fn = tf.function(lambda x: networks.conv3x3_as_matmul(
          networks.conv3x3_as_matmul(x, kernel), back))
      return fn.get_concrete_function(x_spec).graph.as_graph_def()

    self.assertLen(xla_compiled_functions(graph()), 2)  # gather, sum
    with networks.xla_taps(False):
      self.assertFalse(networks.xla_taps_enabled())
      self.assertEmpty(xla_compiled_functions(graph()))
      with networks.xla_taps(True):
        self.assertLen(xla_compiled_functions(graph()), 2)
      self.assertFalse(networks.xla_taps_enabled())
    self.assertTrue(networks.xla_taps_enabled())
    with self.assertRaisesRegex(ValueError, 'True or False'):
      with networks.xla_taps(1):
        pass
    self.assertTrue(networks.xla_taps_enabled())

  def test_empty_batch_with_xla_taps(self):
    for c_in, c_out in ((2, 16), (16, 4)):
      kernel = tf.ones([3, 3, c_in, c_out])
      y = networks.conv3x3_as_matmul(tf.zeros([0, 5, 6, c_in]), kernel)
      self.assertEqual(y.shape, [0, 5, 6, c_out])

  def test_gradient_of_the_taps_is_their_adjoint(self):
    for c_in, c_out in ((2, 5), (5, 2)):
      x = tf.random.stateless_normal([1, 3, 4, c_in], seed=[2, c_in],
                                     dtype=tf.float64)
      kernel = tf.random.stateless_normal([3, 3, c_in, c_out], seed=[2, 9],
                                          dtype=tf.float64)
      theoretical, numerical = tf.test.compute_gradient(
          lambda x, k=kernel: networks.conv3x3_as_matmul(x, k), [x])
      self.assertAllClose(theoretical[0], numerical[0], atol=1e-6)

  def test_eager_calls_of_new_batch_sizes_warn_of_no_retracing(self):
    # TensorFlow warns when one function retraces often: advice for code that
    # re-creates functions, shown to users whose eager calls vary the batch.
    messages = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    logger = logging.getLogger('tensorflow')
    logger.addHandler(handler)
    shifted = networks.after_summed_taps(lambda summed, bias: summed + bias)
    try:
      with networks.xla_taps(True):
        for n in range(1, 8):
          x = tf.random.stateless_normal([n, 4, 5, 2], seed=[3, n])
          kernel = tf.random.stateless_normal([3, 3, 2, 18], seed=[3, 0])
          y = networks.conv3x3_as_matmul(x, kernel)   # gathers the taps
          self.assertAllClose(y, tf.nn.conv2d(x, kernel, 1, 'SAME'),
                              rtol=1e-5, atol=1e-5)
          out = networks.conv3x3_as_matmul(y, tf.ones([3, 3, 18, 2]))  # sums
          self.assertEqual(out.shape, [n, 4, 5, 2])
          self.assertEqual(shifted(y, tf.ones([2])).shape, [n, 4, 5, 2])
    finally:
      logger.removeHandler(handler)
    self.assertEmpty([m for m in messages if 'retracing' in m])


def _official_conv(x, kernel, edge):
  """The reference code's 3x3 'SAME' conv with edge bias, written out.

  Pads `x` with zeros, adds a channel that is 1 in the padding and 0
  inside, and runs a 'VALID' convolution whose kernel has that channel's
  weights (`edge`, `[9, Cout]`, taps in kernel order) as its last input.
  """
  padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
  inside = tf.pad(tf.zeros_like(x[..., :1]), [[0, 0], [1, 1], [1, 1], [0, 0]],
                  constant_values=1.0)
  wide = tf.concat([padded, inside], axis=-1)
  full = tf.concat([kernel, tf.reshape(edge, [3, 3, 1, -1])], axis=2)
  return tf.nn.conv2d(wide, full, 1, 'VALID')


class FastCouplingNetworkTest(tf.test.TestCase, parameterized.TestCase):

  def _unfolded(self, net, x, factor=1.0):
    """The network as written in the paper: conv -> ActNorm -> ReLU ...

    With edge padding, its 3x3 convolutions are the reference code's; the
    ActNorms apply `factor` times their log-scale variables.
    """
    def conv3x3(x, conv):
      if conv.edge is None:
        return tf.nn.conv2d(x, conv.kernel, 1, 'SAME')
      return _official_conv(x, conv.kernel, conv.edge)

    def act_norm(h, norm, factor=factor):
      return (h + norm.bias) * tf.exp(factor * norm.log_scale)

    h = tf.nn.relu(act_norm(conv3x3(x, net.conv_in), net.norm_in))
    h = tf.nn.conv2d(h, net.conv_hidden.kernel, 1, 'SAME')
    h = tf.nn.relu(act_norm(h, net.norm_hidden))
    out = net.conv_out
    h = conv3x3(h, out) + out.bias
    return h * tf.exp(3.0 * out.log_scale)

  # (in, out, hidden): patches in and taps on the output (the usual shape);
  # more inputs than hidden channels (taps on the input conv's output); more
  # outputs than hidden channels (the output conv as patches); each without
  # and with edge padding; two with the official code's ActNorm log-scale
  # factor.
  @parameterized.parameters(
      [(c_in, c_out, hidden, edge_padding, 1.0)
       for c_in, c_out, hidden in ((3, 6, 16), (6, 2, 4), (6, 12, 4),
                                   (2, 12, 4))
       for edge_padding in (False, True)] +
      [(3, 6, 16, False, 3.0), (6, 12, 4, True, 3.0)])
  def test_folded_network_equals_the_unfolded_one_with_gradients(
      self, c_in, c_out, hidden, edge_padding, factor):
    net = networks.CouplingNetwork(c_in, c_out, hidden_channels=hidden,
                                   seed=0, dtype=tf.float64,
                                   edge_padding=edge_padding,
                                   act_norm_log_scale_factor=factor)
    # 9 variables, and the two convolutions' edge weights.
    self.assertLen(net.trainable_variables, 11 if edge_padding else 9)
    x = tf.random.stateless_normal([4, 6, 6, c_in], seed=[3, 1],
                                   dtype=tf.float64)
    net(x, initialize=True)
    rng = np.random.default_rng(0)
    for v in net.trainable_variables:
      v.assign(v + rng.normal(0.0, 0.1, v.shape))
    results = []
    for fn in (net, lambda x: self._unfolded(net, x, factor)):
      with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
        loss = tf.reduce_sum(tf.sin(y))
      results.append([y] + tape.gradient(loss, [x] + list(
          net.trainable_variables)))
    for fast, reference in zip(*results):
      self.assertAllClose(fast, reference, rtol=1e-10, atol=1e-10)


class MixedPrecisionTest(tf.test.TestCase, parameterized.TestCase):
  """`compute_dtype='bfloat16'`: the same network, to bfloat16's precision."""

  # (in, out, hidden) of the three tap layouts, as in FastCouplingNetworkTest,
  # with hidden layers wide enough that a rounding-switched ReLU is one of many.
  @parameterized.parameters((3, 6, 32, False), (2, 12, 32, True),
                            (24, 2, 16, False))
  def test_bfloat16_network_is_the_float32_one_to_its_precision(
      self, c_in, c_out, hidden, edge_padding):
    nets = [networks.CouplingNetwork(c_in, c_out, hidden_channels=hidden,
                                     seed=0, edge_padding=edge_padding,
                                     compute_dtype=compute_dtype)
            for compute_dtype in (None, 'bfloat16')]
    self.assertIsNone(nets[0].compute_dtype)
    self.assertEqual(nets[1].compute_dtype, tf.bfloat16)
    x = tf.random.stateless_normal([4, 6, 6, c_in], seed=[3, 1])
    for net in nets:
      net(x, initialize=True)
    rng = np.random.default_rng(0)
    for reference, mixed in zip(*(net.trainable_variables for net in nets)):
      reference.assign(reference + rng.normal(0.0, 0.1, reference.shape))
      mixed.assign(reference)
    # A linear loss, so that the gradients do not amplify y's rounding.
    weights = tf.random.stateless_normal([4, 6, 6, c_out], seed=[5, 2])
    results = []
    for net in nets:
      with tf.GradientTape() as tape:
        tape.watch(x)
        y = net(x)
        loss = tf.reduce_sum(weights * y)
      grads = tape.gradient(loss, [x] + list(net.trainable_variables))
      self.assertEqual(y.dtype, tf.float32)
      for grad in grads:
        self.assertIsNotNone(grad)
        self.assertEqual(grad.dtype, tf.float32)
      results.append([y] + grads)
    scale = max(float(tf.reduce_max(tf.abs(results[0][0]))), 1.0)
    # bfloat16 keeps 8 significant bits (relative error 2**-9 per rounding).
    self.assertAllClose(results[1][0], results[0][0], atol=0.03 * scale)
    self.assertNotAllClose(results[1][0], results[0][0], atol=1e-6 * scale)
    # The gradients as a whole: a ReLU whose input is near zero may switch
    # under rounding, so single entries can differ more. Seen: 0.4 % to 12 %
    # per gradient on these small networks; a wrong gradient is off by ~100 %.
    for mixed, reference in zip(results[1][1:], results[0][1:]):
      error = float(tf.norm(mixed - reference) / tf.norm(reference))
      self.assertLess(error, 0.2)

  def test_bias_gradient_sums_in_float32(self):
    # 20,000 pixels of gradient 1: a bfloat16 running sum stalls at 256
    # (256 + 1 rounds back to 256); the float32 sum is exact.
    h = tf.ones([20_000, 3], tf.bfloat16)
    bias = tf.constant([0.5, -2.0, 1.0])
    with tf.GradientTape() as tape:
      tape.watch(bias)
      y = networks._mixed_bias_relu(h, bias)  # pylint: disable=protected-access
    self.assertEqual(y.dtype, tf.bfloat16)
    self.assertAllEqual(y[0], [1.5, 0.0, 2.0])
    self.assertAllEqual(tape.gradient(y, bias), [20_000.0, 0.0, 20_000.0])

  def test_bad_compute_dtypes(self):
    with self.assertRaisesRegex(ValueError, "compute_dtype.*'bfloat16'"):
      networks.CouplingNetwork(2, 4, 8, compute_dtype='float16')
    with self.assertRaisesRegex(ValueError, 'needs float32 variables'):
      networks.CouplingNetwork(2, 4, 8, dtype=tf.float64,
                               compute_dtype='bfloat16')


class SummedTapsTest(tf.test.TestCase, parameterized.TestCase):
  """`output_taps` and `after_summed_taps` give back the convolution."""

  @parameterized.product(xla=[True, False], edge_padding=[False, True])
  def test_epilogue_of_the_output_taps_is_the_conv_with_gradients(
      self, xla, edge_padding):
    conv = networks.ZeroConv2D(8, 3, dtype=tf.float64,
                               edge_padding=edge_padding)
    self.assertTrue(conv.sums_output_taps)
    rng = np.random.default_rng(3)
    for v in conv.trainable_variables:
      v.assign(rng.normal(0.0, 0.2, v.shape))
    x = _images(2, shape=(4, 5, 8))
    add = networks.after_summed_taps(lambda summed, offset: summed + offset)
    results = []
    with networks.xla_taps(xla):
      for fn in (lambda x: add(*conv.output_taps(tf.reshape(x, [-1, 8]), x)),
                 conv):
        with tf.GradientTape() as tape:
          tape.watch(x)
          y = fn(x)
          loss = tf.reduce_sum(tf.sin(y))
        results.append([y] + tape.gradient(
            loss, [x] + list(conv.trainable_variables)))
      traced = tf.function(lambda y, offset: add(y, offset)).get_concrete_function(
          tf.TensorSpec([None, 4, 5, 27], tf.float64),
          tf.TensorSpec([3], tf.float64)).graph.as_graph_def()
    self.assertLen(xla_compiled_functions(traced), 1 if xla else 0)
    for fused, reference in zip(*results):
      self.assertAllClose(fused, reference, rtol=1e-10, atol=1e-10)
    self.assertGreater(float(tf.reduce_max(tf.abs(results[0][0]))), 0.1)

  # bfloat16: XLA rounds its fused sum of bfloat16 taps otherwise than the
  # network's own sum and cast, so they agree to bfloat16's precision only.
  @parameterized.parameters((None, 1e-10), ('bfloat16', 0.02))
  def test_network_output_taps_sum_to_the_network(self, compute_dtype, tol):
    dtype = tf.float32 if compute_dtype else tf.float64
    net = networks.CouplingNetwork(3, 6, hidden_channels=16, seed=0,
                                   dtype=dtype, edge_padding=True,
                                   compute_dtype=compute_dtype)
    self.assertTrue(net.sums_output_taps)
    x = tf.random.stateless_normal([4, 6, 6, 3], seed=[3, 1], dtype=dtype)
    net(x, initialize=True)
    rng = np.random.default_rng(0)
    for v in net.trainable_variables:
      v.assign(v + rng.normal(0.0, 0.1, v.shape))
    y, offset = net.output_taps(x)
    self.assertEqual(y.shape, [4, 6, 6, 54])
    self.assertEqual(y.dtype, tf.bfloat16 if compute_dtype else dtype)
    self.assertEqual(offset.dtype, dtype)
    add = networks.after_summed_taps(
        lambda summed, offset: tf.cast(summed, offset.dtype) + offset)
    self.assertAllClose(add(y, offset), net(x), rtol=tol, atol=tol)
    self.assertGreater(float(tf.reduce_max(tf.abs(net(x)))), 0.1)

  @parameterized.product(xla=[True, False], edge_padding=[False, True],
                         graph=[False, True])
  def test_output_taps_of_leading_channels_equal_those_of_the_slice(
      self, xla, edge_padding, graph):
    net = networks.CouplingNetwork(3, 6, hidden_channels=16, seed=0,
                                   dtype=tf.float64, edge_padding=edge_padding)
    x = _images(4, seed=7, shape=(5, 6, 5))
    net(x[..., :3], initialize=True)
    rng = np.random.default_rng(4)
    for v in net.trainable_variables:
      v.assign(v + rng.normal(0.0, 0.1, v.shape))
    add = networks.after_summed_taps(lambda summed, offset: summed + offset)
    weights = tf.constant(rng.normal(size=[4, 5, 6, 54]))  # any cotangent

    def both(x):
      with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        outs = [net.output_taps(x, channels=3), net.output_taps(x[..., :3])]
        losses = [tf.reduce_sum(tf.sin(y) * weights) + tf.reduce_sum(
            add(y, offset) ** 2) for y, offset in outs]
      grads = [tape.gradient(loss, [x] + list(net.trainable_variables))
               for loss in losses]
      return [y for y, _ in outs], grads

    with networks.xla_taps(xla):
      ys, grads = (tf.function(both) if graph else both)(x)
    self.assertAllClose(ys[0], ys[1], rtol=1e-12, atol=1e-12)
    for fused, reference in zip(*grads):
      self.assertAllClose(fused, reference, rtol=1e-10, atol=1e-10)
    # The unread channels get exactly zero; the read ones do not.
    self.assertAllEqual(grads[0][0][..., 3:], tf.zeros([4, 5, 6, 2],
                                                       tf.float64))
    self.assertGreater(float(tf.reduce_max(tf.abs(grads[0][0][..., :3]))),
                       0.1)

  def test_output_taps_of_leading_channels_check_the_count(self):
    net = networks.CouplingNetwork(3, 6, hidden_channels=16, seed=0)
    x = tf.zeros([1, 4, 4, 5])
    with self.assertRaisesRegex(ValueError, 'channels must be in_channels=3'):
      net.output_taps(x, channels=2)
    with self.assertRaisesRegex(ValueError, 'fewer than channels=3'):
      net.output_taps(x[..., :2], channels=3)
    with self.assertRaisesRegex(ValueError, 'channels'):
      net.output_taps(x, channels=0)

  def test_output_taps_need_taps_on_the_output(self):
    conv = networks.ZeroConv2D(2, 6)
    self.assertFalse(conv.sums_output_taps)
    self.assertFalse(networks.CouplingNetwork(2, 12, 4).sums_output_taps)
    with self.assertRaisesRegex(ValueError, 'sums no taps on its output'):
      conv.output_taps(tf.zeros([8, 2]), tf.zeros([2, 2, 2, 2]))


class EdgePaddingTest(tf.test.TestCase, parameterized.TestCase):
  """The padding-indicator channel equals the reference code's, gradients too."""

  def test_indicator_marks_the_taps_outside_the_image(self):
    mask = networks.edge_indicator(tf.zeros([2, 3, 4, 5])).numpy()
    self.assertEqual(mask.shape, (12, 9))
    self.assertAllEqual(mask[5], np.zeros(9))  # (1, 1): every tap inside.
    # (0, 0): the taps of row -1 or column -1 are outside.
    self.assertAllEqual(mask[0], [1, 1, 1, 1, 0, 0, 1, 0, 0])
    # Taps inside: (2 + 3 + 2) rows x (3 + 4 + 3) columns = 70 of 108.
    self.assertEqual(int(mask.sum()), 108 - 70)

  @parameterized.parameters((2, 6), (6, 2))
  def test_conv2d_equals_the_reference_with_gradients(self, c_in, c_out):
    conv = networks.Conv2D(c_in, c_out, 3, seed=1, dtype=tf.float64,
                           edge_padding=True)
    x = _images(3, shape=(5, 6, c_in))
    results = []
    for fn in (conv, lambda x: _official_conv(x, conv.kernel, conv.edge) +
               conv.bias):
      with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
        loss = tf.reduce_sum(tf.sin(y))
      results.append([y] + tape.gradient(loss, [x, conv.kernel, conv.edge]))
    for ours, reference in zip(*results):
      self.assertAllClose(ours, reference, rtol=1e-10, atol=1e-10)
    self.assertGreater(float(tf.reduce_max(tf.abs(
        conv(x) - conv_without_edge(conv, x)))), 0.01)

  @parameterized.parameters((2, 6), (8, 4))  # patches in; taps on output
  def test_zero_conv_equals_the_reference(self, c_in, c_out):
    conv = networks.ZeroConv2D(c_in, c_out, dtype=tf.float64,
                               edge_padding=True)
    self.assertAllEqual(conv.edge, tf.zeros([9, c_out], tf.float64))
    rng = np.random.default_rng(2)
    for v in conv.trainable_variables:
      v.assign(rng.normal(0.0, 0.2, v.shape))
    x = _images(2, shape=(4, 6, c_in))
    reference = (_official_conv(x, conv.kernel, conv.edge) + conv.bias) * (
        tf.exp(3.0 * conv.log_scale))
    self.assertAllClose(conv(x), reference, rtol=1e-10, atol=1e-10)
    pixels = tf.reshape(x, [-1, c_in])
    self.assertAllClose(conv.on_pixels(pixels, like=x), reference,
                        rtol=1e-10, atol=1e-10)

  def test_edge_padding_needs_a_bool_and_a_3x3_kernel(self):
    with self.assertRaisesRegex(ValueError, 'edge_padding must be True or'):
      networks.Conv2D(2, 4, 3, edge_padding=1)
    with self.assertRaisesRegex(ValueError, 'needs a 3x3 kernel'):
      networks.Conv2D(2, 4, 1, edge_padding=True)


def conv_without_edge(conv, x):
  return networks.conv_as_matmul(x, conv.kernel) + conv.bias
