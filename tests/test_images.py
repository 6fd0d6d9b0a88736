"""Tests of dequantize, to_uint8 and bits per dimension (glow_tf/images.py)."""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

import glow_tf
from tests.bijector_checks import perturb_variables

tfd = tfp.distributions


def tiny_glow(n_bits=8):
  """A float64 [4, 4, 2] Glow, every parameter moved off its initial value."""
  config = glow_tf.GlowConfig(image_shape=(4, 4, 2), num_levels=2,
                              num_steps=2, hidden_channels=4, dtype='float64',
                              n_bits=n_bits)
  glow = glow_tf.Glow(config, seed=0)
  glow.initialize(tf.random.stateless_uniform(
      [8, 4, 4, 2], seed=[1, 2], dtype=tf.float64) - 0.5)
  perturb_variables(glow.bijector, seed=0, scale=0.1)
  return glow


class ImagesTest(tf.test.TestCase):

  def test_dequantize_and_to_uint8_are_inverse(self):
    raw = tf.constant(np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1))
    for n_bits in (1, 5, 8):
      x = glow_tf.dequantize(raw, n_bits=n_bits, seed=3)
      self.assertAllInRange(x, -0.5, 0.5)
      step = 2**(8 - n_bits)
      self.assertAllEqual(glow_tf.to_uint8(x, n_bits), (raw // step) * step)

  def test_dequantize_seeds(self):
    raw = tf.constant([[0, 128, 255]], tf.uint8)
    self.assertAllEqual(glow_tf.dequantize(raw, seed=3),
                        glow_tf.dequantize(raw, seed=[0, 3]))
    self.assertNotAllClose(glow_tf.dequantize(raw, seed=3),
                           glow_tf.dequantize(raw, seed=4))
    with self.assertRaisesRegex(ValueError, r'`seed` must be an int or a '
                                r"stateless seed .*got 'a'"):
      glow_tf.dequantize(raw, seed='a')

  def test_bits_per_dim_formula(self):
    glow = tiny_glow(n_bits=5)
    raw = tf.constant(np.random.default_rng(0).integers(
        0, 256, (3, 4, 4, 2)).astype(np.uint8))
    bpd = glow_tf.bits_per_dim(glow, raw, n_bits=5, seed=7)
    x = glow_tf.dequantize(raw, 5, seed=7, dtype=tf.float64)
    expected = -(glow.log_prob(x) - 32 * np.log(32.)) / (32 * np.log(2.))
    self.assertAllClose(bpd, expected, rtol=1e-6)
    # Left out, n_bits is the model's own (5 here, not 8).
    self.assertAllClose(glow_tf.bits_per_dim(glow, raw, seed=7), bpd,
                        rtol=1e-12)

  def test_bits_per_dim_refuses_another_n_bits_than_the_models(self):
    raw = tf.zeros([1, 4, 4, 2], tf.uint8)
    with self.assertRaisesRegex(ValueError, r'`n_bits` is 8.*5-bit'):
      glow_tf.bits_per_dim(tiny_glow(n_bits=5), raw, n_bits=8)

  def test_uniform_density_is_n_bits(self):
    # A uniform density on [-0.5, 0.5]^D has log p = 0: n_bits bits/dim.
    uniform = tfd.Sample(tfd.Uniform(np.float32(-0.5), 0.5), [4, 4, 1])
    raw = tf.zeros([2, 4, 4, 1], tf.uint8)
    self.assertAllClose(glow_tf.bits_per_dim(uniform, raw, n_bits=8, seed=1),
                        [8., 8.])

  def test_bad_image_inputs(self):
    with self.assertRaisesRegex(ValueError, 'uint8'):
      glow_tf.dequantize(tf.zeros([2, 2], tf.float32), n_bits=8)
    with self.assertRaisesRegex(ValueError, 'n_bits must be in 1..8'):
      glow_tf.dequantize(tf.zeros([2, 2], tf.uint8), n_bits=0)
    with self.assertRaisesRegex(ValueError, 'float'):
      glow_tf.to_uint8(tf.zeros([2], tf.int32))
    with self.assertRaisesRegex(ValueError, '`dtype` must be a float dtype'):
      glow_tf.dequantize(tf.zeros([2, 2], tf.uint8), dtype=tf.int32)


if __name__ == '__main__':
  tf.test.main()
