"""Tests of ActNorm: shared checks, data-dependent init, restore, replicas."""

import functools
import os
import tempfile

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from glow_tf.bijectors import ActNorm
from tests import bijector_checks


def _images(shape, seed=0, dtype=tf.float64):
  """Images with a different mean and spread per channel."""
  rng = np.random.default_rng(seed)
  channels = shape[-1]
  x = rng.normal(size=shape) * np.linspace(0.5, 3.0, channels) + np.arange(
      channels) - 1.0
  return tf.constant(x, dtype)


def _channel_statistics(x):
  x = np.asarray(x, np.float64)
  axes = tuple(range(x.ndim - 1))
  return x.mean(axes), x.std(axes)


@functools.lru_cache(maxsize=None)
def _two_cpu_strategy():
  """A MirroredStrategy over 2 logical CPUs, shared by this module's tests.

  Strategies made in one process start their collective keys at the same
  value, so two of them (here and in other test modules) can run into each
  other's collectives, which then fail with a shape mismatch or hang. TF's own
  tests give each strategy a distinct `_collective_key_base`; so does this.
  """
  devices = [d.name for d in tf.config.list_logical_devices('CPU')]
  if len(devices) < 2:
    raise AssertionError(
        f'Need 2 logical CPUs (tests/conftest.py makes them), got {devices}.')
  strategy_class = tf.distribute.MirroredStrategy
  key_base = strategy_class._collective_key_base  # pylint: disable=protected-access
  strategy_class._collective_key_base = 7919  # pylint: disable=protected-access
  try:
    return strategy_class(devices[:2])
  finally:
    strategy_class._collective_key_base = key_base  # pylint: disable=protected-access


class ActNormTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(
      ('float64', tf.float64, [2], [4, 4, 4]),
      ('float32', tf.float32, [2], [4, 4, 4]),
      ('extra_batch_dims', tf.float64, [3, 2], [4, 4, 4]),
      ('float32_extra_batch_dims', tf.float32, [3, 2], [4, 4, 4]),
      ('pixel_events', tf.float64, [5], [3]))
  def test_bijector_checks(self, dtype, batch_shape, event_shape):
    act_norm = ActNorm(event_shape[-1], dtype=dtype)
    act_norm.initialize(_images([6, *event_shape], dtype=dtype))
    bijector_checks.check_bijector(self, act_norm, event_shape, dtype=dtype,
                                   batch_shape=batch_shape, num_trainable=2)

  def test_log_scale_factor(self):
    # The official code's parametrisation: the variable is the applied
    # log-scale over the factor, from initialisation on.
    act_norm = ActNorm(3, dtype=tf.float64, log_scale_factor=3.0)
    self.assertEqual(act_norm.log_scale_factor, 3.0)
    x = _images([16, 4, 4, 3])
    z = act_norm.initialize(x)
    _, std = _channel_statistics(x)
    log_scale = -np.log(std + 1e-6)  # initialize_act_norm's epsilon.
    self.assertAllClose(act_norm.applied_log_scale, log_scale, atol=1e-9)
    self.assertAllClose(act_norm.log_scale, log_scale / 3.0, atol=1e-9)
    self.assertAllClose(_channel_statistics(z), (np.zeros(3), np.ones(3)),
                        atol=1e-5)
    self.assertAllClose(
        act_norm.inverse_log_det_jacobian(x, event_ndims=3),
        16 * np.sum(log_scale), rtol=1e-9)
    bijector_checks.check_bijector(self, act_norm, [4, 4, 3],
                                   dtype=tf.float64, num_trainable=2)

  def test_starts_as_identity(self):
    act_norm = ActNorm(3, dtype=tf.float64)
    x = _images([2, 4, 4, 3])
    self.assertAllEqual(act_norm.inverse(x), x)
    self.assertAllEqual(act_norm.inverse_log_det_jacobian(x, event_ndims=3),
                        0.0)
    self.assertFalse(act_norm.initialized.numpy())

  @parameterized.product(dtype=[tf.float32, tf.float64],
                         shape=[[8, 4, 4, 3], [2, 3, 4, 4, 3], [16, 3]],
                         in_graph=[False, True])
  def test_initialize_normalizes_the_batch(self, dtype, shape, in_graph):
    act_norm = ActNorm(3, dtype=dtype)
    x = _images(shape, dtype=dtype)
    initialize = (tf.function(act_norm.initialize) if in_graph
                  else act_norm.initialize)
    returned = initialize(x)
    self.assertTrue(act_norm.initialized.numpy())
    z = act_norm.inverse(tf.identity(x))
    self.assertAllClose(returned, z, rtol=1e-6, atol=1e-6)
    mean, std = _channel_statistics(z)
    self.assertAllClose(mean, np.zeros(3), atol=1e-5)
    self.assertAllClose(std, np.ones(3), atol=1e-5)
    # The parameters are the batch statistics.
    x_mean, x_std = _channel_statistics(x)
    self.assertAllClose(act_norm.bias, -x_mean, atol=1e-5)
    self.assertAllClose(act_norm.log_scale, -np.log(x_std), atol=1e-5)
    # ildj on images is H * W * sum(log_scale) (per pixel, summed by TFP).
    if len(shape) >= 4:
      ildj = act_norm.inverse_log_det_jacobian(x, event_ndims=3)
      pixels = shape[-3] * shape[-2]
      self.assertAllClose(ildj, pixels * np.sum(-np.log(x_std)), rtol=1e-5)

  def test_second_initialize_changes_nothing(self):
    act_norm = ActNorm(3, dtype=tf.float64)
    act_norm.initialize(_images([8, 4, 4, 3], seed=0))
    log_scale, bias = act_norm.log_scale.numpy(), act_norm.bias.numpy()
    other = _images([8, 4, 4, 3], seed=1) * 5.0 + 2.0
    returned = act_norm.initialize(other)
    self.assertAllEqual(act_norm.log_scale, log_scale)
    self.assertAllEqual(act_norm.bias, bias)
    # It still returns inverse(other) with the kept parameters.
    self.assertAllClose(returned, (other + bias) * np.exp(log_scale))

  def test_restore_does_not_reinitialize(self):
    trained = ActNorm(3, dtype=tf.float64)
    trained.initialize(_images([8, 4, 4, 3], seed=0))
    bijector_checks.perturb_variables(trained, seed=4)
    log_scale, bias = trained.log_scale.numpy(), trained.bias.numpy()
    with tempfile.TemporaryDirectory() as directory:
      path = tf.train.Checkpoint(model=trained).write(
          os.path.join(directory, 'ckpt'))
      fresh = ActNorm(3, dtype=tf.float64)
      self.assertFalse(fresh.initialized.numpy())
      tf.train.Checkpoint(model=fresh).read(path).assert_consumed()
    self.assertTrue(fresh.initialized.numpy())
    self.assertAllEqual(fresh.log_scale, log_scale)
    self.assertAllEqual(fresh.bias, bias)
    fresh.initialize(_images([8, 4, 4, 3], seed=2) * 3.0)
    self.assertAllEqual(fresh.log_scale, log_scale)
    self.assertAllEqual(fresh.bias, bias)

  @parameterized.parameters(False, True)
  def test_initialize_under_mirrored_strategy(self, in_graph):
    strategy = _two_cpu_strategy()
    self.assertEqual(strategy.num_replicas_in_sync, 2)
    with strategy.scope():
      act_norm = ActNorm(3, dtype=tf.float64)
    x = _images([8, 4, 4, 3]).numpy()
    x[:4] += 5.0  # The halves have very different statistics.
    halves = [tf.constant(x[:4]), tf.constant(x[4:])]
    values = strategy.experimental_distribute_values_from_function(
        lambda context: halves[context.replica_id_in_sync_group])

    def run(values):
      return strategy.run(act_norm.initialize, args=(values,))

    outputs = (tf.function(run) if in_graph else run)(values)
    mean, std = _channel_statistics(x)
    for name, variable, expected in (('bias', act_norm.bias, -mean),
                                     ('log_scale', act_norm.log_scale,
                                      -np.log(std))):
      local = strategy.experimental_local_results(variable)
      self.assertLen(local, 2)
      for replica, value in enumerate(local):
        self.assertAllClose(value, expected, atol=1e-6,
                            msg=f'{name} on replica {replica}')
    for replica, (half, output) in enumerate(
        zip(halves, strategy.experimental_local_results(outputs))):
      self.assertAllClose(output, (half + (-mean)) * np.exp(-np.log(std)),
                          atol=1e-5, msg=f'output on replica {replica}')
    for flag in strategy.experimental_local_results(act_norm.initialized):
      self.assertTrue(flag.numpy())

  def test_variables_are_tracked(self):
    act_norm = ActNorm(5)
    self.assertLen(act_norm.trainable_variables, 2)
    self.assertLen(act_norm.variables, 3)  # + the `initialized` flag.
    self.assertEqual(
        sum(int(np.prod(v.shape)) for v in act_norm.trainable_variables), 10)
    bijector_checks.check_checkpoint_round_trip(self, act_norm)

  @parameterized.named_parameters(
      ('channels', [2, 4, 4, 5],
       r'expected 3 channels .*got shape \(2, 4, 4, 5\)'),
      ('rank', [], r'expected a tensor of rank >= 1'))
  def test_bad_input(self, shape, message):
    bijector_checks.check_rejects_input(self, ActNorm(3), tf.zeros(shape),
                                        message)

  @parameterized.named_parameters(
      ('zero', dict(num_channels=0), r'`num_channels` must be a positive '
       r'integer, got 0'),
      ('float', dict(num_channels=3.0), r'`num_channels` must be a positive '
       r'integer, got 3\.0'),
      ('dtype', dict(num_channels=3, dtype=tf.int32),
       r'`dtype` must be a float dtype, got int32'),
      ('log_scale_factor', dict(num_channels=3, log_scale_factor=0.0),
       r'`log_scale_factor` must be a positive float, got 0\.0'),
      ('log_scale_factor_bool', dict(num_channels=3, log_scale_factor=True),
       r'`log_scale_factor` must be a positive float, got True'),
      ('log_scale_factor_inf',
       dict(num_channels=3, log_scale_factor=float('inf')),
       r'`log_scale_factor` must be a positive float, got inf'))
  def test_bad_arguments(self, kwargs, message):
    with self.assertRaisesRegex(ValueError, message):
      ActNorm(**kwargs)


if __name__ == '__main__':
  tf.test.main()
