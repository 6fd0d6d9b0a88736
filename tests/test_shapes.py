"""Tests of glow_tf._shapes: batch flattening, channel splits, event sums."""

import tensorflow as tf

from glow_tf import _shapes


class ShapesTest(tf.test.TestCase):

  def test_to_rank4_round_trip(self):
    x = tf.reshape(tf.range(2 * 3 * 4 * 2 * 5, dtype=tf.float32),
                   [2, 3, 4, 2, 5])
    flat, undo = _shapes.to_rank4(x)
    # The six images in row-major order of the batch.
    self.assertAllEqual(flat, tf.reshape(x, [6, 4, 2, 5]))
    self.assertAllEqual(flat[4], x[1, 1])
    self.assertAllEqual(undo(flat), x)
    # A map that changes the event shape comes back with the batch shape.
    halved = undo(flat[:, ::2, :, :3])
    self.assertAllEqual(halved, x[:, :, ::2, :, :3])
    self.assertEqual(halved.shape, [2, 3, 2, 2, 3])

  def test_to_rank4_leaves_rank4_and_unknown_batches(self):
    x = tf.ones([3, 2, 2, 1])
    flat, undo = _shapes.to_rank4(x)
    self.assertIs(flat, x)
    self.assertIs(undo(x), x)

    @tf.function(input_signature=[
        tf.TensorSpec([None, None, 2, 2, 1], tf.float32)])
    def round_trip(x):
      flat, undo = _shapes.to_rank4(x)
      self.assertEqual(flat.shape.as_list(), [None, 2, 2, 1])
      back = undo(flat * 2.0)
      self.assertEqual(back.shape.as_list(), [None, None, 2, 2, 1])
      return back

    x = tf.reshape(tf.range(24, dtype=tf.float32), [3, 2, 2, 2, 1])
    self.assertAllEqual(round_trip(x), 2.0 * x)

  def test_to_rank4_gives_a_single_image_a_batch_of_one(self):
    x = tf.reshape(tf.range(8, dtype=tf.float32), [2, 2, 2])
    flat, undo = _shapes.to_rank4(x)
    self.assertAllEqual(flat, x[tf.newaxis])
    self.assertAllEqual(undo(flat), x)
    self.assertEqual(undo(flat).shape, [2, 2, 2])

  def test_split_channels_equals_slices_and_its_gradient_is_their_adjoint(self):
    x = tf.reshape(tf.range(2 * 3 * 3 * 5, dtype=tf.float64), [2, 3, 3, 5])
    w = tf.random.stateless_normal(x.shape, [1, 2], dtype=tf.float64)
    with tf.GradientTape() as tape:
      tape.watch(x)
      first, rest = _shapes.split_channels(x, 2)
      loss = (tf.reduce_sum(first * w[..., :2]) +
              tf.reduce_sum(tf.square(rest) * w[..., 2:]))
    self.assertAllEqual(first, x[..., :2])
    self.assertAllEqual(rest, x[..., 2:])
    self.assertAllClose(tape.gradient(loss, x),
                        tf.concat([w[..., :2], 2.0 * x[..., 2:] * w[..., 2:]],
                                  axis=-1))

  def test_split_channels_with_an_unknown_channel_count(self):
    @tf.function(input_signature=[tf.TensorSpec([None, 2, 2, None])])
    def split(x):
      first, rest = _shapes.split_channels(x, 1)
      return first, rest

    x = tf.reshape(tf.range(24, dtype=tf.float32), [2, 2, 2, 3])
    first, rest = split(x)
    self.assertAllEqual(first, x[..., :1])
    self.assertAllEqual(rest, x[..., 1:])

  def test_sum_over_event(self):
    like = tf.zeros([2, 3, 4, 5])
    per_pixel = tf.reshape(tf.range(24, dtype=tf.float32), [2, 3, 4])
    self.assertAllEqual(_shapes.sum_over_event(per_pixel, like, 1, 1),
                        per_pixel)
    self.assertAllEqual(_shapes.sum_over_event(per_pixel, like, 1, 3),
                        tf.reduce_sum(per_pixel, [1, 2]))
    # A constant Jacobian's scalar log-det counts once per pixel.
    self.assertAllEqual(_shapes.sum_over_event(tf.constant(0.5), like, 1, 3),
                        [6.0, 6.0])


if __name__ == '__main__':
  tf.test.main()
