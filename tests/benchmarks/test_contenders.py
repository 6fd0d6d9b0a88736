"""Tests of benchmarks.contenders: tfp.bijectors.Glow built to the same architecture.

No timing is asserted.
"""

from absl.testing import parameterized
import tensorflow as tf

import benchmarks
import glow_tf


class ContendersTest(tf.test.TestCase, parameterized.TestCase):
  """The tfp contender."""

  def test_tfp_glow_has_the_same_architecture(self):
    config = glow_tf.GlowConfig(image_shape=(8, 8, 1), num_levels=2,
                                num_steps=2, hidden_channels=16)
    tfp_glow = benchmarks.build_tfp_glow(config)
    x = tf.random.stateless_uniform([3, 8, 8, 1], seed=[0, 1]) - 0.5
    self.assertEqual(tfp_glow.log_prob(x).shape, [3])
    glow = glow_tf.Glow(config)
    # Same couplings, 1x1 convolutions, ActNorms and exits; glow_tf's
    # networks have ActNorms where tfp's have biases, plus a learned top
    # prior and the zero convolutions' output scales.
    self.assertEqual(sum(1 for v in tfp_glow.trainable_variables
                         if 'kernel' in v.name),
                     sum(1 for v in glow.trainable_variables
                         if 'kernel' in v.name))
    ratio = (benchmarks.count_parameters(glow) /
             benchmarks.count_parameters(tfp_glow))
    self.assertBetween(ratio, 0.9, 1.1)

  def test_rejects_what_tfp_glow_cannot_build(self):
    config = glow_tf.preset('fashion_mnist', coupling='additive')
    with self.assertRaisesRegex(ValueError, 'affine'):
      benchmarks.build_tfp_glow(config)
