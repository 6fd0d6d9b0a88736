"""The convolutional networks that Glow's couplings and priors condition on.

Each layer states its function once, as in the paper; a `glow_tf.kernels`
backend (an argument, default 'fast') decides how its convolutions, and a
whole coupling network, are computed. Every network is a `tf.Module`
holding plain `tf.Variable`s, so the bijectors that own them expose all of
their variables through `trainable_variables`, and `tf.train.Checkpoint`
saves them.

Edge padding (`edge_padding=True`, the official code's `edge_bias`): a 3x3
convolution's input is padded with zeros and gets one more input channel,
1 in the padding and 0 inside, so that the network can tell the image's
border from dark pixels. Its weights are the layer's `edge` `[9, Cout]`.
"""

import numpy as np
import tensorflow as tf

from glow_tf import _checks
from glow_tf import _seeds
from glow_tf import kernels as kernels_lib
from glow_tf.act_norm_statistics import act_norm_variables
from glow_tf.act_norm_statistics import applied_log_scale
from glow_tf.act_norm_statistics import initialize_act_norm

__all__ = ['COMPUTE_DTYPES', 'ActNormLayer', 'Conv2D', 'CouplingNetwork',
           'ZeroConv2D', 'ZeroDense', 'check_compute_dtype']

# The coupling networks' optional lower-precision compute dtypes.
COMPUTE_DTYPES = ('bfloat16',)

_WEIGHT_STDDEV = 0.05  # the reference code's initialiser
_NUM_TAPS = 9


def check_compute_dtype(compute_dtype, dtype):
  """`compute_dtype` as a `tf.DType`, or None (compute in `dtype`).

  Only 'bfloat16' is offered, and only over float32 variables: it is meant
  for CPUs with bfloat16 matmul units (AVX512_BF16, AMX), where the coupling
  networks' matmuls run up to twice as fast.
  """
  if compute_dtype is None:
    return None
  name = getattr(compute_dtype, 'name', compute_dtype)
  _checks.one_of(name, 'compute_dtype', COMPUTE_DTYPES)
  if tf.as_dtype(dtype) != tf.float32:
    raise ValueError(f'compute_dtype={name!r} needs float32 variables, got '
                     f'dtype {tf.as_dtype(dtype).name}.')
  return tf.as_dtype(name)


def _check_edge_padding(edge_padding, kernel_size):
  if not isinstance(edge_padding, bool):
    raise ValueError(f'edge_padding must be True or False, got '
                     f'{edge_padding!r}.')
  if edge_padding and kernel_size != 3:
    raise ValueError('edge_padding needs a 3x3 kernel, got kernel_size '
                     f'{kernel_size}.')
  return edge_padding


class Conv2D(tf.Module):
  """A 'SAME' convolution `[N, H, W, Cin] -> [N, H, W, Cout]`, N(0, 0.05) init.

  ```
  y = conv(x, kernel) + bias
  ```
  With `edge_padding` (3x3 only) it also has `edge` `[9, Cout]`, the
  weights of the padding-indicator input channel (same init).
  """

  def __init__(self, in_channels, out_channels, kernel_size=3, use_bias=True,
               seed=None, dtype=tf.float32, edge_padding=False,
               kernels='fast', name='conv'):
    super().__init__(name=name)
    _check_edge_padding(edge_padding, kernel_size)
    self._kernels = kernels_lib.get(kernels)
    rng = np.random.default_rng(seed)
    shape = (kernel_size, kernel_size, in_channels, out_channels)
    with self.name_scope:
      self.kernel = tf.Variable(rng.normal(0.0, _WEIGHT_STDDEV, shape),
                                dtype=dtype, name='kernel')
      self.bias = (tf.Variable(tf.zeros([out_channels], dtype), name='bias')
                   if use_bias else None)
      self.edge = (tf.Variable(
          rng.normal(0.0, _WEIGHT_STDDEV, (_NUM_TAPS, out_channels)),
          dtype=dtype, name='edge') if edge_padding else None)

  def __call__(self, x):
    y = self._kernels.conv2d(x, self.kernel, self.edge)
    return y if self.bias is None else tf.nn.bias_add(y, self.bias)


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
               log_scale_factor=3.0, dtype=tf.float32, edge_padding=False,
               kernels='fast', name='zero_conv'):
    super().__init__(name=name)
    _check_edge_padding(edge_padding, kernel_size)
    self._kernels = kernels_lib.get(kernels)
    self._log_scale_factor = log_scale_factor
    shape = (kernel_size, kernel_size, in_channels, out_channels)
    with self.name_scope:
      self.kernel = tf.Variable(tf.zeros(shape, dtype), name='kernel')
      self.bias = tf.Variable(tf.zeros([out_channels], dtype), name='bias')
      self.log_scale = tf.Variable(tf.zeros([out_channels], dtype),
                                   name='log_scale')
      self.edge = (tf.Variable(tf.zeros([_NUM_TAPS, out_channels], dtype),
                               name='edge') if edge_padding else None)

  @property
  def output_scale(self):
    """`exp(log_scale * log_scale_factor)`, per output channel."""
    return tf.exp(self.log_scale * self._log_scale_factor)

  def __call__(self, x):
    y = tf.nn.bias_add(self._kernels.conv2d(x, self.kernel, self.edge),
                       self.bias)
    return y * self.output_scale


class ZeroDense(tf.Module):
  """A zero-initialised dense layer with a learned output scale.

  ```
  y = (x @ kernel + bias) * exp(log_scale * log_scale_factor)
  ```
  The official code's `linear_zeros`: the class-prediction loss's
  classifier, which starts by predicting uniform classes.
  """

  def __init__(self, in_features, out_features, log_scale_factor=3.0,
               dtype=tf.float32, name='zero_dense'):
    super().__init__(name=name)
    self._log_scale_factor = log_scale_factor
    with self.name_scope:
      self.kernel = tf.Variable(tf.zeros([in_features, out_features], dtype),
                                name='kernel')
      self.bias = tf.Variable(tf.zeros([out_features], dtype), name='bias')
      self.log_scale = tf.Variable(tf.zeros([out_features], dtype),
                                   name='log_scale')

  def __call__(self, x):
    y = tf.tensordot(x, self.kernel, 1) + self.bias
    return y * tf.exp(self.log_scale * self._log_scale_factor)


class ActNormLayer(tf.Module):
  """Per-channel `y = (x + bias) * exp(factor * log_scale)`, initialised from data.

  The ActNorm of the coupling networks' hidden layers: the image -> latent
  map of `glow_tf.bijectors.ActNorm`, with the same variables and the same
  data-dependent initialisation (`initialize_act_norm`), as a plain layer.
  It starts as the identity.
  """

  def __init__(self, num_channels, dtype=tf.float32, log_scale_factor=1.0,
               name='act_norm'):
    super().__init__(name=name)
    self._log_scale_factor = _checks.positive_float(log_scale_factor,
                                                    'log_scale_factor')
    with self.name_scope:
      self.log_scale, self.bias, self.initialized = act_norm_variables(
          _checks.positive_int(num_channels, 'num_channels'), dtype)

  @property
  def applied_log_scale(self):
    """`log_scale_factor * log_scale`, the log-scale this layer applies."""
    return applied_log_scale(self.log_scale, self._log_scale_factor)

  def __call__(self, x, initialize=False):
    """`(x + bias) * exp(applied_log_scale)`, after initialising on `x` if asked."""
    if initialize:
      initialize_act_norm(x, self.log_scale, self.bias, self.initialized,
                          self._log_scale_factor)
    return (x + self.bias) * tf.exp(self.applied_log_scale)


class CouplingNetwork(tf.Module):
  """conv3x3 -> ActNorm -> ReLU -> conv1x1 -> ActNorm -> ReLU -> zero conv3x3.

  The network `NN()` of Glow's affine coupling (paper, table 1), stated in
  `layers`. The hidden convolutions have no bias (the ActNorm after each
  provides it); the last layer is a `ZeroConv2D`, so the output starts at
  exactly zero. Calling the network computes `layers` with its kernels
  (`glow_tf.kernels`); `compute_dtype='bfloat16'` runs the fast kernels'
  matmuls in bfloat16.

  #### Examples

  ```python
  net = CouplingNetwork(in_channels=6, out_channels=12, hidden_channels=512)
  net.initialize(x_a)                  # data-dependent init of both ActNorms
  h = net(x_a)                         # x_a: [N, H, W, 6] -> [N, H, W, 12]
  ```
  """

  def __init__(self, in_channels, out_channels, hidden_channels=512,
               seed=None, dtype=tf.float32, edge_padding=False,
               compute_dtype=None, act_norm_log_scale_factor=1.0,
               kernels='fast', name='coupling_network'):
    super().__init__(name=name)
    _checks.positive_int(hidden_channels, 'hidden_channels')
    self._compute_dtype = check_compute_dtype(compute_dtype, dtype)
    self._kernels = kernels_lib.get(kernels)
    if self._compute_dtype is not None and self._kernels.name == 'reference':
      raise ValueError(f"compute_dtype={compute_dtype!r} needs the 'fast' or "
                       "'matmul' kernels, got 'reference'.")
    seeds = _seeds.split_seed(seed, 2)
    factor = act_norm_log_scale_factor
    with self.name_scope:
      self.conv_in = Conv2D(in_channels, hidden_channels, 3, use_bias=False,
                            seed=int(seeds[0]), dtype=dtype,
                            edge_padding=edge_padding, kernels=kernels,
                            name='conv_in')
      self.norm_in = ActNormLayer(hidden_channels, dtype=dtype,
                                  log_scale_factor=factor, name='norm_in')
      self.conv_hidden = Conv2D(hidden_channels, hidden_channels, 1,
                                use_bias=False, seed=int(seeds[1]),
                                dtype=dtype, kernels=kernels,
                                name='conv_hidden')
      self.norm_hidden = ActNormLayer(hidden_channels, dtype=dtype,
                                      log_scale_factor=factor,
                                      name='norm_hidden')
      self.conv_out = ZeroConv2D(hidden_channels, out_channels, 3,
                                 dtype=dtype, edge_padding=edge_padding,
                                 kernels=kernels, name='conv_out')

  @property
  def compute_dtype(self):
    """The dtype of the fast kernels' matmuls, or None for the variables'."""
    return self._compute_dtype

  @property
  def kernels(self):
    """The `glow_tf.kernels` backend that computes the network."""
    return self._kernels

  def layers(self, x, initialize=False):
    """`NN(x)`, layer by layer: the network's definition.

    With `initialize`, each ActNorm first takes its statistics from this
    batch (once; see `initialize_act_norm`).
    """
    h = tf.nn.relu(self.norm_in(self.conv_in(x), initialize))
    h = tf.nn.relu(self.norm_hidden(self.conv_hidden(h), initialize))
    return self.conv_out(h)

  def __call__(self, x):
    """`NN(x)` for `[N, H, W, in_channels]`, computed by the kernels."""
    return self._kernels.coupling_network(self, x)

  def initialize(self, x):
    """Initialises both ActNorms on the batch `x` (once); returns `NN(x)`.

    It runs the layers in the variables' dtype, whatever `compute_dtype` is.
    """
    return self.layers(x, initialize=True)

  def then(self, x, channels, tail, *args):
    """`tail(NN(x[..., :channels]), x, *args)`, which the kernels may fuse.

    `tail` is a module-level function (a coupling's sampling direction).
    """
    _checks.positive_int(channels, 'channels')
    if channels != self.conv_in.kernel.shape[2]:
      raise ValueError(f'{self.name}: channels must be in_channels='
                       f'{self.conv_in.kernel.shape[2]}, got {channels}.')
    return self._kernels.network_then(self, x, channels, tail, *args)
