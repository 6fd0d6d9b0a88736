"""Tests of glow_tf.context_encoder: one encoding, at every level's shape."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from glow_tf.context_encoder import check_context_shape
from glow_tf.context_encoder import ContextEncoder


def _context(shape, seed=0):
  return tf.random.stateless_normal(shape, seed=[seed, 13], dtype=tf.float64)


def _encoder(context_shape, level_sizes, channels=3, seed=0):
  encoder = ContextEncoder(context_shape, level_sizes, channels=channels,
                           seed=seed, dtype=tf.float64, kernels='reference')
  # A bias off zero, so that the relu cuts somewhere inside the batch.
  for variable in encoder.trainable_variables:
    if variable.name.endswith('bias:0'):
      variable.assign(np.linspace(-0.05, 0.05, variable.shape[0]))
  return encoder


def _conv_same(image, kernel, bias):
  """A 'SAME' 3x3 convolution of `[h, w, c]` by explicit sums (numpy)."""
  h, w, _ = image.shape
  padded = np.pad(image, [(1, 1), (1, 1), (0, 0)])
  out = np.zeros([h, w, kernel.shape[-1]])
  for i in range(h):
    for j in range(w):
      patch = padded[i:i + 3, j:j + 3, :]
      out[i, j] = np.einsum('abc,abco->o', patch, kernel) + bias
  return out


class ContextEncoderTest(tf.test.TestCase, parameterized.TestCase):

  def test_vector_context_is_a_dense_relu_at_every_pixel(self):
    encoder = _encoder((5,), [(4, 4), (2, 2), (1, 1)])
    context = _context([6, 5])
    features = encoder(context)
    expected = np.maximum(
        context.numpy() @ encoder.kernel.numpy() + encoder.bias.numpy(), 0)
    self.assertGreater(np.mean(expected == 0), 0.1)  # the relu cuts
    self.assertGreater(np.mean(expected > 0), 0.1)
    self.assertLen(features, 3)
    for f, size in zip(features, [(4, 4), (2, 2), (1, 1)]):
      self.assertEqual(f.shape, [6, *size, 3])
      # The same vector at every pixel.
      self.assertAllClose(
          f, np.broadcast_to(expected[:, None, None, :], f.shape), atol=1e-12)

  def test_image_context_is_a_conv_relu_then_average_pooled(self):
    # A 4x4 context, levels 4x4 (as is), 2x2 and 1x1 (averages of blocks).
    encoder = _encoder((4, 4, 2), [(4, 4), (2, 2), (1, 1)])
    context = _context([3, 4, 4, 2], seed=1)
    features = [f.numpy() for f in encoder(context)]
    kernel, bias = encoder.conv.kernel.numpy(), encoder.conv.bias.numpy()
    for n in range(3):
      full = np.maximum(_conv_same(context.numpy()[n], kernel, bias), 0)
      self.assertGreater(np.mean(full == 0), 0.05)
      self.assertAllClose(features[0][n], full, atol=1e-12)
      blocks = full.reshape(2, 2, 2, 2, 3).mean(axis=(1, 3))
      self.assertAllClose(features[1][n], blocks, atol=1e-12)
      self.assertAllClose(features[2][n], full.mean(axis=(0, 1))[None, None],
                          atol=1e-12)

  def test_image_context_is_resized_where_pooling_cannot(self):
    # 2x2 -> 4x4 (upsampled) and 3x3 -> 2x2 (no whole blocks): bilinear
    # resizing of the encoded image, as tf.image.resize does it.
    for context_shape, size in (((2, 2, 1), (4, 4)), ((3, 3, 1), (2, 2))):
      encoder = _encoder(context_shape, [size])
      context = _context([2, *context_shape], seed=2)
      encoded = tf.nn.relu(tf.nn.conv2d(context, encoder.conv.kernel, 1,
                                        'SAME') + encoder.conv.bias)
      expected = tf.image.resize(encoded, size, method='bilinear',
                                 antialias=True)
      feature, = encoder(context)
      self.assertEqual(feature.shape, [2, *size, 3])
      self.assertAllClose(feature, expected, atol=1e-12)

  @parameterized.parameters(((5,),), ((4, 4, 2),))
  def test_any_batch_shape(self, context_shape):
    encoder = _encoder(context_shape, [(4, 4), (2, 2)])
    context = _context([2, 3, *context_shape], seed=3)
    flat = encoder(tf.reshape(context, [6, *context_shape]))
    batched = encoder(context)
    single = encoder(context[1, 2])
    for f, g, s in zip(flat, batched, single):
      self.assertEqual(g.shape, [2, 3, *f.shape[1:]])
      self.assertAllClose(tf.reshape(g, f.shape), f, atol=1e-12)
      self.assertAllClose(s, g[1, 2], atol=1e-12)
    # Unknown batch dimensions in a graph.
    traced = tf.function(encoder, input_signature=[tf.TensorSpec(
        [None, None, *context_shape], tf.float64)])
    for f, g in zip(traced(context), batched):
      self.assertAllClose(f, g, atol=1e-12)

  def test_every_variable_gets_a_gradient_and_the_seed_fixes_them(self):
    for context_shape in ((5,), (4, 4, 2)):
      encoder = _encoder(context_shape, [(4, 4), (2, 2)])
      context = _context([4, *context_shape], seed=4)
      with tf.GradientTape() as tape:
        loss = sum(tf.reduce_sum(f**2) for f in encoder(context))
      grads = tape.gradient(loss, encoder.trainable_variables)
      self.assertLen(grads, 2)  # kernel, bias
      for variable, grad in zip(encoder.trainable_variables, grads):
        self.assertGreater(float(tf.reduce_max(tf.abs(grad))), 0,
                           variable.name)
      again = _encoder(context_shape, [(4, 4), (2, 2)])
      other = _encoder(context_shape, [(4, 4), (2, 2)], seed=1)
      for a, b, c in zip(encoder.variables, again.variables, other.variables):
        self.assertAllEqual(a, b)
        if 'kernel' in a.name:
          self.assertNotAllClose(a, c)

  def test_properties(self):
    encoder = _encoder((4, 4, 2), [(2, 2)], channels=7)
    self.assertEqual(encoder.context_shape, (4, 4, 2))
    self.assertEqual(encoder.channels, 7)

  @parameterized.parameters(([3], (3,)), ((4, 4, 1), (4, 4, 1)),
                            (np.array([2, 3, 4]), (2, 3, 4)))
  def test_check_context_shape_gives_a_tuple_of_ints(self, shape, expected):
    checked = check_context_shape(shape)
    self.assertEqual(checked, expected)
    self.assertTrue(all(type(d) is int for d in checked))

  @parameterized.parameters(
      *[(shape,) for shape in (None, 3, (), (4, 4), (1, 2, 3, 4), (0,), (-2,),
                               (4.0,), (True,), ('4',))])
  def test_bad_context_shape(self, shape):
    with self.assertRaisesRegex(ValueError, 'context_shape must be'):
      check_context_shape(shape)
    with self.assertRaisesRegex(ValueError, 'context_shape must be'):
      ContextEncoder(shape, [(2, 2)], dtype=tf.float64)

  def test_bad_channels(self):
    with self.assertRaisesRegex(ValueError, '`channels` must be a positive'):
      ContextEncoder((3,), [(2, 2)], channels=0)


if __name__ == '__main__':
  tf.test.main()
