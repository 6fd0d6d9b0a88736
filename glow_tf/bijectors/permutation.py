"""Fixed channel permutations, the baselines Glow's 1x1 convolution replaces."""

import numpy as np
import tensorflow as tf

from glow_tf import _checks
from glow_tf.bijectors.glow_bijector import GlowBijector

__all__ = ['ChannelPermutation']

_KINDS = ('shuffle', 'reverse')


class ChannelPermutation(GlowBijector):
  """Permutes channels: a fixed random shuffle or a reversal (log-det 0).

  ```
  inverse (image -> latent):  z[..., i] = x[..., perm[i]]
  forward (latent -> image):  x[..., perm[i]] = z[..., i]
  ```

  `kind='reverse'` is RealNVP's reversal, `kind='shuffle'` a random
  permutation drawn once from `seed`; the paper (figure 3) compares both with
  the learned 1x1 convolution. The permutation is a non-trainable variable, so
  checkpoints restore it exactly.

  #### Examples

  ```python
  perm = glow_tf.bijectors.ChannelPermutation(4, kind='reverse')
  perm.inverse(tf.constant([[0., 1., 2., 3.]]))   # [[3., 2., 1., 0.]]
  ```
  """

  def __init__(self, num_channels, kind='shuffle', seed=None,
               dtype=tf.float32, validate_args=False,
               name='channel_permutation'):
    parameters = dict(locals())
    c = self._num_channels = _checks.positive_int(num_channels, 'num_channels')
    self._kind = _checks.one_of(kind, 'kind', _KINDS)
    if kind == 'reverse':
      perm = np.arange(c)[::-1]
    else:
      perm = np.random.default_rng(seed).permutation(c)
    with tf.name_scope(name) as scope_name:
      self.permutation = tf.Variable(perm, dtype=tf.int32, trainable=False,
                                     name='permutation')
      super().__init__(forward_min_event_ndims=1, is_constant_jacobian=True,
                       validate_args=validate_args,
                       dtype=_checks.float_dtype(dtype),
                       parameters=parameters, name=scope_name.rstrip('/'))

  @property
  def kind(self):
    return self._kind

  def _check(self, x):
    return _checks.check_event(x, self, self._num_channels, min_rank=1)

  def _inverse(self, x):
    return tf.gather(self._check(x), self.permutation, axis=-1)

  def _forward(self, z):
    return tf.gather(self._check(z), tf.math.invert_permutation(
        self.permutation), axis=-1)

  def _forward_log_det_jacobian(self, z):
    return tf.zeros([], self.dtype)

  def _inverse_log_det_jacobian(self, x):
    return tf.zeros([], self.dtype)
