"""Tests of the chain walked once (glow_tf.bijectors.chain)."""

from unittest import mock

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from tensorflow_probability import bijectors as tfb
from tensorflow_probability import distributions as tfd

from glow_tf.bijectors import ActNorm
from glow_tf.bijectors import AffineCoupling
from glow_tf.bijectors import flow_step
from glow_tf.bijectors import forward_and_log_det
from glow_tf.bijectors import GlowBijector
from glow_tf.bijectors import initialize
from glow_tf.bijectors import inverse_and_log_det
from tests import bijector_checks
from tests.bijectors.test_flow_step import _images
from tests.bijectors.test_flow_step import _PERMUTATION_VARIABLES
from tests.bijectors.test_flow_step import _step

_CONTEXT_CHANNELS = 3


def _conditional_steps(num_steps=2):
  """A level: `tfb.Chain` of conditional flow steps named `step_<i>`."""
  return tfb.Chain([
      flow_step(4, hidden_channels=8, seed=i, dtype=tf.float64,
                context_channels=_CONTEXT_CHANNELS, name=f'step_{i}')
      for i in range(num_steps)], name='level')


def _tfp_route(chain, context):
  """TFP's keywords of a nested chain: one dict per level of nesting.

  `tfb.Composition` gives each part `kwargs.get(part.name, {})`, so a
  coupling inside a step inside a level takes
  `{step_name: {'affine_coupling': {'context': c}}}`.
  """
  return {step.name: {coupling.name: {'context': context}}
          for step in chain.bijectors
          for coupling in step.bijectors if isinstance(coupling,
                                                       AffineCoupling)}


def _recording_calls(calls):
  """Patches GlowBijector's one-pass methods to record each call's keywords."""
  originals = {name: getattr(GlowBijector, name)
               for name in ('inverse_and_log_det', 'forward_and_log_det')}

  def recording(original):
    def call(bijector, *args, **kwargs):
      calls.append((type(bijector).__name__, sorted(kwargs)))
      return original(bijector, *args, **kwargs)
    return call

  return [mock.patch.object(GlowBijector, name, recording(original))
          for name, original in originals.items()]


class ChainWalkTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.product(permutation=('lu_conv', 'conv'),
                         in_graph=(False, True))
  def test_one_pass_folds_act_norm_into_the_conv(self, permutation, in_graph):
    # The one-pass walk applies ActNorm and the 1x1 conv as one matmul; TFP's
    # parts, applied one after the other, must give the same outputs,
    # log-dets and gradients (every variable and the input), both ways.
    step = _step(permutation)
    x = _images([3, 4, 4, 4])
    initialize(step, x)
    bijector_checks.perturb_variables(step, seed=5)
    act_norm, conv, coupling = step.bijectors
    z = tf.random.stateless_normal([3, 4, 4, 4], [2, 7], dtype=tf.float64)
    weights = tf.random.stateless_normal([3, 4, 4, 4], [3, 7], dtype=tf.float64)

    def by_parts(x, z):
      h = act_norm.inverse(x)
      y = conv.inverse(h)
      latent, ildj = coupling.inverse_and_log_det(y, 3)
      ildj += (act_norm.inverse_log_det_jacobian(x, 3) +
               conv.inverse_log_det_jacobian(h, 3))
      u, fldj = coupling.forward_and_log_det(z, 3)
      v = conv.forward(u)
      image = act_norm.forward(v)
      fldj += (conv.forward_log_det_jacobian(u, 3) +
               act_norm.forward_log_det_jacobian(v, 3))
      return latent, ildj, image, fldj

    def one_pass(x, z):
      # ActNorm's own hooks must not run: the fold replaces them.
      with mock.patch.object(ActNorm, '_inverse', side_effect=AssertionError), \
           mock.patch.object(ActNorm, '_forward', side_effect=AssertionError):
        return (*inverse_and_log_det(step, x, 3),
                *forward_and_log_det(step, z, 3))

    def with_gradients(fn, x, z):
      with tf.GradientTape() as tape:
        tape.watch([x, z])
        latent, ildj, image, fldj = fn(x, z)
        loss = (tf.reduce_sum(weights * latent) + tf.reduce_sum(ildj) +
                tf.reduce_sum(weights * image) + tf.reduce_sum(fldj))
      return (latent, ildj, image, fldj,
              tape.gradient(loss, [x, z] + list(step.trainable_variables)))

    if in_graph:
      one_pass = tf.function(one_pass)
    expected = with_gradients(by_parts, x, z)
    actual = with_gradients(one_pass, x, z)
    for name, a, e in zip(('latent', 'ildj', 'image', 'fldj'), actual[:4],
                          expected[:4]):
      self.assertAllClose(a, e, rtol=1e-12, atol=1e-12, msg=name)
    self.assertLen(actual[4], 2 + 11 + _PERMUTATION_VARIABLES[permutation][0])
    for a, e in zip(actual[4], expected[4]):
      self.assertIsNotNone(a)
      self.assertGreater(np.max(np.abs(a)), 0)
      self.assertAllClose(a, e, rtol=1e-10, atol=1e-10)

  @parameterized.parameters(0, True, 2.0)
  def test_one_pass_refuses_bad_event_ndims(self, event_ndims):
    step = _step()
    x = _images([2, 4, 4, 4])
    initialize(step, x)
    for one_pass in (inverse_and_log_det, forward_and_log_det):
      with self.assertRaisesRegex(ValueError, 'event_ndims` must be an int'):
        one_pass(step, x, event_ndims)



class ConditionalChainTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.chain = _conditional_steps()
    self.x = _images([3, 4, 4, 4])
    self.z = tf.random.stateless_normal([3, 4, 4, 4], [4, 7], dtype=tf.float64)
    self.context = tf.random.stateless_normal(
        [3, 4, 4, _CONTEXT_CHANNELS], [5, 7], dtype=tf.float64)
    initialize(self.chain, self.x, context=self.context)
    bijector_checks.perturb_variables(self.chain, seed=2)

  def test_the_route_names_every_coupling(self):
    route = _tfp_route(self.chain, self.context)
    self.assertEqual(sorted(route), ['step_0', 'step_1'])
    self.assertEqual([list(v) for v in route.values()],
                     [['affine_coupling']] * 2)

  @parameterized.parameters('fast', 'reference')
  def test_tfps_keywords_equal_the_walk(self, kernels):
    chain, x, z, context = self.chain, self.x, self.z, self.context
    route = _tfp_route(chain, context)
    latent, ildj = inverse_and_log_det(chain, x, 3, kernels=kernels,
                                       context=context)
    image, fldj = forward_and_log_det(chain, z, 3, kernels=kernels,
                                      context=context)
    close = dict(rtol=1e-12, atol=1e-12)
    self.assertAllClose(chain.inverse(x, **route), latent, **close)
    self.assertAllClose(chain.inverse_log_det_jacobian(x, 3, **route), ildj,
                        **close)
    self.assertAllClose(chain.forward(z, **route), image, **close)
    self.assertAllClose(chain.forward_log_det_jacobian(z, 3, **route), fldj,
                        **close)
    self.assertGreater(float(tf.reduce_max(tf.abs(ildj))), 0.1)
    # A TransformedDistribution takes the same route in `bijector_kwargs`.
    distribution = tfd.TransformedDistribution(
        tfd.Sample(tfd.Normal(np.float64(0), 1.), [4, 4, 4]), chain)
    self.assertAllClose(
        distribution.log_prob(x, bijector_kwargs=route),
        tfd.Sample(tfd.Normal(np.float64(0), 1.), [4, 4, 4]).log_prob(latent)
        + ildj, **close)
    # The context matters both ways.
    other = inverse_and_log_det(chain, x, 3, kernels=kernels,
                                context=context[::-1])
    self.assertGreater(float(tf.reduce_max(tf.abs(other[0] - latent))), 1e-2)

  def test_the_walk_gives_the_context_to_the_couplings_only(self):
    calls = []
    patches = _recording_calls(calls)
    for patch in patches:
      patch.start()
    try:
      inverse_and_log_det(self.chain, self.x, 3, kernels='reference',
                          context=self.context)
      forward_and_log_det(self.chain, self.z, 3, kernels='reference',
                          context=self.context)
      initialize(self.chain, self.x, context=self.context)
    finally:
      for patch in patches:
        patch.stop()
    by_part = {}
    for name, keywords in calls:
      by_part.setdefault(name, set()).add(tuple(keywords))
    self.assertEqual(by_part['AffineCoupling'], {('context',)})
    self.assertEqual(by_part['ActNorm'], {()})
    self.assertEqual(by_part['InvertibleConv1x1'], {()})

  def test_the_walk_needs_the_context_of_a_conditional_chain(self):
    with self.assertRaisesRegex(ValueError, r'affine_coupling: this bijector '
                                r'is conditional.*pass `context`'):
      inverse_and_log_det(self.chain, self.x, 3)
    with self.assertRaisesRegex(ValueError, r'`context` must have shape'):
      forward_and_log_det(self.chain, self.z, 3, context=self.context[:2])

  def test_bijector_checks_through_the_walk(self):
    # check_bijector's one-pass comparison walks the chain with
    # `context=c`; TFP's own calls get the nested route.
    chain = _conditional_steps(num_steps=1)
    initialize(chain, self.x, context=self.context)
    context = self.context[:2]
    route = _tfp_route(chain, context)

    class _Routed(tfb.Bijector):
      """The chain called TFP's way; `inverse_and_log_det` walks it."""

      def __init__(self):
        super().__init__(forward_min_event_ndims=3, dtype=tf.float64,
                         name='routed')
        self.chain = chain

      def _forward(self, z):
        return chain.forward(z, **route)

      def _inverse(self, x):
        return chain.inverse(x, **route)

      def _forward_log_det_jacobian(self, z):
        return chain.forward_log_det_jacobian(z, 3, **route)

      def _inverse_log_det_jacobian(self, x):
        return chain.inverse_log_det_jacobian(x, 3, **route)

      def inverse_and_log_det(self, x, event_ndims):
        return inverse_and_log_det(chain, x, event_ndims, context=context)

      def forward_and_log_det(self, z, event_ndims):
        return forward_and_log_det(chain, z, event_ndims, context=context)

    bijector_checks.check_bijector(self, _Routed(), [4, 4, 4], graph=False,
                                   num_trainable=14)


if __name__ == '__main__':
  tf.test.main()
