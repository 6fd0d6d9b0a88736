"""3x3 'SAME' convolutions as matmuls: the taps, their gradients, XLA.

Glow's coupling networks have few input and output channels (`C / 2` and
`C`) and a wide hidden layer, a shape at which TensorFlow's CPU
convolutions run far below the machine's matmul speed. Each convolution is
therefore one matmul over all pixels, with the 3x3 taps on the narrower
side:

```
3x3 conv, few inputs:   patches(x) [N*H*W, 9 Cin] @ kernel [9 Cin, Cout]
1x1 conv:               x [N*H*W, Cin] @ kernel [Cin, Cout]
3x3 conv, few outputs:  sum_taps(x [N*H*W, Cin] @ kernel [Cin, 9 Cout])
```

The taps (a pad, nine shifted slices and their concatenation or sum) copy
runs of 2-8 floats, which TensorFlow's `StridedSlice` and `ConcatV2` do
slowly, one op after another. With `xla=True` each tap function is one
XLA-compiled `tf.function` per input signature (pure data movement: the
same values up to the order of a 9-term sum; the matmuls stay TensorFlow's
oneDNN ones). The gradient of gathering taps is summing them with the
opposite shift, and the other way round, so neither needs the
`StridedSliceGrad`s of a padded tensor.

Edge padding (the official code's `edge_bias`) pads a 3x3 convolution's
input with zeros and adds an input channel that is 1 in the padding. That
channel is the same for every image, so its contribution is a fixed map,

```
edge_map[p] = sum_t outside(p, t) * edge[t]      outside: [H*W, 9], edge: [9, Cout]
```
added to the convolution's output: one small matmul, no wider patches.
"""

import functools

import tensorflow as tf

__all__ = ['CompiledPerSignature', 'conv_as_matmul', 'edge_indicator',
           'edge_map', 'gather_taps', 'kernel9', 'matmul_pixels', 'sum_taps',
           'sum_taps_for_xla', 'taps_on_output', 'to_image', 'to_pixels']

# Offsets (di, dj) of the 3x3 taps, in the order of a [3, 3, ...] kernel.
TAPS = tuple((i - 1, j - 1) for i in range(3) for j in range(3))


def _spatial(x):
  """(H, W) of `[N, H, W, C]`, static where known."""
  shape = tf.shape(x)
  return [d if d is not None else shape[k + 1]
          for k, d in enumerate(x.shape[1:3])]


def _window(padded, di, dj, sign, h, w, channels=None):
  """`padded[:, 1 + sign*di : ... + h, 1 + sign*dj : ... + w, channels]`."""
  top, left = 1 + sign * di, 1 + sign * dj
  if channels is None:
    return padded[:, top:top + h, left:left + w, :]
  return padded[:, top:top + h, left:left + w, channels[0]:channels[1]]


def _pad1(x):
  return tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])


def _gather(x, sign, channels=None):
  """Tap t of the output is `x` shifted by `sign * offset_t` (one pad).

  With `channels`, the taps of `x[..., :channels]` (under XLA the slice
  fuses into the pads, so it copies nothing of its own).
  """
  if channels is not None:
    x = x[..., :channels]
  h, w = _spatial(x)
  padded = _pad1(x)
  return tf.concat([_window(padded, di, dj, sign, h, w)
                    for di, dj in TAPS], axis=-1)


def _shifted(x, di, dj):
  """`out[:, i, j] = x[:, i + di, j + dj]`, 0 outside (static H and W)."""
  h, w = x.shape[1], x.shape[2]
  window = x[:, max(0, di):h + min(0, di), max(0, dj):w + min(0, dj), :]
  return tf.pad(window, [[0, 0], [max(0, -di), max(0, di)],
                         [max(0, -dj), max(0, dj)], [0, 0]])


def _sum(y, sign, for_xla=False):
  """Sum over t of channel block t of `y` shifted by `sign * offset_t`.

  Plain TensorFlow pads `y` once and sums nine windows of it. For XLA
  (`for_xla`, static H and W) each block is sliced and padded back, which
  XLA fuses with the sum into one loop, without a padded copy of all of `y`.
  """
  h, w = _spatial(y)
  c = y.shape[-1] // len(TAPS)
  if for_xla and y.shape[1] is not None and y.shape[2] is not None:
    return tf.add_n([_shifted(y[..., t * c:(t + 1) * c], sign * di, sign * dj)
                     for t, (di, dj) in enumerate(TAPS)])
  padded = _pad1(y)
  return tf.add_n([_window(padded, di, dj, sign, h, w, (t * c, (t + 1) * c))
                   for t, (di, dj) in enumerate(TAPS)])


def sum_taps_for_xla(y):
  """`sum_taps(y)` written for a computation that XLA compiles (no gradient)."""
  return _sum(y, 1, for_xla=True)


def _signature_key(value):
  """A hashable key of one argument: shape and dtype of a tensor, else itself."""
  if tf.is_tensor(value):  # true for variables too
    shape = value.shape
    return ('tensor', None if shape.rank is None else tuple(shape.as_list()),
            value.dtype)
  return value


class CompiledPerSignature:
  """`fn` compiled by XLA, as one `tf.function` per input signature.

  XLA compiles one program per input shape, dtype and Python argument either
  way. One function object per signature, instead of one object retraced
  for each, keeps TensorFlow's "triggered tf.function retracing" warning
  off the console when eager calls change the batch size. TensorFlow counts
  traces per Python code object, so each signature's function wraps its own
  `functools.partial`.
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


_COMPILED = {_gather: CompiledPerSignature(_gather),
             _sum: CompiledPerSignature(
                 lambda y, sign: _sum(y, sign, for_xla=True))}


def _move(op, xla, *args):
  """`op(*args)`, XLA-compiled or as plain TensorFlow ops."""
  return (_COMPILED[op] if xla else op)(*args)


def gather_taps(x, xla, channels=None):
  """3x3 patches: `[N, H, W, C] -> [N, H, W, 9 C]`, tap t = (i, j) at t*C.

  `out[p, t*C + c] = x[p + (i - 1, j - 1), c]` ('SAME' zero padding), so a
  3x3 convolution is `gather_taps(x) @ reshape(kernel, [9 C, -1])`. With
  `channels` (a Python int), the patches of `x[..., :channels]`; the other
  channels' gradient is zero. Its gradient is `sum_taps` with the opposite
  shift.
  """
  total = x.shape[-1]
  if channels is not None and total is not None and channels >= total:
    channels = None

  @tf.custom_gradient
  def gather(x):
    def grad(dy):
      dx = _move(_sum, xla, dy, -1)
      if channels is None:
        return dx
      rest = tf.shape(x)[-1] - channels
      return tf.pad(dx, [[0, 0], [0, 0], [0, 0], [0, rest]])
    return _move(_gather, xla, x, 1, channels), grad
  return gather(x)


def sum_taps(y, xla):
  """`[N, H, W, 9 C] -> [N, H, W, C]`: `out[p] = sum_t y[p + (i-1, j-1), t]`.

  With `y = x @ kernel9(kernel)` this is the 3x3 convolution of `x`: the
  matmul runs on the wide input and the shifts on the narrow output. Its
  gradient is `gather_taps` with the opposite shift.
  """
  @tf.custom_gradient
  def summed(y):
    def grad(dout):
      return _move(_gather, xla, dout, -1)
    return _move(_sum, xla, y, 1), grad
  return summed(y)


def to_pixels(x):
  """`[N, H, W, C] -> [N*H*W, C]`."""
  return tf.reshape(x, [-1, x.shape[-1]])


def to_image(flat, like):
  """`[N*H*W, C'] -> [N, H, W, C']`, with `like`'s leading dimensions."""
  shape = tf.shape(like)
  out = tf.reshape(flat, tf.concat([shape[:-1], tf.shape(flat)[-1:]], axis=0))
  out.set_shape(like.shape[:-1].concatenate([flat.shape[-1]]))
  return out


def matmul_pixels(x, matrix):
  """`[N, H, W, Cin] @ [Cin, Cout]`, as one matmul over all pixels."""
  return to_image(tf.matmul(to_pixels(x), matrix), x)


def kernel9(kernel):
  """`[3, 3, Cin, Cout] -> [Cin, 9 Cout]`, tap t = (i, j) at columns t*Cout."""
  c_in, c_out = kernel.shape[2], kernel.shape[3]
  taps = tf.unstack(tf.reshape(kernel, [9, c_in, c_out]), axis=0)
  return tf.concat(taps, axis=1)


def taps_on_output(c_in, c_out):
  """Whether a 3x3 convolution `c_in -> c_out` sums its taps on the output.

  The taps go on the narrower side: patches of the input when it has no
  more channels than the output, else shifted sums of the output. Every
  3x3 convolution of the fast kernels follows this one rule.

  #### Examples

  ```python
  taps_on_output(6, 512)   # False: a coupling network's input convolution
  taps_on_output(512, 12)  # True: its zero-initialised output convolution
  ```
  """
  return c_in > c_out


def conv_as_matmul(x, kernel, xla=True):
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
    return matmul_pixels(x, k[0, 0])
  if k.shape[0] != 3 or k.shape[1] != 3:
    return tf.nn.conv2d(x, k, strides=1, padding='SAME')
  c_in, c_out = k.shape[2], k.shape[3]
  if not taps_on_output(c_in, c_out):
    return matmul_pixels(gather_taps(x, xla), tf.reshape(k, [9 * c_in, c_out]))
  return sum_taps(matmul_pixels(x, kernel9(k)), xla)


def edge_indicator(like):
  """`[H*W, 9]`: 1 where 3x3 tap t of pixel p falls outside the image, else 0.

  The taps are in the order of a `[3, 3, ...]` kernel; `like` is any
  `[N, H, W, C]` tensor of the image size.
  """
  h, w = _spatial(like)
  inside = _gather(tf.ones([1, h, w, 1], like.dtype), 1)
  return tf.reshape(1.0 - inside, [-1, len(TAPS)])


def edge_map(like, edge):
  """`[1, H, W, Cout]`: the edge map of `like`'s image size; `edge` `[9, Cout]`."""
  h, w = _spatial(like)
  return tf.reshape(tf.matmul(edge_indicator(like), edge),
                    tf.stack([1, h, w, edge.shape[-1]]))
