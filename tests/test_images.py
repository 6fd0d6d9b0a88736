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
    # Uniform noise: one draw, the same numbers as ever, to the last bit.
    self.assertAllEqual(bpd, glow_tf.images.bits_per_dim_from_log_prob(
        glow.log_prob(x), 32, 5))
    self.assertAllEqual(bpd, glow_tf.images.importance_weighted_bits_per_dim(
        glow, x, 5))  # the pipeline's images: their noise is the draw
    # Left out, n_bits is the model's own (5 here, not 8).
    self.assertAllClose(glow_tf.bits_per_dim(glow, raw, seed=7), bpd,
                        rtol=1e-12)

  def test_the_bound_subtracts_log_q(self):
    log_prob = tf.constant([-3.0, 5.0], tf.float64)
    log_q = tf.constant([0.5, -2.0], tf.float64)
    bound = glow_tf.images.bits_per_dim_from_log_prob(log_prob, 16, 3,
                                                      log_q=log_q)
    self.assertAllClose(bound, -(log_prob - log_q - 16 * np.log(8.)) /
                        (16 * np.log(2.)), rtol=1e-14)
    self.assertAllEqual(glow_tf.images.bits_per_dim_from_log_prob(
        log_prob, 16, 3, log_q=tf.zeros([2], tf.float64)),
                        glow_tf.images.bits_per_dim_from_log_prob(
                            log_prob, 16, 3))

  def test_importance_weighting_is_the_log_mean_of_the_draws(self):
    glow = tiny_glow(n_bits=5)
    raw = tf.constant(np.random.default_rng(1).integers(
        0, 256, (3, 4, 4, 2)).astype(np.uint8))
    seed = tf.constant([2, 9])
    bpd = glow_tf.bits_per_dim(glow, raw, seed=seed, num_samples=3)
    # Draw 1 with `seed`, draws 2 and 3 as one batch with fold_in(seed, 1).
    first = glow_tf.dequantize(raw, 5, seed=seed, dtype=tf.float64)
    more = glow_tf.dequantize(
        tf.broadcast_to(raw, [2, 3, 4, 4, 2]), 5, dtype=tf.float64,
        seed=tf.random.experimental.stateless_fold_in(
            tf.cast(seed, tf.int64), 1))
    log_p = tf.stack([glow.log_prob(first), glow.log_prob(more[0]),
                      glow.log_prob(more[1])])
    log_mean = tf.reduce_logsumexp(log_p, axis=0) - np.log(3.)
    self.assertAllClose(bpd, glow_tf.images.bits_per_dim_from_log_prob(
        log_mean, 32, 5), rtol=1e-12)
    # Jensen: on average below the one-draw bound.
    one = glow_tf.bits_per_dim(glow, tf.repeat(raw, 50, axis=0), seed=3)
    three = glow_tf.bits_per_dim(glow, tf.repeat(raw, 50, axis=0), seed=3,
                                 num_samples=3)
    self.assertLess(float(tf.reduce_mean(three)), float(tf.reduce_mean(one)))
    for bad in (0, 1.5):
      with self.assertRaisesRegex(ValueError, '`num_samples` must be a '
                                  'positive integer'):
        glow_tf.bits_per_dim(glow, raw, num_samples=bad)

  def test_model_space_bins_invert_dequantize(self):
    raw = tf.constant(np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1))
    for n_bits in (1, 5, 8):
      for seed in range(3):
        for dtype in (tf.float32, tf.float64):
          x = glow_tf.dequantize(raw, n_bits, seed=seed, dtype=dtype)
          self.assertAllEqual(glow_tf.images.model_space_bins(x, n_bits),
                              glow_tf.images.quantize(raw, n_bits))
    self.assertAllEqual(glow_tf.images.model_space_bins(
        tf.constant([-0.7, -0.5, 0.0, 0.49, 0.5, 0.9]), 2), [0, 0, 2, 3, 3, 3])

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
