"""One step of flow: ActNorm -> permutation -> coupling, as a `tfb.Chain`.

Also the functions that walk chains of steps in the image -> latent order:
`initialize` (data-dependent initialisation), and `inverse_and_log_det` and
`forward_and_log_det`, which give a chain's output and log-det in one pass
through its parts (`GlowBijector.inverse_and_log_det` of each). Where an
`ActNorm` is followed by a 1x1 convolution (every step with `permutation`
'lu_conv' or 'conv'), the walk applies the two as one affine map per pixel:

```
inverse:  W ((x + b) * s)   = x @ (diag(s) W^T) + W (b * s)
forward:  W^-1 z / s - b    = z @ (W^-T diag(1 / s)) - b
```

one matmul with a bias instead of a matmul and two element-wise passes
(TFP's own `inverse` and `forward` still apply them one after the other; the
tests check that both agree).
"""

import tensorflow as tf
from tensorflow_probability import bijectors as tfb

from glow_tf import _checks
from glow_tf import _seeds
from glow_tf.bijectors.act_norm import ActNorm
from glow_tf.bijectors.affine_coupling import AffineCoupling
from glow_tf.bijectors.glow_bijector import GlowBijector
from glow_tf.bijectors.glow_bijector import sum_over_event
from glow_tf.bijectors.invertible_conv import InvertibleConv1x1
from glow_tf.bijectors.permutation import ChannelPermutation

__all__ = ['COUPLINGS', 'PERMUTATIONS', 'chain_parts', 'flow_step',
           'forward_and_log_det', 'initialize', 'inverse_and_log_det']

PERMUTATIONS = ('lu_conv', 'conv', 'shuffle', 'reverse')
COUPLINGS = ('affine', 'additive')


def _permutation(kind, num_channels, seed, dtype):
  if kind in ('lu_conv', 'conv'):
    return InvertibleConv1x1(num_channels, lu_decomposed=kind == 'lu_conv',
                             seed=seed, dtype=dtype)
  return ChannelPermutation(num_channels, kind=kind, seed=seed, dtype=dtype)


def flow_step(num_channels, hidden_channels=512, permutation='lu_conv',
              coupling='affine', seed=None, dtype=tf.float32,
              edge_padding=False, network_dtype=None,
              act_norm_log_scale_factor=1.0, name='flow_step'):
  """Returns one Glow step, `tfb.Chain([act_norm, permutation, coupling])`.

  In the image -> latent direction (the chain's inverse) the step applies
  ActNorm, then the permutation, then the coupling, as in the paper's
  figure 2a; the forward direction undoes them in reverse order.

  Args:
    num_channels: channels C of the `[H, W, C]` events.
    hidden_channels: width of the coupling network.
    permutation: 'lu_conv' (1x1 convolution in LU form), 'conv' (plain 1x1
      convolution), 'shuffle' or 'reverse' (fixed permutations).
    coupling: 'affine' or 'additive'.
    seed: int seed for the initial weights; `None` for random.
    dtype: float dtype.
    edge_padding: the coupling network's padding-indicator channel (see
      `glow_tf.networks`).
    network_dtype: None, or 'bfloat16' for the coupling network's matmuls
      (see `AffineCoupling`).
    act_norm_log_scale_factor: `log_scale_factor` of the step's ActNorm and
      of the coupling network's ActNorms (1, or 3 as in the official code).
    name: name of the chain.

  Returns:
    A `tfb.Chain` whose `bijectors` are `[ActNorm, permutation, AffineCoupling]`.

  #### Examples

  ```python
  step = glow_tf.bijectors.flow_step(12, hidden_channels=512)
  glow_tf.bijectors.initialize(step, x)   # data-dependent init, in order
  z = step.inverse(x)
  ```
  """
  _checks.one_of(permutation, 'permutation', PERMUTATIONS)
  _checks.one_of(coupling, 'coupling', COUPLINGS)
  seeds = _seeds.split_seed(seed, 2)
  with tf.name_scope(name) as scope_name:
    return tfb.Chain([
        ActNorm(num_channels, dtype=dtype,
                log_scale_factor=act_norm_log_scale_factor),
        _permutation(permutation, num_channels, int(seeds[0]), dtype),
        AffineCoupling(num_channels, hidden_channels,
                       additive=coupling == 'additive', seed=int(seeds[1]),
                       dtype=dtype, edge_padding=edge_padding,
                       network_dtype=network_dtype,
                       act_norm_log_scale_factor=act_norm_log_scale_factor),
    ], name=scope_name.rstrip('/'))


def chain_parts(bijector):
  """The parts of a `tfb.Chain` in the order its inverse applies them, or None.

  `tfb.Chain([b0, b1, b2]).inverse` applies `b0` first, so image -> latent
  walks `bijectors` in list order. `tfb.Chain` of parts that are not
  composite tensors (such as glow_tf's) is a `tfb.Composition` but not a
  `tfb.Chain` instance; the other compositions (`tfb.Blockwise`,
  `tfb.JointMap`) are not sequences and give None.
  """
  if (isinstance(bijector, tfb.Composition) and
      not isinstance(bijector, (tfb.Blockwise, tfb.JointMap))):
    return list(bijector.bijectors)
  return None


def inverse_and_log_det(bijector, x, event_ndims=3, **kwargs):
  """`(bijector.inverse(x), its inverse log-det)`, each part run once.

  A `GlowBijector` answers itself (`GlowBijector.inverse_and_log_det`); a
  `tfb.Chain` is walked part by part in the image -> latent order, each part
  taking the previous one's output; any other bijector is asked for
  `inverse` and then `inverse_log_det_jacobian`.

  Args:
    bijector: a bijector, or a `tfb.Chain` of them (chains may nest: a level
      of `MultiScaleFlow` is a chain of `flow_step` chains).
    x: image-side tensor.
    event_ndims: rank of its events (3 for `[..., H, W, C]` images).
    **kwargs: passed to every part (a chain's parts take none).

  Returns:
    `(z, ildj)`, `ildj` shaped like the batch of `x`.
  """
  parts = chain_parts(bijector)
  if parts is not None:
    ildj = 0.
    i = 0
    while i < len(parts):
      if _foldable(parts[i:i + 2], event_ndims):
        x, part_ildj = _act_norm_conv_inverse(*parts[i:i + 2], x, event_ndims)
        i += 2
      else:
        x, part_ildj = inverse_and_log_det(parts[i], x, event_ndims, **kwargs)
        i += 1
      ildj += part_ildj
    return x, ildj
  if isinstance(bijector, GlowBijector):
    return bijector.inverse_and_log_det(x, event_ndims, **kwargs)
  return (bijector.inverse(x, **kwargs),
          bijector.inverse_log_det_jacobian(x, event_ndims, **kwargs))


def forward_and_log_det(bijector, z, event_ndims=3, **kwargs):
  """`(bijector.forward(z), its forward log-det)`, each part run once.

  The latent -> image counterpart of `inverse_and_log_det`: a `tfb.Chain`
  is walked in reverse list order.
  """
  parts = chain_parts(bijector)
  if parts is not None:
    fldj = 0.
    i = len(parts)
    while i > 0:
      if _foldable(parts[i - 2:i], event_ndims):
        z, part_fldj = _act_norm_conv_forward(*parts[i - 2:i], z, event_ndims)
        i -= 2
      else:
        z, part_fldj = forward_and_log_det(parts[i - 1], z, event_ndims,
                                           **kwargs)
        i -= 1
      fldj += part_fldj
    return z, fldj
  if isinstance(bijector, GlowBijector):
    return bijector.forward_and_log_det(z, event_ndims, **kwargs)
  return (bijector.forward(z, **kwargs),
          bijector.forward_log_det_jacobian(z, event_ndims, **kwargs))


def _foldable(pair, event_ndims):
  """Whether `pair` is an ActNorm and then a 1x1 convolution (image side).

  A bad `event_ndims` is left to the parts, which refuse it with their
  message.
  """
  good_ndims = (isinstance(event_ndims, int) and
                not isinstance(event_ndims, bool) and event_ndims >= 1)
  return (good_ndims and len(pair) == 2 and isinstance(pair[0], ActNorm) and
          isinstance(pair[1], InvertibleConv1x1))


def _log_det_per_pixel(act_norm, conv):
  """`sum(log s) + log|det W|`: the pair's inverse log-det at each pixel."""
  return tf.reduce_sum(act_norm.applied_log_scale) + conv.log_abs_det()


def _on_pixels(t, matrix, bias):
  """`t @ matrix + bias` on the last axis of `[..., C]`, as one matmul."""
  flat = tf.reshape(t, [-1, t.shape[-1]])
  out = tf.reshape(tf.nn.bias_add(tf.matmul(flat, matrix), bias), tf.shape(t))
  out.set_shape(t.shape)
  return out


def _act_norm_conv_inverse(act_norm, conv, x, event_ndims):
  """`conv.inverse(act_norm.inverse(x))` and its log-det, as one matmul."""
  x = _checks.check_event(tf.convert_to_tensor(x, act_norm.dtype), act_norm,
                          act_norm.num_channels, min_rank=1)
  matrix = (tf.exp(act_norm.applied_log_scale)[:, tf.newaxis] *
            tf.transpose(conv.matrix()))
  bias = tf.linalg.matvec(matrix, act_norm.bias, transpose_a=True)
  return _on_pixels(x, matrix, bias), sum_over_event(
      _log_det_per_pixel(act_norm, conv), x, 1, event_ndims)


def _act_norm_conv_forward(act_norm, conv, z, event_ndims):
  """`act_norm.forward(conv.forward(z))` and its log-det, as one matmul."""
  z = _checks.check_event(tf.convert_to_tensor(z, conv.dtype), conv,
                          conv.num_channels, min_rank=1)
  matrix = (tf.transpose(conv.inverse_matrix()) *
            tf.exp(-act_norm.applied_log_scale))
  return _on_pixels(z, matrix, -act_norm.bias), sum_over_event(
      -_log_det_per_pixel(act_norm, conv), z, 1, event_ndims)


def initialize(bijector, x):
  """Data-dependent initialisation of every ActNorm in `bijector`, in order.

  Walks the bijector in the image -> latent direction: for a `tfb.Chain`
  that is its `bijectors` in list order. Each part with an `initialize(x)`
  method is initialised on the output of the parts before it; other parts
  are applied with `inverse`.

  Args:
    bijector: a bijector or a `tfb.Chain` of them.
    x: an image-side batch.

  Returns:
    `bijector.inverse(x)`, computed with the initialised parameters.
  """
  parts = chain_parts(bijector)
  if parts is not None:
    for part in parts:
      x = initialize(part, x)
    return x
  if hasattr(bijector, 'initialize'):
    return bijector.initialize(x)
  return bijector.inverse(x)
