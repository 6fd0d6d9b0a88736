"""The convolutional networks that Glow's couplings and priors condition on.

Every network is a `tf.Module` holding plain `tf.Variable`s, so the
bijectors that own them expose all of their variables through
`trainable_variables`, and `tf.train.Checkpoint` saves them.
"""

import numpy as np
import tensorflow as tf

from glow_tf.bijectors import _checks
from glow_tf.bijectors.act_norm import ActNorm

__all__ = ['Conv2D', 'ZeroConv2D', 'CouplingNetwork']

_WEIGHT_STDDEV = 0.05  # the reference code's initialiser


class Conv2D(tf.Module):
  """A 'SAME' convolution `[N, H, W, Cin] -> [N, H, W, Cout]`, N(0, 0.05) init."""

  def __init__(self, in_channels, out_channels, kernel_size=3, use_bias=True,
               seed=None, dtype=tf.float32, name='conv'):
    super().__init__(name=name)
    rng = np.random.default_rng(seed)
    shape = (kernel_size, kernel_size, in_channels, out_channels)
    with self.name_scope:
      self.kernel = tf.Variable(rng.normal(0.0, _WEIGHT_STDDEV, shape),
                                dtype=dtype, name='kernel')
      self.bias = (tf.Variable(tf.zeros([out_channels], dtype), name='bias')
                   if use_bias else None)

  def __call__(self, x):
    y = tf.nn.conv2d(x, self.kernel, strides=1, padding='SAME')
    if self.bias is not None:
      y = tf.nn.bias_add(y, self.bias)
    return y


class ZeroConv2D(tf.Module):
  """A zero-initialised convolution with a learned output scale.

  ```
  y = (conv(x, kernel) + bias) * exp(log_scale * log_scale_factor)
  ```
  Kernel, bias and `log_scale` start at zero, so the output starts at zero:
  this is what makes every coupling start as the identity and every prior
  start as a standard normal. `log_scale_factor = 3` as in the reference code.
  """

  def __init__(self, in_channels, out_channels, kernel_size=3,
               log_scale_factor=3.0, dtype=tf.float32, name='zero_conv'):
    super().__init__(name=name)
    self._log_scale_factor = log_scale_factor
    shape = (kernel_size, kernel_size, in_channels, out_channels)
    with self.name_scope:
      self.kernel = tf.Variable(tf.zeros(shape, dtype), name='kernel')
      self.bias = tf.Variable(tf.zeros([out_channels], dtype), name='bias')
      self.log_scale = tf.Variable(tf.zeros([out_channels], dtype),
                                   name='log_scale')

  def __call__(self, x):
    y = tf.nn.bias_add(
        tf.nn.conv2d(x, self.kernel, strides=1, padding='SAME'), self.bias)
    return y * tf.exp(self.log_scale * self._log_scale_factor)


class CouplingNetwork(tf.Module):
  """conv3x3 -> ActNorm -> ReLU -> conv1x1 -> ActNorm -> ReLU -> zero conv3x3.

  The network `NN()` of Glow's affine coupling (paper, table 1). The hidden
  convolutions have no bias (the ActNorm after each provides it); the last
  layer is a `ZeroConv2D`, so the output starts at exactly zero.

  #### Examples

  ```python
  net = CouplingNetwork(in_channels=6, out_channels=12, hidden_channels=512)
  h = net(x_a)                         # x_a: [N, H, W, 6] -> [N, H, W, 12]
  h = net(x_a, initialize=True)        # data-dependent init of both ActNorms
  ```
  """

  def __init__(self, in_channels, out_channels, hidden_channels=512,
               seed=None, dtype=tf.float32, name='coupling_network'):
    super().__init__(name=name)
    _checks.positive_int(hidden_channels, 'hidden_channels')
    seeds = np.random.SeedSequence(seed).generate_state(2)
    with self.name_scope:
      self.conv_in = Conv2D(in_channels, hidden_channels, 3, use_bias=False,
                            seed=int(seeds[0]), dtype=dtype, name='conv_in')
      self.norm_in = ActNorm(hidden_channels, dtype=dtype, name='norm_in')
      self.conv_hidden = Conv2D(hidden_channels, hidden_channels, 1,
                                use_bias=False, seed=int(seeds[1]),
                                dtype=dtype, name='conv_hidden')
      self.norm_hidden = ActNorm(hidden_channels, dtype=dtype,
                                 name='norm_hidden')
      self.conv_out = ZeroConv2D(hidden_channels, out_channels, 3,
                                 dtype=dtype, name='conv_out')

  def _normalize(self, norm, h, initialize):
    # ActNorm's image -> latent direction is the normalising one.
    return norm.initialize(h) if initialize else norm._inverse(h)  # pylint: disable=protected-access

  def __call__(self, x, initialize=False):
    """Applies the network to `[N, H, W, in_channels]`.

    Args:
      x: the conditioning half of the channels.
      initialize: run the data-dependent initialisation of the ActNorms on
        this batch (once; see `ActNorm.initialize`).
    """
    h = self._normalize(self.norm_in, self.conv_in(x), initialize)
    h = tf.nn.relu(h)
    h = self._normalize(self.norm_hidden, self.conv_hidden(h), initialize)
    h = tf.nn.relu(h)
    return self.conv_out(h)
