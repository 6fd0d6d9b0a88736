"""The fast CPU kernels: the same functions as the reference, computed faster.

What each override does (docs/performance.md has the measurements):

* convolutions as matmuls over all pixels, 3x3 taps on the narrow side
  (`glow_tf.kernels.taps`), the taps XLA-compiled (`xla=True`) or plain;
* a coupling network as two fused matmul + bias + ReLU layers: each
  ActNorm is folded into the convolution before it,
  `(conv(x, k) + b) * s = conv(x, k * s) + b * s`, and the zero
  convolution's output scale into its kernel; optionally in bfloat16
  (`CouplingNetwork.compute_dtype`), with float32 biases and gradients sums;
* the coupling's sampling direction with everything after the network's
  last matmul (sum of taps, bias, split, affine map, concatenation) in one
  XLA computation (`network_then`);
* an ActNorm followed by a 1x1 convolution applied as one matmul with a
  bias in the chain walk (`units`):

  ```
  inverse:  W ((x + b) * s)   = x @ (diag(s) W^T) + W (b * s)
  forward:  W^-1 z / s - b    = z @ (W^-T diag(1 / s)) - b
  ```
* on a CPU, a batch of two or more sampled as two halves, independent
  chains of small ops that TensorFlow's executor runs on two threads
  (`map_batch`).
"""

import tensorflow as tf

from glow_tf import _checks
from glow_tf import _shapes
from glow_tf.kernels import taps
from glow_tf.kernels.interface import Kernels

__all__ = ['FastKernels']


def _bias_relu(h, bias):
  """`relu(h + bias)` on `[pixels, channels]` (a fused op after a matmul)."""
  return tf.nn.relu(tf.nn.bias_add(h, bias))


@tf.custom_gradient
def _mixed_bias_relu(h, bias):
  """`relu(h + bias)` for a lower-precision `h` and a float32 `bias`.

  The same ops as `_bias_relu` (so TensorFlow still fuses them with the
  matmul before), with a gradient whose sum over the pixels runs in the
  bias's dtype: bfloat16's 8 bits lose most of a sum over 10^4 pixels.
  """
  y = tf.nn.relu(tf.nn.bias_add(h, tf.cast(bias, h.dtype)))

  def grad(dy):
    dz = tf.where(y > 0, dy, tf.zeros_like(dy))
    return dz, tf.reduce_sum(tf.cast(dz, bias.dtype), axis=0)
  return y, grad


def _folded(kernel, norm, edge=None):
  """Kernel, bias and edge weights of `norm(conv(x, kernel))` as one conv."""
  scale = tf.exp(norm.applied_log_scale)
  return kernel * scale, norm.bias * scale, (
      None if edge is None else edge * scale)


def _scaled_zero_conv(conv, cast):
  """`(kernel, bias, edge)` of a `ZeroConv2D` with its output scale folded in.

  `(conv(x, k) + b + edge_map) * s = conv(x, k * s) + b * s + (edge * s)`
  map; `cast` applies to the kernel only.
  """
  scale = conv.output_scale
  return cast(conv.kernel * scale), conv.bias * scale, (
      None if conv.edge is None else conv.edge * scale)


def _sums_output_taps(network):
  kernel = network.conv_out.kernel
  return kernel.shape[0] == 3 and taps.taps_on_output(kernel.shape[2],
                                                     kernel.shape[3])


class _ActNormThenMatrix:
  """An ActNorm and then a per-pixel matrix (a 1x1 convolution) as one matmul."""

  def __init__(self, act_norm, conv):
    self._act_norm, self._conv = act_norm, conv

  def _log_det_per_pixel(self):
    return (tf.reduce_sum(self._act_norm.applied_log_scale) +
            self._conv.log_abs_det())

  @staticmethod
  def _on_pixels(t, matrix, bias):
    flat = tf.reshape(t, [-1, t.shape[-1]])
    out = tf.reshape(tf.nn.bias_add(tf.matmul(flat, matrix), bias),
                     tf.shape(t))
    out.set_shape(t.shape)
    return out

  def inverse_and_log_det(self, x, event_ndims):
    act_norm, conv = self._act_norm, self._conv
    x = _checks.check_event(tf.convert_to_tensor(x, act_norm.dtype), act_norm,
                            act_norm.num_channels, min_rank=1)
    matrix = (tf.exp(act_norm.applied_log_scale)[:, tf.newaxis] *
              tf.transpose(conv.matrix()))
    bias = tf.linalg.matvec(matrix, act_norm.bias, transpose_a=True)
    return self._on_pixels(x, matrix, bias), _shapes.sum_over_event(
        self._log_det_per_pixel(), x, 1, event_ndims)

  def forward_and_log_det(self, z, event_ndims):
    act_norm, conv = self._act_norm, self._conv
    z = _checks.check_event(tf.convert_to_tensor(z, conv.dtype), conv,
                            conv.num_channels, min_rank=1)
    matrix = (tf.transpose(conv.inverse_matrix()) *
              tf.exp(-act_norm.applied_log_scale))
    return self._on_pixels(z, matrix, -act_norm.bias), _shapes.sum_over_event(
        -self._log_det_per_pixel(), z, 1, event_ndims)


def _is_channel_affine(part):
  return hasattr(part, 'applied_log_scale') and hasattr(
      part, 'inverse_and_log_det')


def _is_pixel_matrix(part):
  return hasattr(part, 'inverse_matrix') and hasattr(part, 'log_abs_det')


def _runs_on_cpu(tensor):
  """Whether ops on `tensor` run on a CPU (its device, else the default)."""
  if tensor.device:
    return tf.DeviceSpec.from_string(tensor.device).device_type == 'CPU'
  return not (tf.config.list_logical_devices('GPU') or
              tf.config.list_logical_devices('TPU'))


class FastKernels(Kernels):
  """The CPU-fast computation of every layer (module docstring).

  Args:
    xla: compile the tap functions and the coupling's sampling tail with
      XLA (`'fast'`), or trace plain TensorFlow ops for the same matmuls
      (`'matmul'`: what a SavedModel for TF Serving's CPU server needs).
  """

  def __init__(self, xla):
    self.xla = bool(xla)
    self.name = 'fast' if xla else 'matmul'
    self._compiled_tails = {}

  def conv2d(self, x, kernel, edge=None):
    y = taps.conv_as_matmul(x, kernel, self.xla)
    return y if edge is None else y + taps.edge_map(y, edge)

  def _hidden(self, network, x, channels=None):
    """The folded network up to its last convolution: `(pixels, cast)`."""
    compute_dtype = network.compute_dtype
    if compute_dtype is None:
      cast, bias_relu = (lambda t: t), _bias_relu
    else:
      cast = lambda t: None if t is None else tf.cast(t, compute_dtype)
      bias_relu = _mixed_bias_relu
      x = cast(x)
    kernel, bias, edge = _folded(network.conv_in.kernel, network.norm_in,
                                 network.conv_in.edge)
    kernel, edge = cast(kernel), cast(edge)
    c_in, width = kernel.shape[2], kernel.shape[3]
    if not taps.taps_on_output(c_in, width):
      h = tf.matmul(taps.to_pixels(taps.gather_taps(x, self.xla, channels)),
                    tf.reshape(kernel, [9 * c_in, width]))
    else:
      if channels is not None:
        x = x[..., :channels]
      h = taps.to_pixels(taps.conv_as_matmul(x, kernel, self.xla))
    if edge is not None:
      image = taps.to_image(h, x)
      h = taps.to_pixels(image + taps.edge_map(image, edge))
    h = bias_relu(h, bias)
    kernel, bias, _ = _folded(network.conv_hidden.kernel[0, 0],
                              network.norm_hidden)
    return bias_relu(tf.matmul(h, cast(kernel)), bias), cast

  def coupling_network(self, network, x, channels=None):
    pixels, cast = self._hidden(network, x, channels)
    kernel, bias, edge = _scaled_zero_conv(network.conv_out, cast)
    if _sums_output_taps(network):
      y = taps.sum_taps(taps.to_image(
          tf.matmul(pixels, taps.kernel9(kernel)), x), self.xla)
    else:
      y = taps.conv_as_matmul(taps.to_image(pixels, x), kernel, self.xla)
    if network.compute_dtype is not None:
      y = tf.cast(y, x.dtype)
    y = tf.nn.bias_add(y, bias)
    return y if edge is None else y + taps.edge_map(y, edge)

  def network_then(self, network, x, channels, tail, *args):
    # Not with a bfloat16 network: XLA would round the fused bfloat16 sum of
    # taps otherwise than the other direction's TensorFlow ops do, and the
    # coupling would invert only to bfloat16's precision.
    if not _sums_output_taps(network) or network.compute_dtype is not None:
      return tail(self.coupling_network(network, x, channels), x, *args)
    pixels, cast = self._hidden(network, x, channels)
    kernel, bias, edge = _scaled_zero_conv(network.conv_out, cast)
    y = taps.to_image(tf.matmul(pixels, taps.kernel9(kernel)), x)
    offset = bias if edge is None else bias + taps.edge_map(x, edge)
    if not self.xla:
      return tail(taps.sum_taps(y, False) + offset, x, *args)
    return self._compiled_tail(tail)(y, offset, x, *args)

  def _compiled_tail(self, tail):
    compiled = self._compiled_tails.get(tail)
    if compiled is None:
      def fused(y, offset, x, *args):
        return tail(taps.sum_taps_for_xla(y) + offset, x, *args)
      compiled = self._compiled_tails[tail] = taps.CompiledPerSignature(fused)
    return compiled

  def units(self, parts):
    units, i = [], 0
    while i < len(parts):
      pair = parts[i:i + 2]
      if (len(pair) == 2 and _is_channel_affine(pair[0]) and
          _is_pixel_matrix(pair[1])):
        units.append(_ActNormThenMatrix(*pair))
        i += 2
      else:
        units.append(parts[i])
        i += 1
    return units

  def map_batch(self, fn, x, *conditions):
    n = x.shape[0] if x.shape.rank == 4 else None
    conditions = [None if c is None else tf.convert_to_tensor(c)
                  for c in conditions]
    for c in conditions:
      if c is not None and (c.shape.rank in (None, 0) or c.shape[0] != n):
        n = None  # one chain, and the model's checks of the condition
    if n is None or n < 2 or not _runs_on_cpu(x):
      return fn(x, *conditions)
    sizes = [n // 2, n - n // 2]
    parts = [tf.split(t, sizes, axis=0) if t is not None else [None, None]
             for t in [x] + conditions]
    return tf.concat([fn(*[p[i] for p in parts]) for i in range(2)], axis=0)
