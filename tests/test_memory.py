"""Tests of glow_tf.memory: the memory-saving log_prob equals the plain one, gradients included.

No timing is asserted.
"""

from unittest import mock

from absl.testing import parameterized
import tensorflow as tf

import glow_tf
from glow_tf import memory
from glow_tf.bijectors.act_norm import ActNorm
from tests import fixtures
from tests.bijector_checks import perturb_variables


def _tiny_glow(**overrides):
  config = fixtures.float64_config(**overrides)
  glow = glow_tf.Glow(config, seed=1)
  glow.initialize(fixtures.float64_images(8))
  perturb_variables(glow.bijector, seed=0, scale=0.1)
  return glow


def _dense(g):
  return tf.convert_to_tensor(g)


class MemorySavingTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(
      ('affine_lu', {}),
      ('additive', {'coupling': 'additive'}),
      ('shuffle', {'permutation': 'shuffle'}),
      ('plain_conv', {'permutation': 'conv'}),
      ('classes', {'num_classes': 3}),
      ('edge_padding', {'edge_padding': True}),
  )
  def test_log_prob_and_gradients_equal_the_plain_path(self, overrides):
    glow = _tiny_glow(**overrides)
    x = fixtures.float64_images(6)
    labels = (tf.constant([0, 1, 2, 0, 1, 2])
              if 'num_classes' in overrides else None)
    weights = tf.range(1.0, 7.0, dtype=tf.float64)
    variables = list(glow.trainable_variables)

    def value_and_grads(log_prob):
      with tf.GradientTape() as tape:
        tape.watch(x)
        lp = log_prob(x, labels=labels)
        loss = tf.reduce_sum(weights * lp)
      return [lp] + tape.gradient(loss, [x] + variables)

    def saving(x, labels=None):
      return memory.memory_saving_log_prob(glow, x, labels=labels)

    for compile_fn in (lambda f: f, tf.function):
      plain = compile_fn(lambda: value_and_grads(glow.log_prob))()
      reconstructed = compile_fn(lambda: value_and_grads(saving))()
      self.assertLen(reconstructed, len(plain))
      self.assertAllClose(plain[0], reconstructed[0], rtol=1e-10)
      names = ['x'] + [v.name for v in variables]
      for name, a, b in zip(names, plain[1:], reconstructed[1:]):
        self.assertIsNotNone(b, name)
        a, b = _dense(a), _dense(b)
        scale = max(float(tf.reduce_max(tf.abs(a))), 1e-12)
        self.assertLess(float(tf.reduce_max(tf.abs(a - b))) / scale, 1e-5,
                        name)

  def test_every_trainable_variable_gets_a_nonzero_gradient(self):
    glow = _tiny_glow()
    x = fixtures.float64_images(4)
    with tf.GradientTape() as tape:
      loss = -tf.reduce_mean(memory.memory_saving_log_prob(glow, x))
    grads = tape.gradient(loss, glow.trainable_variables)
    for variable, grad in zip(glow.trainable_variables, grads):
      self.assertIsNotNone(grad, variable.name)
      self.assertGreater(float(tf.reduce_max(tf.abs(_dense(grad)))), 0.0,
                         variable.name)

  def test_the_rebuild_folds_act_norm_into_the_conv(self):
    # Forward and backward, ActNorm's own hooks never run with an LU conv:
    # the one-pass walk's fold applies it with the 1x1 convolution (the
    # equality with the plain path is the test above).
    glow = _tiny_glow()
    x = fixtures.float64_images(4)
    with mock.patch.object(ActNorm, '_inverse', side_effect=AssertionError), \
         mock.patch.object(ActNorm, '_forward', side_effect=AssertionError):
      with tf.GradientTape() as tape:
        loss = -tf.reduce_mean(memory.memory_saving_log_prob(glow, x))
      grads = tape.gradient(loss, glow.trainable_variables)
    self.assertNotIn(None, grads)

  def test_rejects_steps_it_cannot_invert(self):
    glow = _tiny_glow()
    with self.assertRaisesRegex(ValueError, 'flow_step'):
      memory.reversible_steps(glow.bijector.top_prior, fixtures.float64_images(2))
