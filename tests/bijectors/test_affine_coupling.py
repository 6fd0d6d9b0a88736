"""Tests of AffineCoupling (affine and additive) and its coupling network."""

import contextlib
from unittest import mock

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from glow_tf.bijectors import AffineCoupling
from glow_tf.bijectors.affine_coupling import forward_half
from glow_tf.bijectors.affine_coupling import inverse_half
from glow_tf.networks import CouplingNetwork
from tests import bijector_checks

_HIDDEN = 8


def _images(shape, seed=0, dtype=tf.float64):
  return tf.random.stateless_normal(shape, seed=[seed, 3], dtype=dtype)


def _coupling(num_channels=4, additive=False, dtype=tf.float64, seed=0):
  return AffineCoupling(num_channels, hidden_channels=_HIDDEN,
                        additive=additive, seed=seed, dtype=dtype)


def _expected_parameter_count(num_channels, hidden, additive):
  conditioning = num_channels // 2
  transformed = num_channels - conditioning
  out = transformed if additive else 2 * transformed
  return (3 * 3 * conditioning * hidden + 2 * hidden  # conv_in, norm_in
          + hidden * hidden + 2 * hidden              # conv_hidden, norm
          + 3 * 3 * hidden * out + 2 * out)           # zero conv + log_scale


class _CountCalls:
  """Counts runs of NN while patched in: `CouplingNetwork.__call__`s and
  `then` (the sampling direction's entry)."""

  _METHODS = ('__call__', 'then')

  def __init__(self):
    self.count = 0
    self._originals = {name: getattr(CouplingNetwork, name)
                       for name in self._METHODS}

  @contextlib.contextmanager
  def patch(self):
    def counting(original):
      def call(network, *args, **kwargs):
        self.count += 1
        return original(network, *args, **kwargs)
      return call

    with contextlib.ExitStack() as stack:
      for name, original in self._originals.items():
        stack.enter_context(
            mock.patch.object(CouplingNetwork, name, counting(original)))
      yield


class AffineCouplingTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.product(
      additive=[False, True],
      case=[dict(dtype=tf.float64, batch_shape=[2], event_shape=[4, 4, 4]),
            dict(dtype=tf.float32, batch_shape=[2], event_shape=[4, 4, 4]),
            dict(dtype=tf.float64, batch_shape=[3, 2], event_shape=[4, 4, 4]),
            # Odd channel count: 2 pass through, 3 are transformed.
            dict(dtype=tf.float64, batch_shape=[2], event_shape=[2, 4, 5])])
  def test_bijector_checks(self, additive, case):
    dtype, event_shape = case['dtype'], case['event_shape']
    coupling = _coupling(event_shape[-1], additive, dtype)
    coupling.initialize(_images([4, *event_shape], dtype=dtype))
    bijector_checks.check_bijector(
        self, coupling, event_shape, dtype=dtype,
        batch_shape=case['batch_shape'], num_trainable=9)

  @parameterized.parameters(False, True)
  def test_identity_at_init(self, additive):
    coupling = _coupling(additive=additive)
    x = _images([2, 4, 4, 4])
    coupling.initialize(x)  # Only the hidden ActNorms: still the identity.
    for fresh in (x, _images([2, 4, 4, 4], seed=1)):
      self.assertAllEqual(coupling.inverse(fresh), fresh)
      self.assertAllEqual(coupling.forward(fresh), fresh)
      self.assertAllEqual(
          coupling.inverse_log_det_jacobian(fresh, event_ndims=3), [0., 0.])
    bijector_checks.perturb_variables(coupling)
    self.assertNotAllClose(coupling.inverse(x), x)

  def test_initialize_normalizes_hidden_activations(self):
    coupling = _coupling(num_channels=6)
    x = _images([8, 4, 4, 6]) * 3.0 + 1.0
    returned = coupling.initialize(x)
    network = coupling.network
    self.assertTrue(network.norm_in.initialized.numpy())
    self.assertTrue(network.norm_hidden.initialized.numpy())
    self.assertAllClose(returned, coupling.inverse(tf.identity(x)))
    # Unit std up to ActNorm's epsilon: std / (std + 1e-6), std ~ 0.1 here.
    h = network.norm_in(network.conv_in(x[..., :3]))
    self.assertAllClose(np.mean(h, axis=(0, 1, 2)), np.zeros(_HIDDEN),
                        atol=1e-6)
    self.assertAllClose(np.std(h, axis=(0, 1, 2)), np.ones(_HIDDEN),
                        atol=1e-4)
    h = network.norm_hidden(network.conv_hidden(tf.nn.relu(h)))
    self.assertAllClose(np.mean(h, axis=(0, 1, 2)), np.zeros(_HIDDEN),
                        atol=1e-6)
    self.assertAllClose(np.std(h, axis=(0, 1, 2)), np.ones(_HIDDEN),
                        atol=1e-4)

  @parameterized.parameters(False, True)
  def test_reference_formula(self, additive):
    coupling = _coupling(num_channels=5, additive=additive)
    coupling.initialize(_images([4, 4, 4, 5]))
    bijector_checks.perturb_variables(coupling, seed=3, scale=0.6)
    x = _images([2, 4, 4, 5], seed=5)
    x_a, x_b = x[..., :2], x[..., 2:]
    h = coupling.network(x_a).numpy()
    if additive:
      self.assertEqual(h.shape, (2, 4, 4, 3))
      z_b, ildj = x_b + h, np.zeros(2)
    else:
      self.assertEqual(h.shape, (2, 4, 4, 6))
      shift, raw = h[..., :3], h[..., 3:]
      sigmoid = lambda t: 1 / (1 + np.exp(-t))
      scale = sigmoid(raw + 2.0) / sigmoid(2.0)  # 1 when raw = 0.
      z_b, ildj = (x_b + shift) * scale, np.log(scale).sum(axis=(1, 2, 3))
      self.assertGreater(np.max(np.abs(np.log(scale))), 0.1)  # Not 1.
    self.assertAllClose(coupling.inverse(x),
                        np.concatenate([x_a, z_b], axis=-1), atol=1e-12)
    self.assertAllClose(coupling.inverse_log_det_jacobian(x, event_ndims=3),
                        ildj, atol=1e-12)

  @parameterized.parameters(False, True)
  def test_network_runs_once_per_output_and_log_det(self, additive):
    coupling = _coupling(additive=additive)
    coupling.initialize(_images([4, 4, 4, 4]))
    bijector_checks.perturb_variables(coupling)
    x = _images([2, 4, 4, 4], seed=1)
    counter = _CountCalls()
    with counter.patch():
      z, ildj = coupling.inverse_and_log_det(x, event_ndims=3)
      self.assertEqual(counter.count, 1)
      x_again, fldj = coupling.forward_and_log_det(z, event_ndims=3)
      self.assertEqual(counter.count, 2)
      # The same in a tf.function.
      in_graph = tf.function(coupling.inverse_and_log_det)(tf.identity(x), 3)
      self.assertEqual(counter.count, 3)
      # TFP's methods run NN once each; forward(z) of the z that inverse
      # has just computed is a hit of TFP's cache.
      z_tfp = coupling.inverse(x)
      self.assertIs(coupling.forward(z_tfp), x)
      ildj_tfp = coupling.inverse_log_det_jacobian(x, event_ndims=3)
      self.assertEqual(counter.count, 5)
    self.assertAllClose(z, z_tfp, atol=1e-12)
    self.assertAllClose(ildj, ildj_tfp, atol=1e-12)
    self.assertAllClose(in_graph, (z, ildj), atol=1e-12)
    self.assertAllClose(x_again, x, atol=1e-12)
    self.assertAllClose(fldj, -ildj, atol=1e-12)
    if not additive:
      self.assertGreater(np.max(np.abs(ildj)), 0.1)
    # A larger event sums the log-det over the extra axis.
    z4, ildj4 = coupling.inverse_and_log_det(x, event_ndims=4)
    self.assertAllClose(z4, z, atol=1e-12)
    self.assertAllClose(ildj4, np.sum(ildj), atol=1e-12)
    with self.assertRaisesRegex(ValueError, r'`event_ndims` must be an int '
                                r'>= 3, got 2'):
      coupling.inverse_and_log_det(x, event_ndims=2)

  def test_formulas_compose_to_the_coupling(self):
    coupling = _coupling(num_channels=5)
    coupling.initialize(_images([4, 4, 4, 5]))
    bijector_checks.perturb_variables(coupling, seed=2)
    x = _images([2, 4, 4, 5], seed=4)
    x_a, x_b = coupling.split(x)
    self.assertEqual((x_a.shape[-1], x_b.shape[-1]), (2, 3))
    h = coupling.network_output(x_a)
    z_b, log_scale = inverse_half(x_b, h)
    self.assertAllClose(tf.concat([x_a, z_b], -1), coupling.inverse(x),
                        atol=1e-12)
    ildj = tf.reduce_sum(log_scale, axis=[-3, -2, -1])
    self.assertAllClose(
        ildj, coupling.inverse_log_det_jacobian(x, event_ndims=3), atol=1e-12)
    # The paper's formula, written out: scale = sigmoid(raw + 2) / sigmoid(2).
    shift, raw = tf.split(h, 2, axis=-1)
    scale = tf.sigmoid(raw + 2.0) / tf.sigmoid(tf.constant(2.0, tf.float64))
    self.assertAllClose(z_b, (x_b + shift) * scale, atol=1e-12)
    x_b_again, raw_again = forward_half(z_b, h)
    self.assertAllClose(x_b_again, x_b, atol=1e-12)
    self.assertAllClose(raw_again, raw, atol=0)
    self.assertGreater(np.max(np.abs(ildj)), 0.1)

  def test_additive_is_volume_preserving(self):
    coupling = _coupling(additive=True)
    coupling.initialize(_images([4, 4, 4, 4]))
    bijector_checks.perturb_variables(coupling)
    x = _images([3, 4, 4, 4], seed=1)
    self.assertNotAllClose(coupling.inverse(x), x)
    self.assertAllEqual(coupling.inverse_log_det_jacobian(x, event_ndims=3),
                        np.zeros(3))
    self.assertAllEqual(coupling.forward_log_det_jacobian(x, event_ndims=3),
                        np.zeros(3))

  # float32: on CPU, TensorFlow's oneDNN Conv2D returns an empty batch
  # unchanged, with its input's channel count. The network's last layer maps
  # 8 channels to 12 (affine, 12 channels) or to 2 (additive, 4 channels).
  # (4, False): the fused forward pass (8 hidden > 4 outputs) on empty and
  # unknown batches.
  @parameterized.parameters((12, False), (4, True), (4, False))
  def test_empty_batch(self, num_channels, additive):
    coupling = _coupling(num_channels, additive, dtype=tf.float32)
    bijector_checks.perturb_variables(coupling)
    x = _images([3, 4, 4, num_channels], dtype=tf.float32)
    for empty in (x[:0], tf.zeros([2, 0, 4, 4, num_channels])):
      self.assertEqual(coupling.inverse(empty).shape, empty.shape)
      self.assertEqual(coupling.forward(empty).shape, empty.shape)
      self.assertEqual(
          coupling.inverse_log_det_jacobian(empty, event_ndims=3).shape,
          empty.shape[:-3])
    unknown = tf.function(coupling.inverse, input_signature=[
        tf.TensorSpec([None, 4, 4, num_channels], tf.float32)])
    self.assertEqual(unknown(x[:0]).shape, [0, 4, 4, num_channels])
    self.assertAllClose(unknown(x), coupling.inverse(x), rtol=1e-6)
    unknown_forward = tf.function(
        lambda z: coupling.forward_and_log_det(z, event_ndims=3),
        input_signature=[tf.TensorSpec([None, 4, 4, num_channels])])
    for z in (x, x[:0]):
      x_back, fldj = unknown_forward(z)
      self.assertAllClose(x_back, coupling.forward(z), rtol=1e-6, atol=1e-6)
      self.assertAllClose(fldj, coupling.forward_log_det_jacobian(
          z, event_ndims=3), rtol=1e-6, atol=1e-6)
      self.assertEqual(fldj.shape, z.shape[:1])
    self.assertAllEqual(coupling.inverse(tf.concat([x, x[:0]], 0)),
                        coupling.inverse(x))

  @parameterized.parameters((4, False), (4, True), (5, False), (5, True))
  def test_variables_are_tracked(self, num_channels, additive):
    coupling = _coupling(num_channels, additive)
    self.assertLen(coupling.trainable_variables, 9)
    self.assertLen(coupling.variables, 11)  # + two ActNorm flags.
    count = sum(int(np.prod(v.shape)) for v in coupling.trainable_variables)
    self.assertEqual(
        count, _expected_parameter_count(num_channels, _HIDDEN, additive))
    bijector_checks.check_checkpoint_round_trip(self, coupling)

  @parameterized.named_parameters(
      ('rank', [4, 4], r'expected a tensor of rank >= 3 shaped \[\.\.\., H, '
       r'W, C\]'),
      ('channels', [2, 4, 4, 6], r'expected 4 channels .*got shape '
       r'\(2, 4, 4, 6\)'))
  def test_bad_input(self, shape, message):
    bijector_checks.check_rejects_input(self, _coupling(),
                                        tf.zeros(shape, tf.float64), message)

  @parameterized.named_parameters(
      ('one_channel', dict(num_channels=1),
       r'`num_channels` must be >= 2 for a coupling, got 1'),
      ('additive', dict(num_channels=4, additive='yes'),
       r"`additive` must be True or False, got 'yes'"),
      ('hidden', dict(num_channels=4, hidden_channels=0),
       r'`hidden_channels` must be a positive integer, got 0'))
  def test_bad_arguments(self, kwargs, message):
    with self.assertRaisesRegex(ValueError, message):
      AffineCoupling(**kwargs)


def _conditional_coupling(num_channels=4, context_channels=3, additive=False,
                          dtype=tf.float64, seed=0):
  return AffineCoupling(num_channels, hidden_channels=_HIDDEN,
                        additive=additive, seed=seed, dtype=dtype,
                        context_channels=context_channels)


def _contexts(shape, seed=0, dtype=tf.float64):
  return tf.random.stateless_normal(shape, seed=[seed, 17], dtype=dtype)


class ConditionalCouplingTest(tf.test.TestCase, parameterized.TestCase):
  """With `context_channels`, NN reads `[context, x_a]`; a bijection of x."""

  @parameterized.parameters((False, [3, 2]), (True, [2]))
  def test_bijector_checks(self, additive, batch_shape):
    coupling = _conditional_coupling(additive=additive)
    self.assertEqual(coupling.context_channels, 3)
    coupling.initialize(_images([4, 4, 4, 4]),
                        context=_contexts([4, 4, 4, 3], seed=1))
    context = _contexts([*batch_shape, 4, 4, 3], seed=2)
    bijector_checks.check_bijector(
        self, coupling, [4, 4, 4], batch_shape=batch_shape, num_trainable=9,
        bijector_kwargs={'context': context})

  @parameterized.parameters(False, True)
  def test_network_reads_the_context_then_the_first_half(self, additive):
    coupling = _conditional_coupling(num_channels=5, additive=additive)
    # conv_in has 3 context + 2 conditioning input channels.
    self.assertEqual(coupling.network.conv_in.kernel.shape[2], 5)
    x, context = _images([2, 4, 4, 5], seed=1), _contexts([2, 4, 4, 3])
    coupling.initialize(x, context=context)
    bijector_checks.perturb_variables(coupling, seed=3, scale=0.6)
    x_a, x_b = x[..., :2], x[..., 2:]
    h = coupling.network(tf.concat([context, x_a], axis=-1))
    self.assertAllClose(coupling.network_output(x_a, context), h, atol=1e-12)
    z_b, log_scale = inverse_half(x_b, h, additive)
    z, ildj = coupling.inverse_and_log_det(x, event_ndims=3, context=context)
    self.assertAllClose(z, tf.concat([x_a, z_b], axis=-1), atol=1e-12)
    self.assertAllClose(
        ildj, np.zeros(2) if additive else
        tf.reduce_sum(log_scale, axis=[1, 2, 3]), atol=1e-12)
    x_again, fldj = coupling.forward_and_log_det(z, event_ndims=3,
                                                 context=context)
    self.assertAllClose(x_again, x, atol=1e-12)
    self.assertAllClose(fldj, -ildj, atol=1e-12)

  def test_the_context_changes_the_map(self):
    coupling = _conditional_coupling()
    x = _images([2, 4, 4, 4], seed=1)
    first, second = _contexts([2, 4, 4, 3]), _contexts([2, 4, 4, 3], seed=1)
    coupling.initialize(x, context=first)
    # Zero-initialised: the identity whatever the context.
    self.assertAllEqual(coupling.inverse(x, context=first), x)
    bijector_checks.perturb_variables(coupling, seed=2)
    # TFP's methods on the same `x`: the cache must not answer for another
    # context.
    for method in (coupling.inverse, coupling.forward):
      a, b = method(x, context=first), method(x, context=second)
      self.assertGreater(float(tf.reduce_max(tf.abs(a - b))), 1e-2)
      self.assertAllClose(a, method(tf.identity(x), context=first),
                          atol=1e-12)
    ildj = [coupling.inverse_log_det_jacobian(x, 3, context=c)
            for c in (first, second)]
    self.assertGreater(float(tf.reduce_max(tf.abs(ildj[0] - ildj[1]))), 1e-2)
    # The context's gradient is the numerical one.
    context = first[:1, :2, :2]
    theoretical, numerical = tf.test.compute_gradient(
        lambda c: coupling.inverse_and_log_det(x[:1, :2, :2], 3,
                                               context=c)[0], [context])
    self.assertGreater(np.max(np.abs(theoretical[0])), 1e-2)
    self.assertAllClose(theoretical[0], numerical[0], atol=1e-6)

  def test_fast_kernels_equal_the_reference_with_a_context(self):
    # Hidden 8 > 4 outputs: the fast sampling direction fuses its tail,
    # which drops the context channels of NN's input.
    couplings = [AffineCoupling(4, hidden_channels=_HIDDEN, seed=1,
                                dtype=tf.float64, context_channels=3,
                                kernels=kernels)
                 for kernels in ('fast', 'matmul', 'reference')]
    x, context = _images([3, 4, 4, 4], seed=2), _contexts([3, 4, 4, 3])
    for coupling in couplings:
      coupling.initialize(x, context=context)
      bijector_checks.perturb_variables(coupling, seed=4)
    expected = couplings[-1]
    for coupling in couplings[:-1]:
      for direction in ('inverse_and_log_det', 'forward_and_log_det'):
        actual = getattr(coupling, direction)(x, 3, context=context)
        reference = getattr(expected, direction)(x, 3, context=context)
        for a, b in zip(actual, reference):
          self.assertAllClose(a, b, rtol=1e-10, atol=1e-10)

  @parameterized.named_parameters(
      ('missing', None, r'affine_coupling: this bijector is conditional '
       r'\(context_channels=3\): pass `context`'),
      ('channels', ([2, 4, 4, 2], tf.float64),
       r'`context` must have shape \(2, 4, 4, 3\).*got shape \(2, 4, 4, 2\)'),
      ('spatial', ([2, 2, 2, 3], tf.float64),
       r'`context` must have shape \(2, 4, 4, 3\).*got shape \(2, 2, 2, 3\)'),
      ('batch', ([3, 4, 4, 3], tf.float64),
       r'`context` must have shape \(2, 4, 4, 3\).*got shape \(3, 4, 4, 3\)'),
      ('dtype', ([2, 4, 4, 3], tf.float32),
       r'`context` must have dtype float64 .*got float32'))
  def test_bad_context(self, context, message):
    coupling = _conditional_coupling()
    x = _images([2, 4, 4, 4])
    if context is not None:
      context = tf.zeros(*context)
    for call in (coupling.inverse, coupling.forward, coupling.initialize,
                 coupling.inverse_and_log_det, coupling.forward_and_log_det):
      with self.assertRaisesRegex(ValueError, message):
        call(x, context=context)

  def test_an_unconditional_coupling_refuses_a_context(self):
    coupling = _coupling()
    x = _images([2, 4, 4, 4])
    for call in (coupling.inverse, coupling.forward,
                 coupling.inverse_and_log_det):
      with self.assertRaisesRegex(
          ValueError, r'unconditional \(context_channels=0\) but got a '
          r'`context`'):
        call(x, context=tf.zeros([2, 4, 4, 3], tf.float64))

  def test_bad_context_channels_argument(self):
    with self.assertRaisesRegex(
        ValueError, '`context_channels` must be a non-negative integer'):
      AffineCoupling(4, context_channels=-1)


if __name__ == '__main__':
  tf.test.main()
