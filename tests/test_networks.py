"""Tests of glow_tf.networks: each layer computes its definition, on every kernels backend.

The definitions are written out here with `tf.nn.conv2d` (edge padding as
the official code does it), so each backend is checked against them, and
hence against the others, with gradients. No timing is asserted.
"""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from glow_tf import networks
from glow_tf.kernels import fast

_KERNELS = ('fast', 'matmul', 'reference')


def _images(n, seed=2, shape=(8, 8, 2)):
  return tf.random.stateless_uniform([n, *shape], seed=[1, seed],
                                     dtype=tf.float64) - 0.5


def _official_conv(x, kernel, edge=None):
  """The reference code's 'SAME' conv, with edge bias when `edge` is given.

  Pads `x` with zeros, adds a channel that is 1 in the padding and 0
  inside, and runs a 'VALID' convolution whose kernel has that channel's
  weights (`edge`, `[9, Cout]`, taps in kernel order) as its last input.
  """
  if edge is None:
    return tf.nn.conv2d(x, kernel, 1, 'SAME')
  padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
  inside = tf.pad(tf.zeros_like(x[..., :1]), [[0, 0], [1, 1], [1, 1], [0, 0]],
                  constant_values=1.0)
  wide = tf.concat([padded, inside], axis=-1)
  full = tf.concat([kernel, tf.reshape(edge, [3, 3, 1, -1])], axis=2)
  return tf.nn.conv2d(wide, full, 1, 'VALID')


def _paper_network(net, x, factor=1.0):
  """conv -> ActNorm -> ReLU -> conv1x1 -> ActNorm -> ReLU -> zero conv."""
  def act_norm(h, norm):
    return (h + norm.bias) * tf.exp(factor * norm.log_scale)

  h = tf.nn.relu(act_norm(_official_conv(x, net.conv_in.kernel,
                                         net.conv_in.edge), net.norm_in))
  h = tf.nn.conv2d(h, net.conv_hidden.kernel, 1, 'SAME')
  h = tf.nn.relu(act_norm(h, net.norm_hidden))
  out = net.conv_out
  h = _official_conv(h, out.kernel, out.edge) + out.bias
  return h * tf.exp(3.0 * out.log_scale)


def _perturb(module, seed=0, scale=0.1):
  rng = np.random.default_rng(seed)
  for v in module.trainable_variables:
    v.assign(v + rng.normal(0.0, scale, v.shape))


def _values_and_gradients(fns, x, variables):
  results = []
  for fn in fns:
    with tf.GradientTape() as tape:
      tape.watch(x)
      y = fn(x)
      loss = tf.reduce_sum(tf.sin(y))
    results.append([y] + tape.gradient(loss, [x] + list(variables)))
  return results


class LayersTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.product(kernels=_KERNELS, shape=[(2, 6, 3), (6, 2, 3),
                                                 (4, 5, 1)],
                         edge_padding=[False, True])
  def test_conv2d_is_its_definition_with_gradients(self, kernels, shape,
                                                    edge_padding):
    c_in, c_out, size = shape
    if edge_padding and size != 3:
      return
    conv = networks.Conv2D(c_in, c_out, size, seed=1, dtype=tf.float64,
                           edge_padding=edge_padding, kernels=kernels)
    _perturb(conv)
    x = _images(3, shape=(5, 6, c_in))
    results = _values_and_gradients(
        [conv, lambda x: _official_conv(x, conv.kernel, conv.edge) + conv.bias],
        x, conv.trainable_variables)
    for ours, reference in zip(*results):
      self.assertAllClose(ours, reference, rtol=1e-10, atol=1e-10)
    if edge_padding:  # the edge weights matter
      self.assertGreater(float(tf.reduce_max(tf.abs(
          conv(x) - _official_conv(x, conv.kernel) - conv.bias))), 0.01)

  @parameterized.product(kernels=_KERNELS, channels=[(2, 6), (8, 4)],
                         edge_padding=[False, True])
  def test_zero_conv_starts_at_zero_and_is_its_definition(
      self, kernels, channels, edge_padding):
    c_in, c_out = channels
    conv = networks.ZeroConv2D(c_in, c_out, dtype=tf.float64,
                               edge_padding=edge_padding, kernels=kernels)
    x = _images(2, shape=(4, 6, c_in))
    self.assertAllEqual(conv(x), tf.zeros([2, 4, 6, c_out], tf.float64))
    _perturb(conv, seed=2, scale=0.2)
    reference = (_official_conv(x, conv.kernel, conv.edge) + conv.bias) * (
        tf.exp(3.0 * conv.log_scale))
    self.assertAllClose(conv(x), reference, rtol=1e-10, atol=1e-10)

  # (in, out, hidden): patches in and taps on the output (the usual shape);
  # more inputs than hidden channels (taps on the input conv's output); more
  # outputs than hidden channels (the output conv as patches); with edge
  # padding; with the official code's ActNorm log-scale factor.
  @parameterized.product(
      kernels=_KERNELS,
      case=[(3, 6, 16, False, 1.0), (6, 2, 4, True, 1.0),
            (6, 12, 4, False, 1.0), (2, 12, 4, True, 3.0),
            (3, 6, 16, True, 3.0)])
  def test_coupling_network_is_the_papers_with_gradients(self, kernels, case):
    c_in, c_out, hidden, edge_padding, factor = case
    net = networks.CouplingNetwork(c_in, c_out, hidden_channels=hidden,
                                   seed=0, dtype=tf.float64,
                                   edge_padding=edge_padding,
                                   act_norm_log_scale_factor=factor,
                                   kernels=kernels)
    # 9 variables, and the two convolutions' edge weights.
    self.assertLen(net.trainable_variables, 11 if edge_padding else 9)
    x = tf.random.stateless_normal([4, 6, 6, c_in], seed=[3, 1],
                                   dtype=tf.float64)
    net.initialize(x)
    _perturb(net)
    results = _values_and_gradients(
        [net, lambda x: _paper_network(net, x, factor)], x,
        net.trainable_variables)
    for ours, reference in zip(*results):
      self.assertAllClose(ours, reference, rtol=1e-10, atol=1e-10)
    self.assertGreater(float(tf.reduce_max(tf.abs(results[0][0]))), 0.1)

  def test_zero_dense_starts_at_zero_and_is_its_definition(self):
    dense = networks.ZeroDense(4, 3, dtype=tf.float64)
    x = tf.random.stateless_normal([2, 5, 4], [1, 41], dtype=tf.float64)
    self.assertAllEqual(dense(x), np.zeros([2, 5, 3]))
    self.assertLen(dense.trainable_variables, 3)
    rng = np.random.default_rng(0)
    for variable in dense.trainable_variables:
      variable.assign(rng.normal(size=variable.shape))
    expected = (np.einsum('bni,io->bno', x, dense.kernel) +
                dense.bias.numpy()) * np.exp(3.0 * dense.log_scale.numpy())
    self.assertAllClose(dense(x), expected, atol=1e-12)
    with tf.GradientTape() as tape:
      loss = tf.reduce_sum(tf.sin(dense(x)))
    for variable, grad in zip(dense.trainable_variables,
                              tape.gradient(loss, dense.trainable_variables)):
      self.assertGreater(float(tf.reduce_max(tf.abs(grad))), 0, variable.name)

  def test_initialize_normalises_the_hidden_layers(self):
    net = networks.CouplingNetwork(2, 4, hidden_channels=32, seed=0,
                                   dtype=tf.float64)
    x = _images(16, shape=(6, 6, 2))
    net.initialize(x)
    h = net.norm_in(net.conv_in(x))
    self.assertAllClose(tf.reduce_mean(h, [0, 1, 2]), np.zeros(32), atol=1e-8)
    self.assertAllClose(tf.math.reduce_std(h, [0, 1, 2]), np.ones(32),
                        atol=1e-4)
    before = [v.numpy() for v in net.variables]
    net.initialize(x + 1.0)  # once only
    for a, b in zip(before, net.variables):
      self.assertAllEqual(a, b)

  def test_edge_padding_needs_a_bool_and_a_3x3_kernel(self):
    with self.assertRaisesRegex(ValueError, 'edge_padding must be True or'):
      networks.Conv2D(2, 4, 3, edge_padding=1)
    with self.assertRaisesRegex(ValueError, 'needs a 3x3 kernel'):
      networks.Conv2D(2, 4, 1, edge_padding=True)

  def test_bad_kernels(self):
    with self.assertRaisesRegex(ValueError, r"`kernels` must be one of "
                                r"\['fast', 'matmul', 'reference'\], got 'gpu'"):
      networks.Conv2D(2, 4, kernels='gpu')


class MixedPrecisionTest(tf.test.TestCase, parameterized.TestCase):
  """`compute_dtype='bfloat16'`: the same network, to bfloat16's precision."""

  # (in, out, hidden) of the three tap layouts, with hidden layers wide
  # enough that a rounding-switched ReLU is one of many.
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
      net.initialize(x)
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
      y = fast._mixed_bias_relu(h, bias)  # pylint: disable=protected-access
    self.assertEqual(y.dtype, tf.bfloat16)
    self.assertAllEqual(y[0], [1.5, 0.0, 2.0])
    self.assertAllEqual(tape.gradient(y, bias), [20_000.0, 0.0, 20_000.0])

  def test_bad_compute_dtypes(self):
    with self.assertRaisesRegex(ValueError, "compute_dtype.*'bfloat16'"):
      networks.CouplingNetwork(2, 4, 8, compute_dtype='float16')
    with self.assertRaisesRegex(ValueError, 'needs float32 variables'):
      networks.CouplingNetwork(2, 4, 8, dtype=tf.float64,
                               compute_dtype='bfloat16')
    with self.assertRaisesRegex(ValueError, "needs the 'fast' or 'matmul'"):
      networks.CouplingNetwork(2, 4, 8, compute_dtype='bfloat16',
                               kernels='reference')


if __name__ == '__main__':
  tf.test.main()
