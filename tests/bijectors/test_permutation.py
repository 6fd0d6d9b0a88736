"""Tests of ChannelPermutation (shuffle and reverse)."""

import os
import tempfile

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from glow_tf.bijectors import ChannelPermutation
from tests import bijector_checks


class ChannelPermutationTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.product(
      kind=['shuffle', 'reverse'],
      case=[dict(dtype=tf.float64, batch_shape=[2], event_shape=[4, 4, 4]),
            dict(dtype=tf.float32, batch_shape=[2], event_shape=[4, 4, 4]),
            dict(dtype=tf.float64, batch_shape=[3, 2], event_shape=[4, 4, 4]),
            dict(dtype=tf.float64, batch_shape=[4], event_shape=[6])])
  def test_bijector_checks(self, kind, case):
    permutation = ChannelPermutation(case['event_shape'][-1], kind=kind,
                                     seed=0, dtype=case['dtype'])
    bijector_checks.check_bijector(
        self, permutation, case['event_shape'], dtype=case['dtype'],
        batch_shape=case['batch_shape'], num_trainable=0)

  def test_reverse(self):
    permutation = ChannelPermutation(4, kind='reverse')
    self.assertEqual(permutation.kind, 'reverse')
    self.assertAllEqual(permutation.inverse(tf.constant([[0., 1., 2., 3.]])),
                        [[3., 2., 1., 0.]])
    self.assertAllEqual(permutation.forward(tf.constant([[0., 1., 2., 3.]])),
                        [[3., 2., 1., 0.]])

  @parameterized.parameters(0, 1, 2)
  def test_shuffle_matches_reference(self, seed):
    permutation = ChannelPermutation(6, kind='shuffle', seed=seed,
                                     dtype=tf.float64)
    perm = permutation.permutation.numpy()
    self.assertAllEqual(np.sort(perm), np.arange(6))
    self.assertNotAllEqual(perm, np.arange(6))
    x = np.random.default_rng(seed).normal(size=(2, 3, 3, 6))
    z = permutation.inverse(x)
    for i in range(6):
      self.assertAllEqual(z[..., i], x[..., perm[i]])
    self.assertAllEqual(permutation.forward(tf.identity(z)), x)
    self.assertAllEqual(
        permutation.inverse_log_det_jacobian(x, event_ndims=3), 0.)

  def test_seeds(self):
    def draw(seed):
      return ChannelPermutation(8, seed=seed).permutation.numpy()
    self.assertAllEqual(draw(3), draw(3))
    self.assertNotAllEqual(draw(3), draw(4))

  def test_restore_with_another_seed(self):
    trained = ChannelPermutation(8, seed=0, dtype=tf.float64)
    restored = ChannelPermutation(8, seed=1, dtype=tf.float64)
    self.assertNotAllEqual(restored.permutation, trained.permutation)
    with tempfile.TemporaryDirectory() as directory:
      path = tf.train.Checkpoint(model=trained).write(
          os.path.join(directory, 'ckpt'))
      tf.train.Checkpoint(model=restored).read(path).assert_consumed()
    self.assertAllEqual(restored.permutation, trained.permutation)
    x = tf.random.stateless_normal([2, 8], seed=[0, 0], dtype=tf.float64)
    self.assertAllEqual(restored.inverse(x), trained.inverse(x))

  def test_variables_are_tracked(self):
    permutation = ChannelPermutation(5)
    self.assertEmpty(permutation.trainable_variables)
    self.assertLen(permutation.variables, 1)
    bijector_checks.check_checkpoint_round_trip(self, permutation)

  @parameterized.named_parameters(
      ('channels', [2, 4, 4, 3],
       r'expected 4 channels .*got shape \(2, 4, 4, 3\)'),
      ('rank', [], r'expected a tensor of rank >= 1'))
  def test_bad_input(self, shape, message):
    bijector_checks.check_rejects_input(self, ChannelPermutation(4),
                                        tf.zeros(shape), message)

  @parameterized.named_parameters(
      ('kind', dict(num_channels=4, kind='x'),
       r"`kind` must be one of \['shuffle', 'reverse'\], got 'x'"),
      ('channels', dict(num_channels=0),
       r'`num_channels` must be a positive integer, got 0'),
      ('dtype', dict(num_channels=4, dtype=tf.int32),
       r'`dtype` must be a float dtype, got int32'))
  def test_bad_arguments(self, kwargs, message):
    with self.assertRaisesRegex(ValueError, message):
      ChannelPermutation(**kwargs)


if __name__ == '__main__':
  tf.test.main()
