"""Tests of the chain walked once (glow_tf.bijectors.chain)."""

from unittest import mock

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from glow_tf.bijectors import ActNorm
from glow_tf.bijectors import forward_and_log_det
from glow_tf.bijectors import initialize
from glow_tf.bijectors import inverse_and_log_det
from tests import bijector_checks
from tests.bijectors.test_flow_step import _images
from tests.bijectors.test_flow_step import _PERMUTATION_VARIABLES
from tests.bijectors.test_flow_step import _step


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


if __name__ == '__main__':
  tf.test.main()
