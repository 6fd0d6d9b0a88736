"""Tests of LearnedPrior, the (class-conditional) prior of the top latent."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from glow_tf.bijectors import LearnedPrior
from tests import bijector_checks


def _latents(shape, seed=0, dtype=tf.float64):
  return tf.random.stateless_normal(shape, seed=[seed, 9], dtype=dtype)


class LearnedPriorTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(
      dict(dtype=tf.float64, batch_shape=[2]),
      dict(dtype=tf.float64, batch_shape=[3, 2]),
      dict(dtype=tf.float32, batch_shape=[2]),
  )
  def test_bijector_checks(self, dtype, batch_shape):
    prior = LearnedPrior(3, dtype=dtype)
    bijector_checks.check_bijector(self, prior, [2, 2, 3], dtype=dtype,
                                   batch_shape=batch_shape, num_trainable=2)

  @parameterized.parameters(True, False)
  def test_bijector_checks_class_conditional(self, learn):
    prior = LearnedPrior(3, learn=learn, num_classes=4, dtype=tf.float64)
    labels = tf.constant([[3, 0], [1, 3], [0, 2]])
    bijector_checks.check_bijector(
        self, prior, [2, 2, 3], batch_shape=[3, 2],
        num_trainable=4 if learn else 2,
        bijector_kwargs={'labels': labels})

  def test_is_a_per_channel_gaussian(self):
    prior = LearnedPrior(3, num_classes=2, dtype=tf.float64)
    bijector_checks.perturb_variables(prior, seed=4)
    labels = tf.constant([1, 0])
    z = _latents([2, 2, 2, 3], seed=1)
    eps, ildj = prior.inverse_and_log_det(z, labels=labels)
    loc, log_scale = prior.loc.numpy(), prior.log_scale.numpy()
    mean = loc + prior.class_loc.numpy()[[1, 0]]
    scale = np.exp(log_scale + prior.class_log_scale.numpy()[[1, 0]])
    expected = (z.numpy() - mean[:, None, None, :]) / scale[:, None, None, :]
    self.assertAllClose(eps, expected, atol=1e-12)
    # Each of the H * W = 4 pixels contributes -sum(log scale).
    self.assertAllClose(ildj, -4 * np.log(scale).sum(axis=-1), atol=1e-12)
    self.assertGreater(np.max(np.abs(ildj)), 0.1)
    # The labels matter.
    self.assertNotAllClose(prior.inverse(z, labels=labels),
                           prior.inverse(z, labels=tf.constant([0, 1])))

  def test_fixed_prior_is_the_identity(self):
    prior = LearnedPrior(3, learn=False, dtype=tf.float64)
    self.assertEmpty(prior.trainable_variables)
    z = _latents([2, 2, 2, 3])
    eps, ildj = prior.inverse_and_log_det(z)
    self.assertAllEqual(eps, z)
    self.assertAllEqual(ildj, [0., 0.])

  def test_labels_are_checked(self):
    conditional = LearnedPrior(3, num_classes=4, dtype=tf.float64)
    z = _latents([2, 2, 2, 3])
    with self.assertRaisesRegex(ValueError, 'pass `labels`'):
      conditional.inverse(z)
    with self.assertRaisesRegex(ValueError, r'labels` must be in \[0, 4\)'):
      conditional.forward(z, labels=tf.constant([0, 4]))
    with self.assertRaisesRegex(ValueError, 'integers'):
      conditional.inverse(z, labels=tf.constant([0., 1.]))
    with self.assertRaisesRegex(ValueError, 'num_classes=None'):
      LearnedPrior(3, dtype=tf.float64).inverse(z, labels=tf.constant([0, 1]))

  def test_labels_of_any_integer_dtype(self):
    # tf.gather takes int32/int64 only: the others are cast exactly, and a
    # label out of range stays out of range after the cast.
    conditional = LearnedPrior(3, num_classes=4, dtype=tf.float64)
    z = _latents([2, 2, 2, 3])
    expected = conditional.inverse(z, labels=tf.constant([1, 3]))
    for dtype in (tf.uint8, tf.int16, tf.uint32, tf.uint64):
      self.assertAllEqual(
          conditional.inverse(z, labels=tf.constant([1, 3], dtype)), expected)
    with self.assertRaisesRegex(ValueError, r'labels` must be in \[0, 4\)'):
      conditional.inverse(z, labels=tf.constant([1, 2**32], tf.uint64))

  @parameterized.named_parameters(
      ('channels', [2, 2, 2, 4], r'expected 3 channels'),
      ('rank', [2, 3], r'rank >= 3'))
  def test_bad_input(self, shape, message):
    bijector_checks.check_rejects_input(
        self, LearnedPrior(3, dtype=tf.float64), tf.zeros(shape, tf.float64),
        message)


def _contexts(shape, seed=0):
  return tf.random.stateless_normal(shape, seed=[seed, 23], dtype=tf.float64)


class ConditionalLearnedPriorTest(tf.test.TestCase, parameterized.TestCase):
  """With `context_channels`, a convolution of the context adds per pixel."""

  @parameterized.parameters(
      dict(learn=True, num_classes=None, batch_shape=[2]),
      dict(learn=True, num_classes=4, batch_shape=[3, 2]),
      dict(learn=False, num_classes=None, batch_shape=[2]))
  def test_bijector_checks(self, learn, num_classes, batch_shape):
    prior = LearnedPrior(3, learn=learn, num_classes=num_classes,
                         dtype=tf.float64, context_channels=2)
    self.assertEqual(prior.context_channels, 2)
    kwargs = {'context': _contexts([*batch_shape, 2, 2, 2])}
    if num_classes:
      kwargs['labels'] = tf.constant([[3, 0], [1, 3], [0, 2]])
    bijector_checks.check_bijector(
        self, prior, [2, 2, 3], batch_shape=batch_shape,
        num_trainable=3 + 2 * learn + 2 * bool(num_classes),
        bijector_kwargs=kwargs)

  def test_is_a_per_pixel_gaussian(self):
    prior = LearnedPrior(3, num_classes=2, dtype=tf.float64,
                         context_channels=2)
    bijector_checks.perturb_variables(prior, seed=4)
    labels, context = tf.constant([1, 0]), _contexts([2, 2, 2, 2])
    z = _latents([2, 2, 2, 3], seed=1)
    conv = prior.conditioner
    h = (tf.nn.conv2d(context, conv.kernel, 1, 'SAME') + conv.bias) * tf.exp(
        3.0 * conv.log_scale)
    mean = (prior.loc.numpy() + prior.class_loc.numpy()[[1, 0]])[
        :, None, None, :] + h[..., :3]
    log_scale = (prior.log_scale.numpy() + prior.class_log_scale.numpy()[
        [1, 0]])[:, None, None, :] + h[..., 3:]
    # Not the same at every pixel.
    self.assertGreater(float(tf.math.reduce_std(log_scale[0, ..., 0])), 1e-2)
    got_mean, got_log_scale = prior.mean_and_log_scale(labels, context)
    self.assertAllClose(got_mean, mean, atol=1e-12)
    self.assertAllClose(got_log_scale, log_scale, atol=1e-12)
    eps, ildj = prior.inverse_and_log_det(z, labels=labels, context=context)
    self.assertAllClose(eps, (z - mean) * tf.exp(-log_scale), atol=1e-12)
    self.assertAllClose(ildj, -tf.reduce_sum(log_scale, [1, 2, 3]),
                        atol=1e-12)
    # log N(eps; 0, 1) + ildj is the log-density of N(mean, exp(log_scale)).
    standard = tf.reduce_sum(
        -0.5 * eps**2 - 0.5 * np.log(2 * np.pi), [1, 2, 3])
    gaussian = tf.reduce_sum(
        -0.5 * ((z - mean) / tf.exp(log_scale))**2 - log_scale -
        0.5 * np.log(2 * np.pi), [1, 2, 3])
    self.assertAllClose(standard + ildj, gaussian, atol=1e-10)
    # The context matters.
    other = prior.inverse(z, labels=labels, context=context[::-1])
    self.assertGreater(float(tf.reduce_max(tf.abs(other - eps))), 1e-2)

  def test_context_checks(self):
    prior = LearnedPrior(3, dtype=tf.float64, context_channels=2)
    z = _latents([2, 2, 2, 3])
    for call in (prior.inverse, prior.forward):
      with self.assertRaisesRegex(ValueError, r'learned_prior: this bijector '
                                  r'is conditional.*pass `context`'):
        call(z)
      with self.assertRaisesRegex(
          ValueError, r'`context` must have shape \(2, 2, 2, 2\).*got shape '
          r'\(2, 1, 1, 2\)'):
        call(z, context=tf.zeros([2, 1, 1, 2], tf.float64))
      with self.assertRaisesRegex(ValueError, '`context` must have dtype '
                                  'float64'):
        call(z, context=tf.zeros([2, 2, 2, 2], tf.float32))
    with self.assertRaisesRegex(ValueError, r'unconditional.*`context`'):
      LearnedPrior(3, dtype=tf.float64).inverse(
          z, context=tf.zeros([2, 2, 2, 2], tf.float64))


if __name__ == '__main__':
  tf.test.main()
