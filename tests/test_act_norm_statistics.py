"""Tests of glow_tf.act_norm_statistics: ActNorm's data-dependent initialisation."""

import numpy as np
import tensorflow as tf

from glow_tf import act_norm_statistics as stats


class InitializeActNormTest(tf.test.TestCase):

  def test_normalises_each_channel_once(self):
    log_scale, bias, initialized = stats.act_norm_variables(3, tf.float64)
    x = tf.random.stateless_normal([50, 4, 3], [1, 2], dtype=tf.float64)
    x = x * [1.0, 2.0, 0.5] + [0.3, -1.0, 4.0]
    stats.initialize_act_norm(x, log_scale, bias, initialized)
    self.assertTrue(bool(initialized))
    y = (x + bias) * tf.exp(log_scale)
    self.assertAllClose(tf.reduce_mean(y, [0, 1]), np.zeros(3), atol=1e-10)
    self.assertAllClose(tf.math.reduce_std(y, [0, 1]), np.ones(3), atol=1e-5)
    before = (log_scale.numpy(), bias.numpy())
    stats.initialize_act_norm(x * 3.0, log_scale, bias, initialized)
    self.assertAllEqual(log_scale, before[0])
    self.assertAllEqual(bias, before[1])

  def test_log_scale_factor_divides_the_stored_log_scale(self):
    x = tf.random.stateless_normal([40, 2], [3, 2], dtype=tf.float64) * 4.0
    results = []
    for factor in (1.0, 3.0):
      log_scale, bias, initialized = stats.act_norm_variables(2, tf.float64)
      stats.initialize_act_norm(x, log_scale, bias, initialized, factor)
      results.append((log_scale.numpy(),
                      stats.applied_log_scale(log_scale, factor).numpy()))
    self.assertAllClose(results[1][0] * 3.0, results[0][0])
    self.assertAllClose(results[1][1], results[0][1])

  def test_refuses_batches_that_would_poison_it(self):
    for x in (tf.zeros([0, 3]), tf.constant([[1.0, np.nan, 0.0]] * 4)):
      log_scale, bias, initialized = stats.act_norm_variables(3, tf.float32)
      with self.assertRaisesRegex(tf.errors.InvalidArgumentError,
                                  'non-empty batch of finite values'):
        stats.initialize_act_norm(x, log_scale, bias, initialized)
      self.assertFalse(bool(initialized))


if __name__ == '__main__':
  tf.test.main()
