"""The learned (optionally class-conditional) Gaussian prior of the top latent."""

import tensorflow as tf

from glow_tf import _checks
from glow_tf import _shapes
from glow_tf import networks
from glow_tf.bijectors.glow_bijector import GlowBijector

__all__ = ['LearnedPrior']


def check_labels(labels, num_classes):
  """Validates class labels: present, integer, in `[0, num_classes)`.

  Returns them as int32 or int64, the index dtypes of `tf.gather`.
  """
  if labels is None:
    raise ValueError(
        f'This model is class-conditional (num_classes={num_classes}): pass '
        '`labels`, integers in [0, num_classes).')
  labels = tf.convert_to_tensor(labels)
  if not labels.dtype.is_integer:
    raise ValueError(f'`labels` must be integers, got dtype {labels.dtype.name}.')
  # tf.gather takes int32 and int64 indices only: cast the others, exactly
  # (a uint64 above 2**63 turns negative, and is refused below).
  if labels.dtype in (tf.int8, tf.uint8, tf.int16, tf.uint16):
    labels = tf.cast(labels, tf.int32)
  elif labels.dtype in (tf.uint32, tf.uint64):
    labels = tf.cast(labels, tf.int64)
  if tf.executing_eagerly():
    values = labels.numpy()
    if values.size and (values.min() < 0 or values.max() >= num_classes):
      raise ValueError(f'`labels` must be in [0, {num_classes}), got values in '
                       f'[{values.min()}, {values.max()}].')
  else:
    with tf.control_dependencies([
        tf.debugging.assert_non_negative(
            labels, message='`labels` must be >= 0'),
        tf.debugging.assert_less(
            labels, tf.cast(num_classes, labels.dtype),
            message=f'`labels` must be < num_classes={num_classes}')]):
      labels = tf.identity(labels)
  return labels


class LearnedPrior(GlowBijector):
  """A per-channel Gaussian `N(mean, exp(log_scale))`, as a bijector from N(0, 1).

  ```
  mean = loc + class_loc[label],   log_scale = scale + class_log_scale[label]
  inverse (latent -> eps):  eps = (z - mean) * exp(-log_scale)
  forward (eps -> latent):  z = mean + exp(log_scale) * eps
  ```

  Every parameter starts at zero (a standard normal). With `learn=False` and
  no classes it is the identity. With `num_classes`, `labels` (integers of the
  batch shape) must be passed to every call: `forward(eps, labels=y)`.

  With `context_channels > 0` the prior also depends on a context, per
  pixel: every call takes `context` `[..., H, W, context_channels]`, and a
  zero-initialised 3x3 convolution of it adds to the mean and log-scale:

  ```
  [context_loc, context_log_scale] = ZeroConv3x3(context)
  ```

  #### Examples

  ```python
  prior = LearnedPrior(num_channels=48, num_classes=10)
  z = prior.forward(eps, labels=tf.constant([3, 7]))
  ```
  """

  def __init__(self, num_channels, learn=True, num_classes=None,
               dtype=tf.float32, context_channels=0, kernels='fast',
               validate_args=False, name='learned_prior'):
    parameters = dict(locals())
    c = self._num_channels = _checks.positive_int(num_channels, 'num_channels')
    if num_classes is not None:
      num_classes = _checks.positive_int(num_classes, 'num_classes')
    self._num_classes = num_classes
    self._learn = bool(learn)
    self._context_channels = _checks.positive_int(
        context_channels, 'context_channels', allow_zero=True)
    dtype = _checks.float_dtype(dtype)
    with tf.name_scope(name) as scope_name:
      if self._learn:
        self.loc = tf.Variable(tf.zeros([c], dtype), name='loc')
        self.log_scale = tf.Variable(tf.zeros([c], dtype), name='log_scale')
      if num_classes is not None:
        self.class_loc = tf.Variable(tf.zeros([num_classes, c], dtype),
                                     name='class_loc')
        self.class_log_scale = tf.Variable(tf.zeros([num_classes, c], dtype),
                                           name='class_log_scale')
      if self._context_channels:
        self.conditioner = networks.ZeroConv2D(
            self._context_channels, 2 * c, dtype=dtype, kernels=kernels,
            name='context_prior')
      super().__init__(forward_min_event_ndims=3, validate_args=validate_args,
                       dtype=dtype, parameters=parameters,
                       name=scope_name.rstrip('/'))

  @property
  def learn(self):
    """Whether the class-independent mean and log-scale are learned."""
    return self._learn

  @property
  def num_classes(self):
    return self._num_classes

  @property
  def context_channels(self):
    """Channels of the `context` this prior takes (0: none)."""
    return self._context_channels

  def mean_and_log_scale(self, labels=None, context=None, like=None):
    """`(mean, log_scale)`: `[C]`; `[*batch, 1, 1, C]` with labels; per pixel
    `[*batch, H, W, C]` with a context (`like`: a tensor of the event's shape,
    for the context's checks)."""
    c = self._num_channels
    mean = self.loc if self._learn else tf.zeros([c], self.dtype)
    log_scale = self.log_scale if self._learn else tf.zeros([c], self.dtype)
    mean, log_scale = tf.convert_to_tensor(mean), tf.convert_to_tensor(
        log_scale)
    if self._num_classes is None:
      if labels is not None:
        raise ValueError('`labels` given to a model without classes '
                         '(num_classes=None).')
    else:
      labels = check_labels(labels, self._num_classes)
      mean += tf.gather(self.class_loc, labels)[..., None, None, :]
      log_scale += tf.gather(self.class_log_scale, labels)[..., None, None, :]
    if like is None and context is not None:
      like = context[..., :1]
    context = _checks.check_context(
        context, self._context_channels,
        like if like is not None else tf.zeros([0, 1, 1, 1], self.dtype),
        self.name)
    if context is not None:
      flat, undo = _shapes.to_rank4(context)
      context_mean, context_log_scale = tf.split(
          undo(self.conditioner(flat)), 2, axis=-1)
      mean, log_scale = mean + context_mean, log_scale + context_log_scale
    return mean, log_scale

  def _check(self, x):
    return _checks.check_event(x, self, self._num_channels, min_rank=3)

  def _event_log_det(self, log_scale, x):
    """The sum of `log_scale` over an event `[H, W, C]` of `x`, per example."""
    if log_scale.shape.rank == 1:  # per channel, the same for every example
      spatial = tf.cast(tf.reduce_prod(tf.shape(x)[-3:-1]), self.dtype)
      return tf.broadcast_to(spatial * tf.reduce_sum(log_scale),
                             tf.shape(x)[:-3])
    return tf.reduce_sum(log_scale + tf.zeros_like(x), axis=[-3, -2, -1])

  def _inverse_and_log_det(self, z, labels=None, context=None):
    z = self._check(z)
    mean, log_scale = self.mean_and_log_scale(labels, context, like=z)
    eps = (z - mean) * tf.exp(-log_scale)
    return eps, -self._event_log_det(log_scale, z)

  def _forward_and_log_det(self, eps, labels=None, context=None):
    eps = self._check(eps)
    mean, log_scale = self.mean_and_log_scale(labels, context, like=eps)
    z = mean + tf.exp(log_scale) * eps
    return z, self._event_log_det(log_scale, eps)
