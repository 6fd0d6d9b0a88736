"""The multi-scale split: half the channels leave under a learned Gaussian prior."""

import tensorflow as tf

from glow_tf import _checks
from glow_tf import _shapes
from glow_tf import networks
from glow_tf.bijectors.glow_bijector import GlowBijector

__all__ = ['SplitPrior']


class SplitPrior(GlowBijector):
  """Standardises the split-off channels by a prior conditioned on the rest.

  With `x = [x_a, x_b]` split on channels (`x_a`, the first `C // 2`, stay in
  the flow; `x_b` leaves it) and `[mean, log_scale] = ZeroConv3x3(x_a)`:

  ```
  inverse (image -> latent):  eps = (x_b - mean) * exp(-log_scale)
  forward (latent -> image):  x_b = mean + exp(log_scale) * eps
  inverse_log_det_jacobian  = -sum over H, W, C_b of log_scale
  ```

  A standard normal on `eps` is then exactly Glow's learned conditional prior
  `x_b ~ N(mean(x_a), exp(log_scale(x_a)))`: `log N(eps; 0, 1) + ildj` equals
  `log N(x_b; mean, exp(log_scale))`. Scaling `eps` by a temperature `T`
  scales the prior's standard deviation by `T`. The convolution is
  zero-initialised, so the prior starts as N(0, 1). `inverse_and_log_det`
  runs the convolution once for both the output and the log-det.

  With `context_channels > 0` the prior is also conditioned on a context:
  every call takes `context` `[..., H, W, context_channels]`, and the
  convolution reads `[context, x_a]`.

  #### Examples

  ```python
  split = SplitPrior(num_channels=12)
  out, ildj = split.inverse_and_log_det(x)   # [..., :6] = x_a, [..., 6:] = eps
  ```
  """

  def __init__(self, num_channels, dtype=tf.float32, edge_padding=False,
               kernels='fast', context_channels=0, validate_args=False,
               name='split_prior'):
    parameters = dict(locals())
    c = self._num_channels = _checks.positive_int(num_channels, 'num_channels')
    if c < 2:
      raise ValueError(f'`num_channels` must be >= 2 to split, got {c}.')
    self._keep = c // 2
    self._context_channels = _checks.positive_int(
        context_channels, 'context_channels', allow_zero=True)
    dtype = _checks.float_dtype(dtype)
    with tf.name_scope(name) as scope_name:
      self.conditioner = networks.ZeroConv2D(self._context_channels + self._keep, 2 * (c - self._keep),
                                             dtype=dtype,
                                             edge_padding=edge_padding,
                                             kernels=kernels, name='prior')
      super().__init__(forward_min_event_ndims=3, validate_args=validate_args,
                       dtype=dtype, parameters=parameters,
                       name=scope_name.rstrip('/'))

  @property
  def num_channels(self):
    return self._num_channels

  @property
  def kept_channels(self):
    """Channels that stay in the flow (the first ones)."""
    return self._keep

  @property
  def context_channels(self):
    """Channels of the `context` this prior takes (0: none)."""
    return self._context_channels

  def mean_and_log_scale(self, kept, context=None):
    """The prior's `(mean, log_scale)` of the split channels given `kept`."""
    context = _checks.check_context(context, self._context_channels, kept,
                                    self.name)
    if context is not None:
      kept = tf.concat([context, kept], axis=-1)
    flat, undo = _shapes.to_rank4(kept)
    return tf.split(undo(self.conditioner(flat)), 2, axis=-1)

  def _halves(self, x):
    _checks.check_event(x, self, self._num_channels, min_rank=3)
    return _shapes.split_channels(x, self._keep)

  def _inverse_and_log_det(self, x, context=None):
    kept, split = self._halves(x)
    mean, log_scale = self.mean_and_log_scale(kept, context)
    eps = (split - mean) * tf.exp(-log_scale)
    return (tf.concat([kept, eps], axis=-1),
            -tf.reduce_sum(log_scale, axis=[-3, -2, -1]))

  def _forward_and_log_det(self, z, context=None):
    kept, eps = self._halves(z)
    mean, log_scale = self.mean_and_log_scale(kept, context)
    return (tf.concat([kept, mean + tf.exp(log_scale) * eps], axis=-1),
            tf.reduce_sum(log_scale, axis=[-3, -2, -1]))
