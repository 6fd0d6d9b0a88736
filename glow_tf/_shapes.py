"""Shape helpers shared by the bijectors and the kernels."""

import tensorflow as tf

__all__ = ['split_channels', 'sum_over_event', 'to_rank4']


def to_rank4(x):
  """Reshapes `[*batch, H, W, C]` to `[N, H, W, C]`; returns it and an undo function."""
  if x.shape.rank == 4:
    return x, lambda y: y
  static_batch = x.shape[:-3]
  batch_shape = tf.shape(x)[:-3]
  flat = tf.reshape(x, tf.concat([[-1], tf.shape(x)[-3:]], axis=0))
  flat.set_shape([None] + x.shape[-3:].as_list())

  def undo(y):
    out = tf.reshape(y, tf.concat([batch_shape, tf.shape(y)[1:]], axis=0))
    out.set_shape(static_batch.concatenate(y.shape[1:]))
    return out

  return flat, undo


def split_channels(x, first):
  """`(x[..., :first], x[..., first:])` as one `tf.split`.

  Its gradient is one concatenation, where two slices' gradients are two
  zero-padded `StridedSliceGrad`s and their sum.
  """
  return tuple(tf.split(x, [first, -1], axis=-1))


def sum_over_event(log_det, like, min_ndims, event_ndims):
  """Sums a log-det given per event of rank `min_ndims` over `event_ndims`.

  The log-det is returned shaped like the batch of `like` at `event_ndims`.
  `log_det` broadcasts to `like`'s batch at `min_ndims` (a constant
  Jacobian's is a scalar); the sum is over the `event_ndims - min_ndims`
  axes of that batch that belong to the event.
  """
  extra = event_ndims - min_ndims
  if not extra:
    return log_det
  per_event = log_det + tf.zeros(tf.shape(like)[:-min_ndims], log_det.dtype)
  return tf.reduce_sum(per_event, axis=list(range(-extra, 0)))
