"""Tests of the variational dequantizer q(u | k) (glow_tf/dequantizer.py).

The mathematics: `log q` is the exact change of variables of `u(eps)`
(against an autodiff Jacobian), `u` fills the image's bins, every variable
learns from the bound, `initialize` starts `q` near uniform noise, and the
bound itself: for a Glow small enough (D = 4) to integrate its density over
a bin on a grid, the variational bound lies above the exact discrete
`-log2 P(k) / D` and the importance-weighted bound approaches it.
"""

import math

import numpy as np
import tensorflow as tf

import glow_tf
from glow_tf import images as images_lib
from glow_tf.bijectors import forward_and_log_det
from glow_tf.bijectors import inverse_and_log_det
from glow_tf.dequantizer import VariationalDequantizer
from tests.bijector_checks import perturb_variables


def random_images(n, shape, seed=0):
  return tf.constant(np.random.default_rng(seed).integers(
      0, 256, (n, *shape)).astype(np.uint8))


def tiny_dequantizer(shape=(4, 4, 1), n_bits=3, seed=0):
  """A float64 dequantizer, initialised on data, every weight perturbed."""
  dequantizer = VariationalDequantizer(shape, n_bits=n_bits, num_steps=2,
                                       channels=4, seed=seed,
                                       dtype=tf.float64, kernels='reference')
  dequantizer.initialize(glow_tf.dequantize(
      random_images(32, shape, seed), n_bits, seed=1, dtype=tf.float64))
  perturb_variables(dequantizer, seed=seed, scale=0.2)
  return dequantizer


def normal_log_prob(eps):
  eps = np.asarray(eps)
  return np.sum(-0.5 * eps**2 - 0.5 * np.log(2 * np.pi),
                axis=tuple(range(1, eps.ndim)))


def tiny_glow(dequantization='variational', n_bits=2, dequantizer_scale=0.1):
  """A float64 Glow of 2x2x1 images (D = 4), every weight perturbed."""
  config = glow_tf.GlowConfig(
      image_shape=(2, 2, 1), num_levels=1, num_steps=2, hidden_channels=4,
      dtype='float64', n_bits=n_bits, dequantization=dequantization,
      dequantizer_steps=2, dequantizer_channels=4)
  glow = glow_tf.Glow(config, seed=0)
  glow.initialize(glow_tf.dequantize(random_images(64, (2, 2, 1)), n_bits,
                                     seed=1, dtype=tf.float64))
  perturb_variables(glow.bijector, seed=0, scale=0.3)
  if glow.dequantizer is not None:
    perturb_variables(glow.dequantizer, seed=1, scale=dequantizer_scale)
  return glow


def exact_bits_per_dim(glow, images, grid_size=16):
  """`-log2 P(k) / D`, P(k) the integral of p over k's bin (midpoint rule)."""
  n_bits = glow.config.n_bits
  bins = images_lib.quantize(images, n_bits).numpy().astype(np.float64)
  centres = (np.arange(grid_size) + 0.5) / grid_size
  grid = np.stack(np.meshgrid(*[centres] * 4, indexing='ij'), -1).reshape(
      -1, 2, 2, 1)
  results = []
  for k in bins:
    log_p = glow.log_prob(tf.constant((k + grid) / 2**n_bits - 0.5)).numpy()
    top = np.max(log_p)
    # P = (mean of p over the bin) * (bin volume, 2**(-n_bits D))
    log_mass = top + np.log(np.mean(np.exp(log_p - top))) - 4 * n_bits * (
        np.log(2))
    results.append(-log_mass / (4 * np.log(2)))
  return np.array(results)


class VariationalDequantizerTest(tf.test.TestCase):

  def test_log_q_is_the_change_of_variables_of_u(self):
    dequantizer = tiny_dequantizer()
    images = random_images(3, (4, 4, 1), seed=5)
    u, log_q = dequantizer.sample_and_log_prob(images, seed=3)
    context = dequantizer.context(images)
    eps, _ = inverse_and_log_det(dequantizer.bijector, u, context=context)
    self.assertEqual(eps.shape, [3, 2, 2, 4])

    def u_of(flat_eps):
      return tf.reshape(forward_and_log_det(
          dequantizer.bijector, tf.reshape(flat_eps, [3, 2, 2, 4]),
          context=context)[0], [3, -1])

    flat = tf.reshape(eps, [3, -1])
    with tf.GradientTape() as tape:
      tape.watch(flat)
      u_again = u_of(flat)
    self.assertAllClose(u_again, tf.reshape(u, [3, -1]), atol=1e-10)
    log_det = tf.linalg.slogdet(tape.batch_jacobian(u_again, flat))[1]
    # q(u) = N(eps) / |det du/deps|, exactly.
    self.assertAllClose(log_q, normal_log_prob(eps) - log_det, atol=1e-8)
    # The inverse walk gives the same density.
    self.assertAllClose(dequantizer.log_prob(u, images), log_q, atol=1e-8)

  def test_noise_fills_the_images_bins(self):
    dequantizer = tiny_dequantizer(n_bits=3)
    images = random_images(6, (4, 4, 1), seed=2)
    bins = images_lib.quantize(images, 3).numpy()
    u, _ = dequantizer.sample_and_log_prob(images, seed=4)
    self.assertEqual(u.shape, [6, 4, 4, 1])
    self.assertTrue(np.all((u.numpy() > 0) & (u.numpy() < 1)))
    x, log_q = dequantizer.dequantize(images, seed=4)
    self.assertAllClose(x, (bins + u) / 8 - 0.5, atol=1e-12)
    self.assertAllEqual(images_lib.model_space_bins(x, 3), bins)
    # Model-space images (any point of the bins) name the same bins.
    uniform = glow_tf.dequantize(images, 3, seed=9, dtype=tf.float64)
    self.assertAllEqual(dequantizer.dequantize(uniform, seed=4)[0], x)
    self.assertAllEqual(dequantizer.dequantize(uniform, seed=4)[1], log_q)
    # Seeded draws repeat; other seeds, or none, differ.
    self.assertAllEqual(dequantizer.sample_and_log_prob(images, seed=4)[0], u)
    self.assertNotAllClose(dequantizer.sample_and_log_prob(images, 5)[0], u)
    self.assertNotAllClose(dequantizer.sample_and_log_prob(images)[0], u)
    # Any batch shape.
    u, log_q = dequantizer.sample_and_log_prob(
        tf.reshape(images, [2, 3, 4, 4, 1]), seed=4)
    self.assertEqual(u.shape, [2, 3, 4, 4, 1])
    self.assertEqual(log_q.shape, [2, 3])

  def test_bad_images_are_refused(self):
    dequantizer = tiny_dequantizer()
    with self.assertRaisesRegex(ValueError, r'shape \[\.\.\., 4, 4, 1\]'):
      dequantizer.dequantize(tf.zeros([2, 4, 4, 3], tf.uint8))
    with self.assertRaisesRegex(ValueError, 'dtype float64; got float32'):
      dequantizer.dequantize(tf.zeros([2, 4, 4, 1], tf.float32))
    with self.assertRaisesRegex(ValueError, 'even height and width'):
      VariationalDequantizer((3, 4, 1))

  def test_every_variable_gets_a_gradient_from_the_bound(self):
    glow = tiny_glow()
    images = random_images(8, (2, 2, 1), seed=3)
    variables = glow.dequantizer.trainable_variables
    # The conditioning network: 2 kernels, 2 ActNorms; each step: its
    # ActNorm (2), the LU 1x1 convolution (3), the coupling network (9).
    self.assertLen(variables, 6 + 2 * 14)
    with tf.GradientTape() as tape:
      x, log_q = glow.dequantize_and_log_q(images, seed=2)
      bound = tf.reduce_mean(images_lib.bits_per_dim_from_log_prob(
          glow.log_prob(x), 4, 2, log_q=log_q))
    for variable, gradient in zip(variables, tape.gradient(bound, variables)):
      self.assertIsNotNone(gradient, variable.name)
      self.assertTrue(np.all(np.isfinite(gradient)), variable.name)
      self.assertGreater(np.max(np.abs(gradient)), 0, variable.name)

  def test_initialize_starts_near_uniform_noise_once(self):
    dequantizer = VariationalDequantizer((8, 8, 1), n_bits=5, num_steps=2,
                                         channels=8, seed=0, dtype=tf.float64)
    images = random_images(256, (8, 8, 1), seed=1)
    x = glow_tf.dequantize(images, 5, seed=2, dtype=tf.float64)
    eps = dequantizer.initialize(x)
    # Uniform noise maps to standardised latents ...
    self.assertAllClose(tf.reduce_mean(eps), 0.0, atol=0.05)
    self.assertAllClose(tf.math.reduce_std(eps), 1.0, atol=0.1)
    # ... so q starts close to uniform noise: E_q[log q] = -entropy is near
    # 0 per dimension, where a uniform q has exactly 0.
    _, log_q = dequantizer.sample_and_log_prob(images, seed=3)
    self.assertAllInRange(tf.reduce_mean(log_q) / 64, 0.0, 0.2)
    before = [v.numpy() for v in dequantizer.variables]
    dequantizer.initialize(x[:16] * 0.1)
    for value, variable in zip(before, dequantizer.variables):
      self.assertAllEqual(value, variable)

  def test_the_bounds_bracket_the_exact_discrete_likelihood(self):
    glow = tiny_glow(n_bits=2)
    images = tf.constant([[[[0], [64]], [[128], [255]]],
                          [[[192], [192]], [[64], [0]]]], tf.uint8)
    exact = exact_bits_per_dim(glow, images)
    # The grid has converged: a coarser one agrees to 1e-3.
    self.assertAllClose(exact_bits_per_dim(glow, images, grid_size=8), exact,
                        atol=1e-3)

    def estimate(num_samples, copies, seed):
      bits = glow_tf.bits_per_dim(glow, tf.repeat(images, copies, axis=0),
                                  seed=seed, num_samples=num_samples)
      bits = bits.numpy().reshape(2, copies)
      return bits.mean(axis=1), bits.std(axis=1) / math.sqrt(copies)

    elbo, elbo_error = estimate(1, 4000, seed=5)
    weighted, weighted_error = estimate(4, 4000, seed=6)
    tight, tight_error = estimate(2000, 10, seed=7)
    # The variational bound lies above -log2 P(k) / D (Jensen), and the
    # importance-weighted ones below it, closing in on the exact figure.
    self.assertTrue(np.all(elbo - 3 * elbo_error > exact), (elbo, exact))
    self.assertTrue(np.all(weighted + 3 * weighted_error < elbo), weighted)
    self.assertTrue(np.all(weighted - 3 * weighted_error > exact), weighted)
    self.assertTrue(np.all(tight + 3 * tight_error > exact), (tight, exact))
    self.assertAllClose(tight, exact, atol=0.01)
    self.assertTrue(np.all(tight < weighted), (tight, weighted))

    # Uniform noise is the same bound with q = 1, and also above.
    uniform = glow_tf.dequantize(tf.repeat(images, 4000, axis=0), 2, seed=8,
                                 dtype=tf.float64)
    uniform_bits = images_lib.bits_per_dim_from_log_prob(
        glow.log_prob(uniform), 4, 2).numpy().reshape(2, 4000)
    self.assertTrue(np.all(uniform_bits.mean(axis=1) > exact))


if __name__ == '__main__':
  tf.test.main()
