"""Tests of InvertibleConv1x1, in LU form and as a plain matrix."""

import os
import tempfile

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from glow_tf.bijectors import InvertibleConv1x1
from tests import bijector_checks


def _images(shape, seed=0, dtype=tf.float64):
  return tf.random.stateless_normal(shape, seed=[seed, 7], dtype=dtype)


class InvertibleConv1x1Test(tf.test.TestCase, parameterized.TestCase):

  @parameterized.product(
      lu_decomposed=[True, False],
      case=[dict(dtype=tf.float64, batch_shape=[2], event_shape=[4, 4, 4]),
            dict(dtype=tf.float32, batch_shape=[2], event_shape=[4, 4, 4]),
            dict(dtype=tf.float64, batch_shape=[3, 2], event_shape=[4, 4, 4]),
            dict(dtype=tf.float64, batch_shape=[4], event_shape=[5])])
  def test_bijector_checks(self, lu_decomposed, case):
    conv = InvertibleConv1x1(case['event_shape'][-1],
                             lu_decomposed=lu_decomposed, seed=1,
                             dtype=case['dtype'])
    bijector_checks.check_bijector(
        self, conv, case['event_shape'], dtype=case['dtype'],
        batch_shape=case['batch_shape'],
        num_trainable=3 if lu_decomposed else 1)

  @parameterized.parameters(True, False)
  def test_starts_as_a_rotation(self, lu_decomposed):
    conv = InvertibleConv1x1(6, lu_decomposed=lu_decomposed, seed=3,
                             dtype=tf.float64)
    w = conv.matrix().numpy()
    self.assertAllClose(w @ w.T, np.eye(6), atol=1e-12)
    self.assertAllClose(np.linalg.det(w), 1.0, atol=1e-12)
    self.assertGreater(np.max(np.abs(w - np.eye(6))), 0.1)  # Not the identity.
    x = _images([2, 4, 4, 6])
    self.assertAllClose(conv.inverse_log_det_jacobian(x, event_ndims=3), 0.0,
                        atol=1e-12)
    if lu_decomposed:
      self.assertAllClose(np.sum(conv.log_abs), 0.0, atol=1e-12)

  def test_seeds(self):
    same = [InvertibleConv1x1(4, seed=5).matrix() for _ in range(2)]
    self.assertAllEqual(same[0], same[1])
    self.assertNotAllClose(same[0], InvertibleConv1x1(4, seed=6).matrix())

  def test_lu_reconstruction(self):
    conv = InvertibleConv1x1(5, seed=0, dtype=tf.float64)
    bijector_checks.perturb_variables(conv, seed=1)
    # The perturbation also filled the other triangles of `lower` and
    # `upper`; W must ignore them, so the reference masks them out.
    p = conv.permutation.numpy()
    lower = np.tril(conv.lower.numpy(), -1) + np.eye(5)
    upper = np.triu(conv.upper.numpy(), 1) + np.diag(
        conv.sign.numpy() * np.exp(conv.log_abs.numpy()))
    w = conv.matrix().numpy()
    self.assertAllClose(w, p @ lower @ upper, atol=1e-12)
    self.assertAllEqual(p @ p.T, np.eye(5))  # A permutation matrix.
    self.assertAllClose(conv.inverse_matrix() @ conv.matrix(), np.eye(5),
                        atol=1e-12)
    self.assertAllClose(conv.inverse_matrix(), np.linalg.inv(w), atol=1e-12)
    # log|det W| = sum(log_abs), and TFP multiplies it by H * W on images.
    _, log_det = np.linalg.slogdet(w)
    self.assertAllClose(np.sum(conv.log_abs), log_det, atol=1e-12)
    self.assertGreater(abs(log_det), 0.05)
    x = _images([2, 3, 4, 5])
    self.assertAllClose(conv.inverse_log_det_jacobian(x, event_ndims=3),
                        3 * 4 * log_det, atol=1e-10)
    self.assertAllClose(conv.forward_log_det_jacobian(x, event_ndims=3),
                        -3 * 4 * log_det, atol=1e-10)
    # The map itself: z = W x per pixel.
    self.assertAllClose(conv.inverse(x), np.einsum('ij,nhwj->nhwi', w, x),
                        atol=1e-12)

  def test_plain_matrix_log_det(self):
    conv = InvertibleConv1x1(5, lu_decomposed=False, seed=0, dtype=tf.float64)
    bijector_checks.perturb_variables(conv, seed=1, scale=1.0)
    w = conv.weight.numpy()
    self.assertAllEqual(conv.matrix(), w)
    self.assertAllClose(conv.inverse_matrix() @ w, np.eye(5), atol=1e-12)
    _, log_det = np.linalg.slogdet(w)
    self.assertGreater(abs(log_det), 0.05)
    x = _images([2, 3, 4, 5])
    self.assertAllClose(conv.inverse_log_det_jacobian(x, event_ndims=3),
                        12 * log_det, atol=1e-10)

  @parameterized.parameters(True, False)
  def test_restore_with_another_seed(self, lu_decomposed):
    trained = InvertibleConv1x1(6, lu_decomposed=lu_decomposed, seed=0,
                                dtype=tf.float64)
    bijector_checks.perturb_variables(trained, seed=2)
    restored = InvertibleConv1x1(6, lu_decomposed=lu_decomposed, seed=1,
                                 dtype=tf.float64)
    if lu_decomposed:
      # The seeds give different P and sign, so the restore must bring them.
      self.assertNotAllClose(
          np.concatenate([restored.permutation.numpy().ravel(),
                          restored.sign.numpy()]),
          np.concatenate([trained.permutation.numpy().ravel(),
                          trained.sign.numpy()]))
    self.assertNotAllClose(restored.matrix(), trained.matrix())
    with tempfile.TemporaryDirectory() as directory:
      path = tf.train.Checkpoint(model=trained).write(
          os.path.join(directory, 'ckpt'))
      tf.train.Checkpoint(model=restored).read(path).assert_consumed()
    if lu_decomposed:
      self.assertAllEqual(restored.permutation, trained.permutation)
      self.assertAllEqual(restored.sign, trained.sign)
    self.assertAllEqual(restored.matrix(), trained.matrix())
    x = _images([2, 4, 4, 6])
    self.assertAllEqual(restored.inverse(x), trained.inverse(x))

  @parameterized.parameters((True, 3, 2), (False, 1, 0))
  def test_variables_are_tracked(self, lu_decomposed, trainable, fixed):
    conv = InvertibleConv1x1(4, lu_decomposed=lu_decomposed)
    self.assertLen(conv.trainable_variables, trainable)
    self.assertLen(conv.variables, trainable + fixed)
    count = sum(int(np.prod(v.shape)) for v in conv.trainable_variables)
    self.assertEqual(count, 4 * 4 + 4 * 4 + 4 if lu_decomposed else 4 * 4)
    if lu_decomposed:
      self.assertFalse(conv.permutation.trainable)
      self.assertFalse(conv.sign.trainable)
    bijector_checks.check_checkpoint_round_trip(self, conv)

  @parameterized.named_parameters(
      ('channels', [2, 4, 4, 3],
       r'expected 4 channels .*got shape \(2, 4, 4, 3\)'),
      ('rank', [], r'expected a tensor of rank >= 1'))
  def test_bad_input(self, shape, message):
    bijector_checks.check_rejects_input(self, InvertibleConv1x1(4),
                                        tf.zeros(shape), message)

  @parameterized.named_parameters(
      ('channels', dict(num_channels=-1),
       r'`num_channels` must be a positive integer, got -1'),
      ('lu', dict(num_channels=4, lu_decomposed='yes'),
       r"`lu_decomposed` must be True or False, got 'yes'"),
      ('dtype', dict(num_channels=4, dtype='int32'),
       r'`dtype` must be a float dtype, got int32'))
  def test_bad_arguments(self, kwargs, message):
    with self.assertRaisesRegex(ValueError, message):
      InvertibleConv1x1(**kwargs)


if __name__ == '__main__':
  tf.test.main()
