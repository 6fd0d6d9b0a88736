"""Tests of SplitPrior, the learned conditional prior of the split channels."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from glow_tf.bijectors import SplitPrior
from tests import bijector_checks

tfd = tfp.distributions


def _images(shape, seed=0, dtype=tf.float64):
  return tf.random.stateless_normal(shape, seed=[seed, 5], dtype=dtype)


def _prior_of(split, kept):
  """The prior's mean and log-scale, by `tf.nn.conv2d` (the reference)."""
  conv = split.conditioner
  h = tf.nn.conv2d(kept, conv.kernel, 1, 'SAME') + conv.bias
  h = h * tf.exp(3.0 * conv.log_scale)
  return tf.split(h, 2, axis=-1)


class SplitPriorTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(
      dict(num_channels=4, dtype=tf.float64, batch_shape=[2]),
      # Odd: 2 channels stay, 3 leave.
      dict(num_channels=5, dtype=tf.float64, batch_shape=[3, 2]),
      dict(num_channels=4, dtype=tf.float32, batch_shape=[2]),
  )
  def test_bijector_checks(self, num_channels, dtype, batch_shape):
    split = SplitPrior(num_channels, dtype=dtype)
    bijector_checks.check_bijector(
        self, split, [2, 2, num_channels], dtype=dtype,
        batch_shape=batch_shape, num_trainable=3)

  def test_starts_as_the_identity(self):
    split = SplitPrior(4, dtype=tf.float64)
    x = _images([2, 3, 3, 4])
    self.assertAllEqual(split.inverse(x), x)
    self.assertAllEqual(split.inverse_log_det_jacobian(x, event_ndims=3),
                        [0., 0.])

  @parameterized.parameters(4, 5)
  def test_is_the_papers_conditional_gaussian(self, num_channels):
    split = SplitPrior(num_channels, dtype=tf.float64)
    bijector_checks.perturb_variables(split, seed=1)
    x = _images([3, 4, 4, num_channels], seed=2)
    keep = num_channels // 2
    self.assertEqual(split.kept_channels, keep)
    kept, leaving = x[..., :keep], x[..., keep:]
    mean, log_scale = _prior_of(split, kept)
    self.assertGreater(float(tf.reduce_max(tf.abs(log_scale))), 0.1)
    out, ildj = split.inverse_and_log_det(x, event_ndims=3)
    # The kept channels pass; the others are standardised by the prior.
    self.assertAllClose(out[..., :keep], kept, atol=0)
    self.assertAllClose(out[..., keep:], (leaving - mean) / tf.exp(log_scale),
                        atol=1e-12)
    self.assertAllClose(ildj, -tf.reduce_sum(log_scale, [1, 2, 3]),
                        atol=1e-12)
    # log N(eps; 0, 1) + ildj is the log-density of the prior N(mean, scale).
    standard = tfd.Normal(np.float64(0.), 1.)
    prior = tfd.Normal(mean, tf.exp(log_scale))
    self.assertAllClose(
        tf.reduce_sum(standard.log_prob(out[..., keep:]), [1, 2, 3]) + ildj,
        tf.reduce_sum(prior.log_prob(leaving), [1, 2, 3]), atol=1e-10)
    # A temperature T on eps scales the prior's standard deviation by T.
    z = tf.concat([kept, 0.5 * out[..., keep:]], axis=-1)
    self.assertAllClose(split.forward(z)[..., keep:] - mean,
                        0.5 * (leaving - mean), atol=1e-12)

  @parameterized.named_parameters(
      ('channels', [2, 4, 4, 6], r'expected 4 channels'),
      ('rank', [4, 4], r'rank >= 3'))
  def test_bad_input(self, shape, message):
    bijector_checks.check_rejects_input(
        self, SplitPrior(4, dtype=tf.float64), tf.zeros(shape, tf.float64),
        message)

  @parameterized.parameters(
      (dict(num_channels=1), r'`num_channels` must be >= 2 to split, got 1'),
      (dict(num_channels=0), r'`num_channels` must be a positive integer'),
      (dict(num_channels=4, dtype=tf.int32), r'`dtype` must be a float'))
  def test_bad_arguments(self, kwargs, message):
    with self.assertRaisesRegex(ValueError, message):
      SplitPrior(**kwargs)


def _contexts(shape, seed=0):
  return tf.random.stateless_normal(shape, seed=[seed, 19], dtype=tf.float64)


class ConditionalSplitPriorTest(tf.test.TestCase, parameterized.TestCase):
  """With `context_channels`, the prior's convolution reads `[context, x_a]`."""

  @parameterized.parameters(
      dict(num_channels=4, batch_shape=[2]),
      dict(num_channels=5, batch_shape=[3, 2]))
  def test_bijector_checks(self, num_channels, batch_shape):
    split = SplitPrior(num_channels, dtype=tf.float64, context_channels=3)
    self.assertEqual(split.context_channels, 3)
    bijector_checks.check_bijector(
        self, split, [2, 2, num_channels], batch_shape=batch_shape,
        num_trainable=3,
        bijector_kwargs={'context': _contexts([*batch_shape, 2, 2, 3])})

  def test_is_the_conditional_gaussian_of_context_and_kept_channels(self):
    split = SplitPrior(5, dtype=tf.float64, context_channels=3)
    self.assertEqual(split.conditioner.kernel.shape, [3, 3, 3 + 2, 6])
    bijector_checks.perturb_variables(split, seed=1)
    x, context = _images([3, 4, 4, 5], seed=2), _contexts([3, 4, 4, 3])
    kept, leaving = x[..., :2], x[..., 2:]
    mean, log_scale = _prior_of(split, tf.concat([context, kept], axis=-1))
    self.assertGreater(float(tf.reduce_max(tf.abs(log_scale))), 0.1)
    out, ildj = split.inverse_and_log_det(x, event_ndims=3, context=context)
    self.assertAllClose(out[..., :2], kept, atol=0)
    standard = tfd.Normal(np.float64(0.), 1.)
    prior = tfd.Normal(mean, tf.exp(log_scale))
    self.assertAllClose(
        tf.reduce_sum(standard.log_prob(out[..., 2:]), [1, 2, 3]) + ildj,
        tf.reduce_sum(prior.log_prob(leaving), [1, 2, 3]), atol=1e-10)
    # The context matters (TFP's cache must not answer for another one).
    other = split.inverse(x, context=-context)
    self.assertGreater(float(tf.reduce_max(tf.abs(other - out))), 1e-2)
    self.assertAllClose(split.inverse(x, context=context), out, atol=1e-12)

  @parameterized.named_parameters(
      ('missing', None, r'split_prior: this bijector is conditional '
       r'\(context_channels=3\): pass `context`'),
      ('channels', ([2, 2, 2, 4], tf.float64),
       r'`context` must have shape \(2, 2, 2, 3\).*got shape \(2, 2, 2, 4\)'),
      ('batch', ([1, 2, 2, 3], tf.float64),
       r'`context` must have shape \(2, 2, 2, 3\).*got shape \(1, 2, 2, 3\)'),
      ('dtype', ([2, 2, 2, 3], tf.float32),
       r'`context` must have dtype float64 .*got float32'))
  def test_bad_context(self, context, message):
    split = SplitPrior(4, dtype=tf.float64, context_channels=3)
    if context is not None:
      context = tf.zeros(*context)
    for call in (split.inverse, split.forward, split.inverse_and_log_det):
      with self.assertRaisesRegex(ValueError, message):
        call(_images([2, 2, 2, 4]), context=context)
    with self.assertRaisesRegex(ValueError, r'unconditional.*`context`'):
      SplitPrior(4, dtype=tf.float64).inverse(
          _images([2, 2, 2, 4]), context=tf.zeros([2, 2, 2, 3], tf.float64))


if __name__ == '__main__':
  tf.test.main()
