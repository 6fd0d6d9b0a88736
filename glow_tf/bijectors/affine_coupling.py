"""Glow's affine (or additive) coupling layer."""

import math

import tensorflow as tf

from glow_tf import _checks
from glow_tf import _shapes
from glow_tf import networks
from glow_tf.bijectors.glow_bijector import GlowBijector

__all__ = ['AffineCoupling', 'forward_half', 'inverse_half']

_SIGMOID_2 = 1.0 / (1.0 + math.exp(-2.0))


def _shift_and_raw(h, additive):
  """`NN`'s output as `(shift, raw)`; `raw` is None for an additive coupling."""
  if additive:
    return h, None
  return tuple(tf.split(h, 2, axis=-1))


def _log_scale(raw):
  """`log(scale) = log(sigmoid(raw + 2) / sigmoid(2))`."""
  return (tf.math.log_sigmoid(raw + 2.0) -
          tf.math.log_sigmoid(tf.constant(2.0, raw.dtype)))


def inverse_half(x_b, h, additive=False):
  """Image -> latent on the transformed half: `(z_b, log_scale)`.

  `z_b = (x_b + shift) * scale` with `[shift, raw] = h = NN(x_a)`;
  `log_scale` (None when additive) sums to the inverse log-det.
  """
  shift, raw = _shift_and_raw(h, additive)
  if raw is None:
    return x_b + shift, None
  log_scale = _log_scale(raw)
  return (x_b + shift) * tf.exp(log_scale), log_scale


def forward_half(z_b, h, additive=False):
  """Latent -> image on the transformed half: `(x_b, raw)`.

  `x_b = z_b / scale - shift`, with `1 / scale = sigmoid(2) (1 + exp(-raw - 2))`;
  `-sum(_log_scale(raw))` is the forward log-det (`raw` None when additive).
  """
  shift, raw = _shift_and_raw(h, additive)
  if raw is None:
    return z_b - shift, None
  return z_b * (_SIGMOID_2 * (1.0 + tf.exp(-raw - 2.0))) - shift, raw


def _forward_tail(h, t, split, additive, context_channels):
  """The whole forward pass given `h = NN(t[..., :context_channels + split])`.

  `t = [context, z]` on channels (just `z` without a context); returns
  `([z_a, x_b], raw)`. Module-level, so that fast kernels can compile it
  with `NN`'s last layer (`CouplingNetwork.then`).
  """
  z = t[..., context_channels:] if context_channels else t
  z_a, z_b = _shapes.split_channels(z, split)
  x_b, raw = forward_half(z_b, h, additive)
  return tf.concat([z_a, x_b], axis=-1), raw


def _sum_event(log_scale, batch_shape, dtype):
  if log_scale is None:
    return tf.zeros(batch_shape, dtype)
  return tf.reduce_sum(log_scale, axis=[-3, -2, -1])


class AffineCoupling(GlowBijector):
  """Half the channels pass through and set a scale and shift of the rest.

  With `x = [x_a, x_b]` split on channels (`x_a` the first `C // 2`) and
  `[shift, raw] = NN(x_a)`:

  ```
  inverse (image -> latent):  z_a = x_a,  z_b = (x_b + shift) * scale
  forward (latent -> image):  x_a = z_a,  x_b = z_b / scale - shift
  scale = sigmoid(raw + 2) / sigmoid(2)     (1 at raw = 0, below 1.14)
  inverse_log_det_jacobian  = sum over H, W, C_b of log(scale)
  ```

  The reference code's `sigmoid(raw + 2)` is divided by `sigmoid(2)` so that
  a zero `raw` gives `scale = 1` exactly.

  With `context_channels > 0` the coupling is conditional: every call takes
  `context`, a tensor `[..., H, W, context_channels]` of the same batch and
  spatial shape, and `NN` reads `[context, x_a]` (concatenated on channels).
  For a fixed context it is still a bijection of `x`; TFP's route works as
  for its other conditional bijectors: `coupling.forward(z, context=c)`, and
  through a `tfb.Chain`, `chain.forward(z, **{coupling.name: {'context': c}})`.

  With `additive=True`, `scale = 1` (NICE's additive coupling, log-det 0) and
  `NN` outputs only the shift. `NN` is `glow_tf.networks.CouplingNetwork`
  whose last convolution is zero-initialised, so the layer starts as the
  identity. The log-det comes out of the same `NN(x_a)` as the output:
  `inverse_and_log_det(x)` returns both from one run of `NN` (TFP's
  `inverse` and `inverse_log_det_jacobian` run it once each). The formulas
  are the module's `inverse_half` and `forward_half`, given `h = NN(x_a)`
  (`network_output`): code that reuses one run of `NN`, such as
  `glow_tf.memory`, calls them too.

  Acts on events `[H, W, C]` with any batch shape.

  #### Examples

  ```python
  coupling = glow_tf.bijectors.AffineCoupling(num_channels=12,
                                              hidden_channels=512)
  coupling.initialize(x)      # data-dependent init of NN's ActNorms
  z, ildj = coupling.inverse_and_log_det(x, event_ndims=3)  # x: [N, H, W, 12]
  ```

  #### References

  [1]: Diederik P. Kingma, Prafulla Dhariwal. Glow: Generative Flow with
       Invertible 1x1 Convolutions. NeurIPS 2018, section 3.3.
  """

  def __init__(self, num_channels, hidden_channels=512, additive=False,
               seed=None, dtype=tf.float32, edge_padding=False,
               network_dtype=None, act_norm_log_scale_factor=1.0,
               kernels='fast', context_channels=0, validate_args=False,
               name='affine_coupling'):
    """Builds an identity coupling.

    Args:
      num_channels: number of channels C, at least 2.
      hidden_channels: width of `NN`'s hidden convolutions.
      additive: shift only (volume preserving) instead of scale and shift.
      seed: int seed of `NN`'s initial weights.
      dtype: float dtype.
      edge_padding: give `NN`'s 3x3 convolutions the reference code's
        padding-indicator channel (`glow_tf.networks`, edge padding).
      network_dtype: None, or 'bfloat16' to run `NN`'s matmuls in bfloat16
        (mixed precision: the variables, the coupling's arithmetic and its
        log-det stay in `dtype`; the layer stays exactly invertible, since
        both directions run the same `NN` on the same `x_a`).
      act_norm_log_scale_factor: `log_scale_factor` of `NN`'s two ActNorms
        (`glow_tf.networks.ActNormLayer`).
      kernels: the `glow_tf.kernels` backend that computes `NN`.
      context_channels: channels of the `context` every call then takes
        (0: unconditional, no context).
      validate_args: passed to `tfb.Bijector`.
      name: name scope of the variables.
    """
    parameters = dict(locals())
    c = self._num_channels = _checks.positive_int(num_channels, 'num_channels')
    if c < 2:
      raise ValueError(f'`num_channels` must be >= 2 for a coupling, got {c}.')
    if not isinstance(additive, bool):
      raise ValueError(f'`additive` must be True or False, got {additive!r}.')
    self._additive = additive
    self._split = c // 2
    self._context_channels = _checks.positive_int(
        context_channels, 'context_channels', allow_zero=True)
    transformed = c - self._split
    dtype = _checks.float_dtype(dtype)
    with tf.name_scope(name) as scope_name:
      self.network = networks.CouplingNetwork(
          self._context_channels + self._split, transformed if additive else 2 * transformed,
          hidden_channels, seed=seed, dtype=dtype, edge_padding=edge_padding,
          compute_dtype=network_dtype,
          act_norm_log_scale_factor=act_norm_log_scale_factor,
          kernels=kernels)
      # TFP routes a chain's keywords by its parts' names: the plain name,
      # so that `chain.forward(z, affine_coupling={'context': c})` works.
      del scope_name
      super().__init__(forward_min_event_ndims=3, validate_args=validate_args,
                       dtype=dtype, parameters=parameters, name=name)

  @property
  def num_channels(self):
    return self._num_channels

  @property
  def additive(self):
    return self._additive

  @property
  def context_channels(self):
    """Channels of the `context` this coupling takes (0: none)."""
    return self._context_channels

  def split(self, x):
    """`(x_a, x_b)`: the first `C // 2` channels (`NN`'s input), the rest."""
    _checks.check_event(x, self, self._num_channels, min_rank=3)
    return _shapes.split_channels(x, self._split)

  def _with_context(self, t, context):
    """`[context, t]` on channels, `NN`'s input (`t` alone without context)."""
    context = _checks.check_context(context, self._context_channels, t,
                                     self.name)
    return t if context is None else tf.concat([context, t], axis=-1)

  def network_output(self, x_a, context=None):
    """`h = NN([context, x_a])` for `x_a` `[..., H, W, C // 2]` (any batch shape)."""
    flat, undo = _shapes.to_rank4(self._with_context(x_a, context))
    return undo(self.network(flat))

  def initialize(self, x, context=None):
    """Initialises `NN`'s ActNorms on the batch `x`; returns `inverse(x)`."""
    x = tf.convert_to_tensor(x, self.dtype)
    x_a, x_b = self.split(x)
    flat, undo = _shapes.to_rank4(self._with_context(x_a, context))
    h = undo(self.network.initialize(flat))
    return tf.concat([x_a, inverse_half(x_b, h, self._additive)[0]], axis=-1)

  def _inverse_and_log_det(self, x, context=None):
    x_a, x_b = self.split(x)
    z_b, log_scale = inverse_half(x_b, self.network_output(x_a, context),
                                  self._additive)
    return (tf.concat([x_a, z_b], axis=-1),
            _sum_event(log_scale, tf.shape(x)[:-3], self.dtype))

  def _forward_and_log_det(self, z, context=None):
    """`NN` reads its half of `z` and the tail may be fused with it.

    The log-det is summed outside the tail, so that a caller that does not
    use it (`forward`) prunes it.
    """
    _checks.check_event(z, self, self._num_channels, min_rank=3)
    flat, undo = _shapes.to_rank4(self._with_context(z, context))
    x, raw = self.network.then(flat, self._context_channels + self._split,
                               _forward_tail, self._split, self._additive,
                               self._context_channels)
    fldj = -_sum_event(None if raw is None else _log_scale(raw),
                       tf.shape(flat)[:-3], self.dtype)
    return undo(x), _unflatten_batch(fldj, z)


def _unflatten_batch(per_example, like):
  """`[N]` values of `to_rank4(like)` back to `like`'s batch shape."""
  if like.shape.rank == 4:
    return per_example
  out = tf.reshape(per_example, tf.shape(like)[:-3])
  out.set_shape(like.shape[:-3])
  return out
