"""Squeeze: space-to-depth as a volume-preserving bijector."""

import tensorflow as tf

from glow_tf import _checks
from glow_tf import _shapes
from glow_tf.bijectors.glow_bijector import GlowBijector

__all__ = ['Squeeze']


class Squeeze(GlowBijector):
  """Moves `factor x factor` spatial blocks into channels (log-det 0).

  ```
  forward:  [..., H, W, C] -> [..., H / f, W / f, C * f * f]   (space to depth)
  inverse:  [..., H / f, W / f, C * f * f] -> [..., H, W, C]   (depth to space)
  ```

  Channel order is that of `tf.nn.space_to_depth`: output channel
  `(i * f + j) * C + c` of output pixel `(h, w)` holds input pixel
  `(h * f + i, w * f + j)`, channel `c`.

  Note the direction: Glow squeezes on the way from image to latent, so in a
  model whose forward maps latent -> image, a `Squeeze` appears inverted.

  #### Examples

  ```python
  squeeze = glow_tf.bijectors.Squeeze()
  squeeze.forward(tf.zeros([8, 32, 32, 3])).shape   # [8, 16, 16, 12]
  ```
  """

  def __init__(self, factor=2, validate_args=False, dtype=tf.float32,
               name='squeeze'):
    parameters = dict(locals())
    self._factor = _checks.positive_int(factor, 'factor')
    with tf.name_scope(name) as scope_name:
      super().__init__(forward_min_event_ndims=3, is_constant_jacobian=True,
                       validate_args=validate_args,
                       dtype=_checks.float_dtype(dtype),
                       parameters=parameters, name=scope_name.rstrip('/'))

  @property
  def factor(self):
    return self._factor

  def _check_rank(self, x):
    if x.shape.rank is not None and x.shape.rank < 3:
      raise ValueError(f'{self.name}: expected [..., H, W, C] (rank >= 3), '
                       f'got shape {x.shape}.')

  def _forward(self, x):
    self._check_rank(x)
    f = self._factor
    for axis, side in (('height', x.shape[-3]), ('width', x.shape[-2])):
      if side is not None and side % f:
        raise ValueError(
            f'{self.name}: image {axis} must be divisible by factor={f}, '
            f'got shape {x.shape}.')
    flat, undo = _shapes.to_rank4(x)
    return undo(tf.nn.space_to_depth(flat, f))

  def _inverse(self, y):
    self._check_rank(y)
    f = self._factor
    channels = y.shape[-1]
    if channels is not None and channels % (f * f):
      raise ValueError(
          f'{self.name}: channels must be divisible by factor**2={f * f} to '
          f'unsqueeze, got shape {y.shape}.')
    flat, undo = _shapes.to_rank4(y)
    return undo(tf.nn.depth_to_space(flat, f))

  def _forward_log_det_jacobian(self, x):
    return tf.zeros([], self.dtype)

  def _inverse_log_det_jacobian(self, y):
    return tf.zeros([], self.dtype)

  def _forward_event_shape(self, input_shape):
    f = self._factor
    h, w, c = input_shape[-3:]
    return input_shape[:-3].concatenate(
        [None if h is None else h // f, None if w is None else w // f,
         None if c is None else c * f * f])

  def _inverse_event_shape(self, output_shape):
    f = self._factor
    h, w, c = output_shape[-3:]
    return output_shape[:-3].concatenate(
        [None if h is None else h * f, None if w is None else w * f,
         None if c is None else c // (f * f)])

  def _forward_event_shape_tensor(self, input_shape):
    f = self._factor
    return tf.concat([input_shape[:-3], input_shape[-3:-1] // f,
                      input_shape[-1:] * f * f], axis=0)

  def _inverse_event_shape_tensor(self, output_shape):
    f = self._factor
    return tf.concat([output_shape[:-3], output_shape[-3:-1] * f,
                      output_shape[-1:] // (f * f)], axis=0)
