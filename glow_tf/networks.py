"""The convolutional networks that Glow's couplings and priors condition on.

Every network is a `tf.Module` holding plain `tf.Variable`s, so the
bijectors that own them expose all of their variables through
`trainable_variables`, and `tf.train.Checkpoint` saves them.

Speed (see docs/performance.md): Glow's coupling networks have few input and
output channels (`C / 2` and `C`) and a wide hidden layer, a shape at which
TensorFlow's CPU convolutions run far below the machine's matmul speed. The
networks therefore compute every convolution as one matmul over all pixels:

```
3x3 conv, few inputs:   patches(x) [N*H*W, 9 Cin] @ kernel [9 Cin, Cout]
1x1 conv:               x [N*H*W, Cin] @ kernel [Cin, Cout]
3x3 conv, few outputs:  sum_taps(x [N*H*W, Cin] @ kernel [Cin, 9 Cout])
```

and fold each ActNorm (and the zero conv's output scale) into the kernel and
bias it follows, `(conv(x, k) + b) * s = conv(x, k * s) + b * s`, so that a
hidden layer is a single fused matmul + bias + ReLU. The function computed is
the same; `initialize=True` takes the unfolded path, where the ActNorms see
the convolutions' outputs.

Edge padding (`edge_padding=True`, the official code's `edge_bias`): the
reference implementation pads a 3x3 convolution's input with zeros and adds
one more input channel that is 1 in the padding and 0 inside, so that the
network can tell the image's border from dark pixels. That channel is the
same for every image, so its contribution is a fixed map per pixel,

```
edge_map[p] = sum_t outside(p, t) * edge[t]      outside: [H*W, 9], edge: [9, Cout]
```
added to the convolution's output: one small matmul per call, no wider
patches.

The 3x3 taps (a pad, nine shifted slices of a `C`- or `9 C`-channel tensor
and their concatenation or sum) copy runs of 2-8 floats, which TensorFlow's
`StridedSlice` and `ConcatV2` do slowly, one op after another. By default
each tap function is one XLA-compiled `tf.function` (pure data movement, so
the values are the same up to the order of a 9-term sum; the matmuls stay
TensorFlow's oneDNN ones). `xla_taps(False)` traces the plain ops instead:
`glow_tf.export` does, since TF Serving's CPU server compiles no XLA by
default. `after_summed_taps` puts the element-wise work that follows a sum
of taps (a coupling's scale and shift, its split and concatenation) into the
same XLA computation, where each of those would otherwise be a TensorFlow op
of its own.
"""

import contextlib
import functools

import numpy as np
import tensorflow as tf

from glow_tf import _checks
from glow_tf import _seeds

__all__ = ['COMPUTE_DTYPES', 'ActNormLayer', 'Conv2D', 'CouplingNetwork',
           'ZeroConv2D', 'act_norm_variables', 'add_edge_map',
           'after_summed_taps', 'applied_log_scale', 'check_compute_dtype',
           'edge_indicator', 'edge_map', 'initialize_act_norm',
           'taps_on_output', 'xla_taps', 'xla_taps_enabled']

# The coupling networks' optional lower-precision compute dtypes.
COMPUTE_DTYPES = ('bfloat16',)

_WEIGHT_STDDEV = 0.05  # the reference code's initialiser
_ACT_NORM_EPSILON = 1e-6

# Offsets (di, dj) of the 3x3 taps, in the order of a [3, 3, ...] kernel.
_TAPS = tuple((i - 1, j - 1) for i in range(3) for j in range(3))


def _spatial(x):
  """(H, W) of `[N, H, W, C]`, static where known."""
  shape = tf.shape(x)
  return [d if d is not None else shape[k + 1]
          for k, d in enumerate(x.shape[1:3])]


def _pad1(x):
  return tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])


def _window(padded, di, dj, sign, h, w, channels=None):
  """`padded[:, 1 + sign*di : ... + h, 1 + sign*dj : ... + w, channels]`."""
  top, left = 1 + sign * di, 1 + sign * dj
  if channels is None:
    return padded[:, top:top + h, left:left + w, :]
  return padded[:, top:top + h, left:left + w, channels[0]:channels[1]]


def _gather_taps_plain(x, sign, channels=None):
  """Tap t of the output is `x` shifted by `sign * offset_t` (one pad).

  With `channels`, the taps of `x[..., :channels]` (under XLA the slice
  fuses into the pads, so it copies nothing of its own).
  """
  if channels is not None:
    x = x[..., :channels]
  h, w = _spatial(x)
  padded = _pad1(x)
  return tf.concat([_window(padded, di, dj, sign, h, w)
                    for di, dj in _TAPS], axis=-1)


def _sum_taps_plain(y, sign):
  """Sum over t of channel block t of `y` shifted by `sign * offset_t`."""
  h, w = _spatial(y)
  c = y.shape[-1] // len(_TAPS)
  padded = _pad1(y)
  return tf.add_n([_window(padded, di, dj, sign, h, w, (t * c, (t + 1) * c))
                   for t, (di, dj) in enumerate(_TAPS)])


def _shifted(x, di, dj):
  """`out[:, i, j] = x[:, i + di, j + dj]`, 0 outside: a slice, padded back.

  Needs static H and W.
  """
  h, w = x.shape[1], x.shape[2]
  window = x[:, max(0, di):h + min(0, di), max(0, dj):w + min(0, dj), :]
  return tf.pad(window, [[0, 0], [max(0, -di), max(0, di)],
                         [max(0, -dj), max(0, dj)], [0, 0]])


def _sum_taps_fusable(y, sign):
  """`_sum_taps_plain` for XLA: each channel block sliced, then padded back.

  The same values; XLA fuses the nine slice-and-pads and their sum into one
  loop, without the padded copy of all of `y` that `_sum_taps_plain` makes
  first (level 0 of the fashion_mnist preset: about 40 % less time).
  """
  if y.shape[1] is None or y.shape[2] is None:
    return _sum_taps_plain(y, sign)
  c = y.shape[-1] // len(_TAPS)
  return tf.add_n([_shifted(y[..., t * c:(t + 1) * c], sign * di, sign * dj)
                   for t, (di, dj) in enumerate(_TAPS)])


def _signature_key(value):
  """A hashable key of one argument: shape and dtype of a tensor, else itself."""
  if tf.is_tensor(value):  # true for variables too
    shape = value.shape
    return ('tensor', None if shape.rank is None else tuple(shape.as_list()),
            value.dtype)
  return value


class _CompiledPerSignature:
  """`fn` compiled by XLA, as one `tf.function` per input signature.

  XLA compiles one program per input shape, dtype and Python argument either
  way. One function object per signature, instead of one object retraced
  for each, keeps TensorFlow's "triggered tf.function retracing" warning
  (advice for code that re-creates functions in a loop, not for this) off
  the console when eager calls change the batch size. TensorFlow counts
  traces per Python code object, so each signature's function wraps its own
  `functools.partial` (which has none).
  """

  def __init__(self, fn):
    self._fn = fn
    self._functions = {}

  def __call__(self, *args):
    key = tuple(_signature_key(a) for a in args)
    function = self._functions.get(key)
    if function is None:
      function = tf.function(functools.partial(self._fn), jit_compile=True,
                             autograph=False)
      self._functions[key] = function
    return function(*args)


# The same functions, each compiled by XLA into one fused loop (a new
# compilation per input shape, dtype and sign).
_gather_taps_xla = _CompiledPerSignature(_gather_taps_plain)
_sum_taps_xla = _CompiledPerSignature(_sum_taps_fusable)

_xla_taps = [True]  # process-wide, read when a graph is traced


def xla_taps_enabled():
  """Whether graphs traced now compute the 3x3 taps with XLA (the default)."""
  return _xla_taps[0]


@contextlib.contextmanager
def xla_taps(enabled):
  """Within the block, networks traced use XLA-compiled taps, or not.

  The setting is read when a `tf.function` is traced (or an op runs
  eagerly), so it fixes the graph of a function first traced inside the
  block; later calls of that graph keep it. It is process-wide (every
  thread, `tf.distribute` replicas included) while the block runs.

  Args:
    enabled: True for XLA-compiled taps, False for TensorFlow's plain ops.

  #### Examples

  ```python
  with glow_tf.networks.xla_taps(False):   # a graph without XLA clusters
    concrete = tf.function(glow.log_prob).get_concrete_function(spec)
  ```
  """
  if not isinstance(enabled, bool):
    raise ValueError(f'`enabled` must be True or False, got {enabled!r}.')
  previous = _xla_taps[0]
  _xla_taps[0] = enabled
  try:
    yield
  finally:
    _xla_taps[0] = previous


def _gather_taps_raw(x, sign, xla, channels=None):
  return (_gather_taps_xla if xla else _gather_taps_plain)(x, sign, channels)


def _sum_taps_raw(y, sign, xla):
  return (_sum_taps_xla if xla else _sum_taps_plain)(y, sign)


def _gather_taps(x, channels=None):
  """3x3 patches: `[N, H, W, C] -> [N, H, W, 9 C]`, tap t = (i, j) at t*C.

  `out[p, t*C + c] = x[p + (i - 1, j - 1), c]` ('SAME' zero padding), so a
  3x3 'SAME' convolution is `_gather_taps(x) @ reshape(kernel, [9 C, -1])`.
  Its gradient is the adjoint, `_sum_taps` with the opposite shift: no
  `StridedSliceGrad`s of the padded tensor. With `channels` (a Python int),
  the patches of `x[..., :channels]`, sliced inside the same computation;
  the other channels' gradient is zero.
  """
  xla = xla_taps_enabled()  # the gradient, traced later (even by a
                            # SavedModel export), follows the forward's choice
  total = x.shape[-1]
  if channels is not None and total is not None and channels >= total:
    channels = None

  @tf.custom_gradient
  def gather(x):
    def grad(dy):
      dx = _sum_taps_raw(dy, -1, xla)
      if channels is None:
        return dx
      rest = tf.shape(x)[-1] - channels
      return tf.pad(dx, [[0, 0], [0, 0], [0, 0], [0, rest]])
    return _gather_taps_raw(x, 1, xla, channels), grad
  return gather(x)


@tf.custom_gradient
def _sum_taps(y):
  """`[N, H, W, 9 C] -> [N, H, W, C]`: `out[p] = sum_t y[p + (i-1, j-1), t]`.

  With `y = x @ kernel9` (`kernel9[c, t*C' + o] = kernel[i, j, c, o]`) this is
  the 3x3 'SAME' convolution of `x`: the matmul runs on the wide input and
  the shifts on the narrow output.
  """
  xla = xla_taps_enabled()

  def grad(dout):
    return _gather_taps_raw(dout, -1, xla)
  return _sum_taps_raw(y, 1, xla), grad


def after_summed_taps(epilogue):
  """`epilogue(sum_taps(y), *args)` as one computation, XLA-compiled by default.

  `sum_taps(y)` is the sum of the 3x3 taps that ends a convolution to few
  channels (`taps_on_output`): `y` is `[N, H, W, 9 C]`, the matmul of the
  convolution's input with its kernel (`ZeroConv2D.output_taps`). With XLA
  taps (`xla_taps_enabled()`, read when traced) the sum and `epilogue` are
  one XLA-compiled function, so `epilogue`'s element-wise ops, slices and
  concatenations run in the same fused loops as the sum; without, the same
  `epilogue` runs on TensorFlow's ops. Both are differentiable (XLA's
  by TensorFlow's gradient of the compiled function).

  Args:
    epilogue: `(summed, *args) -> tensors`, traceable; `args` may include
      Python values (part of the trace's key).

  Returns:
    `fn(y, *args)`.

  #### Examples

  ```python
  shifted = after_summed_taps(lambda summed, bias: summed + bias)
  out = shifted(y, bias)        # == sum_taps(y) + bias
  ```
  """
  def fused(y, *args):
    return epilogue(_sum_taps_fusable(y, 1), *args)

  compiled = _CompiledPerSignature(fused)

  def fn(y, *args):
    if xla_taps_enabled():
      return compiled(y, *args)
    return epilogue(_sum_taps(y), *args)
  return fn


def _to_pixels(x):
  """`[N, H, W, C] -> [N*H*W, C]`."""
  return tf.reshape(x, [-1, x.shape[-1]])


def _to_image(flat, like):
  """`[N*H*W, C'] -> [N, H, W, C']`, with `like`'s leading dimensions."""
  shape = tf.shape(like)
  out = tf.reshape(flat, tf.concat([shape[:-1], tf.shape(flat)[-1:]], axis=0))
  out.set_shape(like.shape[:-1].concatenate([flat.shape[-1]]))
  return out


def _matmul_pixels(x, matrix):
  """`[N, H, W, Cin] @ [Cin, Cout]`, as one matmul over all pixels."""
  return _to_image(tf.matmul(_to_pixels(x), matrix), x)


def _kernel9(kernel):
  """`[3, 3, Cin, Cout] -> [Cin, 9 Cout]`, tap t = (i, j) at columns t*Cout.

  Built by unstacking the taps and concatenating them on columns, which is
  cheaper here than a general transpose.
  """
  c_in, c_out = kernel.shape[2], kernel.shape[3]
  taps = tf.unstack(tf.reshape(kernel, [9, c_in, c_out]), axis=0)
  return tf.concat(taps, axis=1)


def taps_on_output(c_in, c_out):
  """Whether a 3x3 convolution `c_in -> c_out` sums its taps on the output.

  The 3x3 taps go on the narrower side: patches of the input
  (`[N*H*W, 9 c_in] @ [9 c_in, c_out]`) when it has no more channels than
  the output, else shifted sums of the output (`[N*H*W, c_in] @ [c_in,
  9 c_out]`). Every 3x3 convolution here, and the FLOP count of
  `glow_tf.benchmarking.flops`, follows this one rule.

  #### Examples

  ```python
  taps_on_output(6, 512)   # False: a coupling network's input convolution
  taps_on_output(512, 12)  # True: its zero-initialised output convolution
  ```
  """
  return c_in > c_out


def conv3x3_as_matmul(x, kernel):
  """A 3x3 'SAME' convolution computed as matmuls (see the module docstring).

  Picks the cheaper side for the 3x3 taps (`taps_on_output`): patches of the
  input when it has no more channels than the output, else shifted sums of
  the output.
  """
  k = tf.convert_to_tensor(kernel)
  c_in, c_out = k.shape[2], k.shape[3]
  if not taps_on_output(c_in, c_out):
    return _matmul_pixels(_gather_taps(x), tf.reshape(k, [9 * c_in, c_out]))
  return _sum_taps(_matmul_pixels(x, _kernel9(k)))


def conv_as_matmul(x, kernel):
  """A 'SAME' convolution with a 1x1 or 3x3 kernel, computed as matmuls.

  Unlike `tf.nn.conv2d` on CPU (whose oneDNN kernel returns an empty batch
  unchanged, with the input's channel count), this also maps zero images to
  `[0, H, W, Cout]`. Other kernel sizes fall back to `tf.nn.conv2d`.
  """
  if x.shape.rank is not None and x.shape.rank != 4:
    raise ValueError(f'Expected images [N, H, W, C] (rank 4), got shape '
                     f'{x.shape}.')
  k = tf.convert_to_tensor(kernel)
  if k.shape[0] == k.shape[1] == 1:
    return _matmul_pixels(x, k[0, 0])
  if k.shape[0] == k.shape[1] == 3:
    return conv3x3_as_matmul(x, k)
  return tf.nn.conv2d(x, k, strides=1, padding='SAME')


def edge_indicator(like):
  """`[H*W, 9]`: 1 where 3x3 tap t of pixel p falls outside the image, else 0.

  The taps are in the order of a `[3, 3, ...]` kernel; `like` is any
  `[N, H, W, C]` tensor of the image size.
  """
  h, w = _spatial(like)
  inside = _gather_taps_plain(tf.ones([1, h, w, 1], like.dtype), 1)
  return tf.reshape(1.0 - inside, [-1, len(_TAPS)])


def edge_map(like, edge):
  """`[1, H, W, Cout]`: the edge map (module docstring) of `like`'s image size.

  `edge` is `[9, Cout]`, `like` any `[N, H, W, C]` tensor.
  """
  h, w = _spatial(like)
  return tf.reshape(tf.matmul(edge_indicator(like), edge),
                    tf.stack([1, h, w, edge.shape[-1]]))


def add_edge_map(y, edge):
  """`y + edge_map` (see the module docstring); `edge` is `[9, Cout]`."""
  return y + edge_map(y, edge)


def act_norm_variables(num_channels, dtype):
  """`(log_scale, bias, initialized)` of an ActNorm: zeros, zeros and False.

  Their aggregation is `ONLY_FIRST_REPLICA`, so that `initialize_act_norm`
  may assign them inside a replica context (the values it assigns are
  all-reduced, hence equal on every replica).
  """
  aggregation = tf.VariableAggregation.ONLY_FIRST_REPLICA
  log_scale = tf.Variable(tf.zeros([num_channels], dtype), name='log_scale',
                          aggregation=aggregation)
  bias = tf.Variable(tf.zeros([num_channels], dtype), name='bias',
                     aggregation=aggregation)
  initialized = tf.Variable(False, trainable=False, name='initialized',
                            aggregation=aggregation)
  return log_scale, bias, initialized


def applied_log_scale(log_scale, log_scale_factor):
  """The log-scale an ActNorm applies: `log_scale_factor * log_scale`.

  The official code stores an ActNorm's log-scale divided by a factor (3)
  and multiplies it back when used: with Adam or Adamax, whose steps have
  about the same size in every parameter, that makes the log-scales move
  `log_scale_factor` times faster than with factor 1 (the paper's text, and
  glow_tf's default). Checkpoints store `log_scale`, the variable.
  """
  if log_scale_factor == 1.0:
    return log_scale
  return log_scale * log_scale_factor


def initialize_act_norm(x, log_scale, bias, initialized, log_scale_factor=1.0):
  """ActNorm's data-dependent initialisation, once (Glow, section 3.1).

  Unless `initialized` is already True, sets, per channel (the last axis) and
  over every other axis of the batch `x`,

  ```
  bias = -mean(x),   log_scale = -log(std(x) + 1e-6) / log_scale_factor
  ```

  so that `(x + bias) * exp(log_scale_factor * log_scale)` has zero mean and
  unit variance; then
  sets `initialized`. Inside a `tf.distribute` replica context the
  statistics are all-reduced over every replica, so all copies agree. Both
  `glow_tf.bijectors.ActNorm` and the networks' `ActNormLayer` use it.

  Args:
    x: `[..., C]` batch.
    log_scale, bias: `[C]` float variables.
    initialized: scalar bool variable.
    log_scale_factor: the factor that the ActNorm multiplies `log_scale` by
      (`applied_log_scale`).
  """
  num_channels = x.shape[-1]
  axes = list(range(x.shape.rank - 1))
  count = tf.cast(tf.size(x) // num_channels, x.dtype)
  total = tf.reduce_sum(x, axis=axes)
  context = tf.distribute.get_replica_context()
  replicated = context is not None and context.num_replicas_in_sync > 1
  if replicated:
    total, count = context.all_reduce(tf.distribute.ReduceOp.SUM,
                                      [total, count])
  mean = total / count
  squares = tf.reduce_sum(tf.square(x - mean), axis=axes)
  if replicated:
    squares = context.all_reduce(tf.distribute.ReduceOp.SUM, squares)
  std = tf.sqrt(squares / count)
  done = initialized
  # An empty batch (count 0) or a NaN or infinity gives NaN statistics, which
  # would be kept for good once `initialized` is set: refuse them instead.
  # In eager mode the assertion raises at once; in a graph the assignments
  # wait for it, so a failed one assigns nothing.
  usable = tf.logical_and(
      count > 0, tf.reduce_all(tf.math.is_finite(tf.concat([mean, std], 0))))
  check = tf.debugging.Assert(
      tf.logical_or(done, usable),
      ['ActNorm initialisation needs a non-empty batch of finite values; '
       'values per channel:', count])
  with tf.control_dependencies([] if check is None else [check]):
    bias.assign(tf.where(done, bias, -mean))
    log_scale.assign(
        tf.where(done, log_scale,
                 -tf.math.log(std + _ACT_NORM_EPSILON) / log_scale_factor))
    initialized.assign(True)


class ActNormLayer(tf.Module):
  """Per-channel `y = (x + bias) * exp(factor * log_scale)`, initialised from data.

  The ActNorm of the coupling networks' hidden layers: the image -> latent
  map of `glow_tf.bijectors.ActNorm`, with the same variables and the same
  `initialize` (`initialize_act_norm`), as a plain layer. It starts as the
  identity. `log_scale_factor` as in `applied_log_scale` (1: the paper's
  text; 3: the official code).
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

  def __call__(self, x):
    return (x + self.bias) * tf.exp(self.applied_log_scale)

  def initialize(self, x):
    """Sets the statistics from the batch `x` (once); returns `self(x)`."""
    initialize_act_norm(x, self.log_scale, self.bias, self.initialized,
                        self._log_scale_factor)
    return self(x)


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


def _folded(kernel, norm, edge=None):
  """Kernel, bias and edge weights of `norm(conv(x, kernel))` as one conv.

  `edge` (the conv's edge-padding weights, or None) is scaled like the
  kernel; the third result is None without it.
  """
  scale = tf.exp(norm.applied_log_scale)
  return kernel * scale, norm.bias * scale, (
      None if edge is None else edge * scale)


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

  With `edge_padding` (3x3 only) it also has `edge` `[9, Cout]`, the weights
  of the reference code's padding-indicator input channel (same init).
  """

  def __init__(self, in_channels, out_channels, kernel_size=3, use_bias=True,
               seed=None, dtype=tf.float32, edge_padding=False, name='conv'):
    super().__init__(name=name)
    _check_edge_padding(edge_padding, kernel_size)
    rng = np.random.default_rng(seed)
    shape = (kernel_size, kernel_size, in_channels, out_channels)
    with self.name_scope:
      self.kernel = tf.Variable(rng.normal(0.0, _WEIGHT_STDDEV, shape),
                                dtype=dtype, name='kernel')
      self.bias = (tf.Variable(tf.zeros([out_channels], dtype), name='bias')
                   if use_bias else None)
      self.edge = (tf.Variable(
          rng.normal(0.0, _WEIGHT_STDDEV, (len(_TAPS), out_channels)),
          dtype=dtype, name='edge') if edge_padding else None)

  def __call__(self, x):
    y = conv_as_matmul(x, self.kernel)
    if self.edge is not None:
      y = add_edge_map(y, self.edge)
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
               log_scale_factor=3.0, dtype=tf.float32, edge_padding=False,
               name='zero_conv'):
    super().__init__(name=name)
    _check_edge_padding(edge_padding, kernel_size)
    self._log_scale_factor = log_scale_factor
    shape = (kernel_size, kernel_size, in_channels, out_channels)
    with self.name_scope:
      self.kernel = tf.Variable(tf.zeros(shape, dtype), name='kernel')
      self.bias = tf.Variable(tf.zeros([out_channels], dtype), name='bias')
      self.log_scale = tf.Variable(tf.zeros([out_channels], dtype),
                                   name='log_scale')
      self.edge = (tf.Variable(tf.zeros([len(_TAPS), out_channels], dtype),
                               name='edge') if edge_padding else None)

  def _scaled(self, cast=None):
    # (conv(x, k) + b + edge_map) * s as conv(x, k * s) + b * s + (edge * s)
    # map: one pass over the output. The edge weights are None without edge
    # padding. `cast` (or None) is applied to the kernel only.
    scale = tf.exp(self.log_scale * self._log_scale_factor)
    kernel = self.kernel * scale
    return kernel if cast is None else cast(kernel), self.bias * scale, (
        None if self.edge is None else self.edge * scale)

  @staticmethod
  def _with_edge(y, edge):
    return y if edge is None else add_edge_map(y, edge)

  def _taps_on_output(self):
    """3x3 to fewer channels: matmul on the wide input, taps on the output."""
    return (self.kernel.shape[0] == 3 and
            taps_on_output(self.kernel.shape[2], self.kernel.shape[3]))

  def __call__(self, x):
    kernel, bias, edge = self._scaled()
    return self._with_edge(tf.nn.bias_add(conv_as_matmul(x, kernel), bias),
                           edge)

  @property
  def sums_output_taps(self):
    """Whether the convolution is a matmul and then a sum of 3x3 taps."""
    return self._taps_on_output()

  def output_taps(self, pixels, like, cast=None):
    """`on_pixels` before its taps are summed: `(y, offset)`.

    `on_pixels(pixels, like, cast, out_dtype) == cast(sum_taps(y)) + offset`
    with `y = pixels @ kernel9` (`[N, H, W, 9 out_channels]`, in the dtype
    of `pixels`) and `offset` the bias, plus the edge map with edge padding
    (in the variables' dtype): for `after_summed_taps`. Only where
    `sums_output_taps`.
    """
    if not self._taps_on_output():
      raise ValueError(f'{self.name}: a {list(self.kernel.shape)} kernel '
                       'sums no taps on its output.')
    kernel, bias, edge = self._scaled(cast)
    y = _to_image(tf.matmul(pixels, _kernel9(kernel)), like)
    offset = bias if edge is None else bias + edge_map(like, edge)
    return y, offset

  def on_pixels(self, pixels, like, cast=None, out_dtype=None):
    """The same convolution of an image given as its pixels.

    Args:
      pixels: `[N*H*W, in_channels]`, the pixels of an `[N, H, W, ...]` image.
      like: any `[N, H, W, ...]` tensor, for the image's shape.
      cast: None, or a function applied to the kernel (a cast to the dtype of
        `pixels`, for mixed precision).
      out_dtype: None, or the dtype that the convolution's result is cast to
        before its bias and edge map are added (in the variables' dtype).

    Returns:
      `[N, H, W, out_channels]`, in `out_dtype` if given.
    """
    kernel, bias, edge = self._scaled(cast)
    if self._taps_on_output():
      y = _sum_taps(_to_image(tf.matmul(pixels, _kernel9(kernel)), like))
    else:
      y = conv_as_matmul(_to_image(pixels, like), kernel)
    if out_dtype is not None:
      y = tf.cast(y, out_dtype)
    return self._with_edge(tf.nn.bias_add(y, bias), edge)


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
               seed=None, dtype=tf.float32, edge_padding=False,
               compute_dtype=None, act_norm_log_scale_factor=1.0,
               name='coupling_network'):
    super().__init__(name=name)
    _checks.positive_int(hidden_channels, 'hidden_channels')
    self._compute_dtype = check_compute_dtype(compute_dtype, dtype)
    seeds = _seeds.split_seed(seed, 2)
    with self.name_scope:
      self.conv_in = Conv2D(in_channels, hidden_channels, 3, use_bias=False,
                            seed=int(seeds[0]), dtype=dtype,
                            edge_padding=edge_padding, name='conv_in')
      self.norm_in = ActNormLayer(
          hidden_channels, dtype=dtype,
          log_scale_factor=act_norm_log_scale_factor, name='norm_in')
      self.conv_hidden = Conv2D(hidden_channels, hidden_channels, 1,
                                use_bias=False, seed=int(seeds[1]),
                                dtype=dtype, name='conv_hidden')
      self.norm_hidden = ActNormLayer(
          hidden_channels, dtype=dtype,
          log_scale_factor=act_norm_log_scale_factor, name='norm_hidden')
      self.conv_out = ZeroConv2D(hidden_channels, out_channels, 3,
                                 dtype=dtype, edge_padding=edge_padding,
                                 name='conv_out')

  def __call__(self, x, initialize=False):
    """Applies the network to `[N, H, W, in_channels]`.

    Args:
      x: the conditioning half of the channels.
      initialize: run the data-dependent initialisation of the ActNorms on
        this batch (once; see `initialize_act_norm`). It runs in the
        variables' dtype, whatever `compute_dtype` is.
    """
    if initialize:
      h = tf.nn.relu(self.norm_in.initialize(self.conv_in(x)))
      h = tf.nn.relu(self.norm_hidden.initialize(self.conv_hidden(h)))
      return self.conv_out(h)
    h, cast = self._hidden(x)
    return self.conv_out.on_pixels(
        h, like=x, cast=cast,
        out_dtype=None if self._compute_dtype is None else x.dtype)

  @property
  def compute_dtype(self):
    """The dtype of the fast path's matmuls, or None for the variables'."""
    return self._compute_dtype

  @property
  def sums_output_taps(self):
    """Whether the last convolution ends in a sum of taps (`output_taps`).

    True unless `hidden_channels <= out_channels` (`taps_on_output`).
    """
    return self.conv_out.sums_output_taps

  def output_taps(self, x, channels=None):
    """The network's output before its last 3x3 taps are summed.

    Returns `(y, offset)` with `self(x) == cast(sum_taps(y)) + offset` up to
    float rounding, `y` `[N, H, W, 9 out_channels]` in the compute dtype
    and `offset` in the variables' dtype (`ZeroConv2D.output_taps`): for
    code that fuses what follows the network into the sum
    (`after_summed_taps`). Only where `sums_output_taps`.

    With `channels` (an int), the network runs on `x[..., :channels]` (its
    `in_channels` first channels: a coupling's conditioning half), sliced
    inside the input convolution's taps instead of by an op of its own.

    #### Examples

    ```python
    y, offset = net.output_taps(x_a)
    add = after_summed_taps(lambda s, o: tf.cast(s, o.dtype) + o)
    h = add(y, offset)                    # == net(x_a)
    ```
    """
    if channels is not None:
      _checks.positive_int(channels, 'channels')
      if channels != self.conv_in.kernel.shape[2]:
        raise ValueError(f'{self.name}: channels must be in_channels='
                         f'{self.conv_in.kernel.shape[2]}, got {channels}.')
      if x.shape[-1] is not None and x.shape[-1] < channels:
        raise ValueError(f'{self.name}: x has {x.shape[-1]} channels, fewer '
                         f'than channels={channels}.')
    h, cast = self._hidden(x, channels)
    return self.conv_out.output_taps(h, like=x, cast=cast)

  def _hidden(self, x, channels=None):
    """The fast path up to the last convolution: `(pixels, cast)`.

    Each ActNorm is folded into the convolution before it, each convolution
    is one matmul (see the module docstring), and the hidden layers are kept
    as `[pixels, channels]` matrices so that TensorFlow fuses matmul + bias
    + ReLU into one op. With a compute dtype the folded weights (computed
    in the variables' dtype) and the input are cast once; the biases stay
    in the variables' dtype, so that their gradients, sums over every
    pixel, are summed there too. `cast` is the cast to apply to the last
    convolution's kernel. `channels`: see `output_taps`.
    """
    if self._compute_dtype is None:
      cast, bias_relu = (lambda t: t), _bias_relu
    else:
      cast = lambda t: None if t is None else tf.cast(t, self._compute_dtype)
      bias_relu = _mixed_bias_relu
      x = cast(x)
    kernel, bias, edge = _folded(self.conv_in.kernel, self.norm_in,
                                 self.conv_in.edge)
    kernel, edge = cast(kernel), cast(edge)
    c_in, width = kernel.shape[2], kernel.shape[3]
    if not taps_on_output(c_in, width):
      h = tf.matmul(_to_pixels(_gather_taps(x, channels)),
                    tf.reshape(kernel, [9 * c_in, width]))
    else:
      if channels is not None:
        x = x[..., :channels]
      h = _to_pixels(conv3x3_as_matmul(x, kernel))
    if edge is not None:
      h = _to_pixels(add_edge_map(_to_image(h, x), edge))
    h = bias_relu(h, bias)
    kernel, bias, _ = _folded(self.conv_hidden.kernel[0, 0], self.norm_hidden)
    return bias_relu(tf.matmul(h, cast(kernel)), bias), cast
