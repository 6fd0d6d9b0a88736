"""Tests of Squeeze: shapes, the documented channel order, errors."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf
from tensorflow_probability import bijectors as tfb

from glow_tf.bijectors import Squeeze
from tests import bijector_checks


def _squeeze_reference(x, factor):
  """The documented order, written out: channel (i * f + j) * C + c of
  output pixel (h, w) holds input pixel (h * f + i, w * f + j), channel c."""
  *batch, height, width, channels = x.shape
  f = factor
  y = np.zeros([*batch, height // f, width // f, channels * f * f], x.dtype)
  for h in range(height // f):
    for w in range(width // f):
      for i in range(f):
        for j in range(f):
          for c in range(channels):
            y[..., h, w, (i * f + j) * channels + c] = x[..., h * f + i,
                                                         w * f + j, c]
  return y


class SqueezeTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(
      ('float64', 2, tf.float64, [2]),
      ('float32', 2, tf.float32, [2]),
      ('extra_batch_dims', 2, tf.float64, [3, 2]),
      ('factor_3', 3, tf.float64, [2]))
  def test_bijector_checks(self, factor, dtype, batch_shape):
    # Squeeze's inverse (the image side) takes the squeezed shape.
    bijector_checks.check_bijector(
        self, Squeeze(factor, dtype=dtype), [2, 2, 2 * factor * factor],
        dtype=dtype, batch_shape=batch_shape, num_trainable=0)

  @parameterized.parameters((2, tf.float64), (2, tf.float32), (3, tf.float64))
  def test_bijector_checks_inverted(self, factor, dtype):
    # As Glow uses it: squeeze on the way from image to latent.
    bijector = tfb.Invert(Squeeze(factor, dtype=dtype))
    bijector_checks.check_bijector(
        self, bijector, [2 * factor, 2 * factor, 2], dtype=dtype,
        batch_shape=[2], num_trainable=0)

  @parameterized.parameters(
      ([2, 4, 4, 3], 2), ([3, 2, 4, 6, 1], 2), ([1, 6, 3, 2], 3),
      ([4, 2, 1], 2))
  def test_matches_reference(self, shape, factor):
    x = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    squeeze = Squeeze(factor, dtype=tf.float64)
    expected = _squeeze_reference(x, factor)
    y = squeeze.forward(x)
    self.assertAllEqual(y, expected)
    self.assertAllEqual(squeeze.inverse(tf.constant(expected)), x)
    self.assertEqual(squeeze.forward_event_shape(shape), expected.shape)
    self.assertEqual(squeeze.inverse_event_shape(expected.shape), shape)
    self.assertAllEqual(squeeze.forward_event_shape_tensor(shape),
                        expected.shape)
    self.assertAllEqual(squeeze.inverse_event_shape_tensor(expected.shape),
                        shape)
    self.assertAllEqual(squeeze.forward_log_det_jacobian(x, event_ndims=3), 0.)
    self.assertAllEqual(
        squeeze.inverse_log_det_jacobian(expected, event_ndims=3), 0.)

  def test_documented_example(self):
    self.assertEqual(Squeeze().forward(tf.zeros([8, 32, 32, 3])).shape,
                     [8, 16, 16, 12])

  def test_unknown_batch_in_graph(self):
    squeeze = Squeeze(dtype=tf.float64)
    forward = tf.function(squeeze.forward, input_signature=[
        tf.TensorSpec([None, None, 4, 4, 2], tf.float64)])
    x = np.arange(3 * 2 * 4 * 4 * 2, dtype=np.float64).reshape(3, 2, 4, 4, 2)
    self.assertAllEqual(forward(x), _squeeze_reference(x, 2))

  @parameterized.named_parameters(
      ('odd_height', 'forward', [2, 5, 4, 3],
       r'image height must be divisible by factor=2, got shape '
       r'\(2, 5, 4, 3\)'),
      ('odd_width', 'forward', [2, 4, 3, 3],
       r'image width must be divisible by factor=2'),
      ('rank', 'forward', [4, 4],
       r'expected \[\.\.\., H, W, C\] \(rank >= 3\), got shape \(4, 4\)'),
      ('inverse_channels', 'inverse', [2, 2, 2, 6],
       r'channels must be divisible by factor\*\*2=4 to unsqueeze, got shape '
       r'\(2, 2, 2, 6\)'),
      ('inverse_rank', 'inverse', [2, 4],
       r'expected \[\.\.\., H, W, C\] \(rank >= 3\)'))
  def test_bad_input(self, method, shape, message):
    squeeze = Squeeze()
    with self.assertRaisesRegex(ValueError, message):
      getattr(squeeze, method)(tf.zeros(shape))

  @parameterized.named_parameters(
      ('zero', dict(factor=0), r'`factor` must be a positive integer, got 0'),
      ('float', dict(factor=2.0),
       r'`factor` must be a positive integer, got 2\.0'),
      ('dtype', dict(dtype=tf.int64), r'`dtype` must be a float dtype'))
  def test_bad_arguments(self, kwargs, message):
    with self.assertRaisesRegex(ValueError, message):
      Squeeze(**kwargs)


if __name__ == '__main__':
  tf.test.main()
