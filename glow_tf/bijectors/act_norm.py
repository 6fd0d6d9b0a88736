"""ActNorm: a per-channel affine map initialised from data (Glow, section 3.1)."""

import tensorflow as tf

from glow_tf import _checks
from glow_tf import act_norm_statistics
from glow_tf.bijectors.glow_bijector import GlowBijector

__all__ = ['ActNorm']


class ActNorm(GlowBijector):
  """Per-channel scale and bias, initialised so a batch is normalised.

  With TFP's direction convention (forward = latent -> image):

  ```
  s = log_scale_factor * log_scale          (the variable is `log_scale`)
  inverse (image -> latent):  z = (x + bias) * exp(s)
  forward (latent -> image):  x = z * exp(-s) - bias
  inverse_log_det_jacobian  = sum(s)   per pixel
  ```

  `log_scale_factor` is 1 in the paper's text and 3 in the official code;
  with Adam or Adamax it makes the log-scales learn that many times faster
  (`glow_tf.act_norm_statistics.applied_log_scale`).

  The hooks act at event rank 1 (one pixel's channels); on images pass
  `event_ndims=3` and the base class multiplies the log-det by `H * W`.

  The bijector starts as the identity (`log_scale = bias = 0`).
  `initialize(x)` sets `bias = -mean(x)` and `s = -log(std(x))` per
  channel, over every axis but the last, so that the inverse maps that batch to
  zero mean and unit variance. It runs once: the `initialized` flag is a
  variable saved with checkpoints, and a later `initialize` (for example after
  a restore) changes nothing. Inside a `tf.distribute` replica context the
  statistics are all-reduced over every replica, so all copies agree.

  #### Examples

  ```python
  act_norm = glow_tf.bijectors.ActNorm(num_channels=3)
  act_norm.initialize(images)          # images: [N, H, W, 3]
  z = act_norm.inverse(images)         # zero mean, unit variance per channel
  ildj = act_norm.inverse_log_det_jacobian(images, event_ndims=3)
  ```

  #### References

  [1]: Diederik P. Kingma, Prafulla Dhariwal. Glow: Generative Flow with
       Invertible 1x1 Convolutions. NeurIPS 2018. https://arxiv.org/abs/1807.03039
  """

  def __init__(self, num_channels, dtype=tf.float32, log_scale_factor=1.0,
               validate_args=False, name='act_norm'):
    """Builds an identity ActNorm over `num_channels` channels.

    Args:
      num_channels: number of channels C (the last axis).
      dtype: float dtype of the parameters and of the inputs.
      log_scale_factor: the applied log-scale is this times the variable
        `log_scale` (1, or 3 as in the official code).
      validate_args: passed to `tfb.Bijector`.
      name: name scope of the variables.
    """
    parameters = dict(locals())
    self._num_channels = _checks.positive_int(num_channels, 'num_channels')
    dtype = _checks.float_dtype(dtype)
    self._log_scale_factor = _checks.positive_float(log_scale_factor,
                                                    'log_scale_factor')
    with tf.name_scope(name) as scope_name:
      self.log_scale, self.bias, self.initialized = (
          act_norm_statistics.act_norm_variables(num_channels, dtype))
      super().__init__(forward_min_event_ndims=1, is_constant_jacobian=True,
                       validate_args=validate_args, dtype=dtype,
                       parameters=parameters, name=scope_name.rstrip('/'))

  @property
  def num_channels(self):
    return self._num_channels

  @property
  def log_scale_factor(self):
    return self._log_scale_factor

  @property
  def applied_log_scale(self):
    """`log_scale_factor * log_scale`, the per-channel log-scale applied."""
    return act_norm_statistics.applied_log_scale(self.log_scale, self._log_scale_factor)

  def initialize(self, x):
    """Sets scale and bias from the batch `x` unless already initialised.

    Args:
      x: image-side batch `[..., C]` (typically `[N, H, W, C]`).

    Returns:
      `inverse(x)` computed with the (possibly new) parameters, so that a
      caller can initialise the next layer on it.
    """
    x = _checks.check_event(tf.convert_to_tensor(x, self.dtype), self,
                            self._num_channels, min_rank=1)
    act_norm_statistics.initialize_act_norm(x, self.log_scale, self.bias,
                                 self.initialized, self._log_scale_factor)
    return self._inverse(x)

  def _check(self, x):
    return _checks.check_event(x, self, self._num_channels, min_rank=1)

  def _forward(self, z):
    z = self._check(z)
    return z * tf.exp(-self.applied_log_scale) - self.bias

  def _inverse(self, x):
    x = self._check(x)
    return (x + self.bias) * tf.exp(self.applied_log_scale)

  def _inverse_log_det_jacobian(self, x):
    return tf.reduce_sum(self.applied_log_scale)

  def _forward_log_det_jacobian(self, z):
    return -tf.reduce_sum(self.applied_log_scale)
