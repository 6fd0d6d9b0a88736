"""Glow's affine (or additive) coupling layer."""

import math

import tensorflow as tf

from glow_tf import _checks
from glow_tf import networks
from glow_tf.bijectors.glow_bijector import GlowBijector

__all__ = ['AffineCoupling']

_SIGMOID_2 = 1.0 / (1.0 + math.exp(-2.0))


def _affine_forward_tail(summed, z, offset, split):
  """`(x, raw)` of the forward pass from the network's summed taps.

  `x = [z_a, z_b / scale - shift]` with `[shift, raw] = summed + offset` and
  `1 / scale = sigmoid(2) / sigmoid(raw + 2) = sigmoid(2) (1 + exp(-raw - 2))`.
  """
  h = tf.cast(summed, offset.dtype) + offset
  transformed = z.shape[-1] - split
  shift, raw = h[..., :transformed], h[..., transformed:]
  x_b = z[..., split:] * (_SIGMOID_2 * (1.0 + tf.exp(-raw - 2.0))) - shift
  return tf.concat([z[..., :split], x_b], axis=-1), raw


def _additive_forward_tail(summed, z, offset, split):
  """`x = [z_a, z_b - shift]` with `shift = summed + offset`."""
  shift = tf.cast(summed, offset.dtype) + offset
  return tf.concat([z[..., :split], z[..., split:] - shift], axis=-1)


# The forward pass after NN's last matmul, fused with the sum of its taps.
_AFFINE_FORWARD_TAIL = networks.after_summed_taps(_affine_forward_tail)
_ADDITIVE_FORWARD_TAIL = networks.after_summed_taps(_additive_forward_tail)


def _log_scale(raw):
  """`log(sigmoid(raw + 2) / sigmoid(2))`."""
  return (tf.math.log_sigmoid(raw + 2.0) -
          tf.math.log_sigmoid(tf.constant(2.0, raw.dtype)))


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

  With `additive=True`, `scale = 1` (NICE's additive coupling, log-det 0) and
  `NN` outputs only the shift. `NN` is `glow_tf.networks.CouplingNetwork`
  whose last convolution is zero-initialised, so the layer starts as the
  identity. The log-det comes out of the same `NN(x_a)` as the output:
  `inverse_and_log_det(x)` returns both from one run of `NN` (TFP's
  `inverse` and `inverse_log_det_jacobian` run it once each). The pieces,
  `split`, `shift_and_log_scale`, `inverse_half` and `forward_half`, are
  public for code that reuses one run of `NN`, such as `glow_tf.memory`.

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
               validate_args=False, name='affine_coupling'):
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
    transformed = c - self._split
    dtype = _checks.float_dtype(dtype)
    with tf.name_scope(name) as scope_name:
      self.network = networks.CouplingNetwork(
          self._split, transformed if additive else 2 * transformed,
          hidden_channels, seed=seed, dtype=dtype, edge_padding=edge_padding,
          compute_dtype=network_dtype,
          act_norm_log_scale_factor=act_norm_log_scale_factor)
      super().__init__(forward_min_event_ndims=3, validate_args=validate_args,
                       dtype=dtype, parameters=parameters,
                       name=scope_name.rstrip('/'))

  @property
  def num_channels(self):
    return self._num_channels

  @property
  def additive(self):
    return self._additive

  def split(self, x):
    """`(x_a, x_b)`: the first `C // 2` channels (`NN`'s input), the rest."""
    _checks.check_event(x, self, self._num_channels, min_rank=3)
    return _checks.split_channels(x, self._split)

  def shift_and_log_scale(self, x_a):
    """`NN(x_a)` as the coupling uses it: `(shift, log_scale)`.

    `log_scale = log(scale)`; it is None for an additive coupling.
    """
    return self._shift_and_log_scale(x_a)

  def inverse_half(self, x_b, shift, log_scale):
    """Image -> latent on `x_b` given `NN(x_a)`: `(z_b, ildj)`."""
    if log_scale is None:
      return x_b + shift, tf.zeros(tf.shape(x_b)[:-3], self.dtype)
    return ((x_b + shift) * tf.exp(log_scale),
            tf.reduce_sum(log_scale, axis=[-3, -2, -1]))

  def forward_half(self, z_b, shift, log_scale):
    """Latent -> image on `z_b` given `NN(z_a)`: `(x_b, fldj)`."""
    if log_scale is None:
      return z_b - shift, tf.zeros(tf.shape(z_b)[:-3], self.dtype)
    return (z_b / tf.exp(log_scale) - shift,
            -tf.reduce_sum(log_scale, axis=[-3, -2, -1]))

  def initialize(self, x):
    """Initialises `NN`'s ActNorms on the batch `x`; returns `inverse(x)`."""
    x = tf.convert_to_tensor(x, self.dtype)
    x_a, x_b = self.split(x)
    shift, log_scale = self._shift_and_log_scale(x_a, initialize=True)
    return tf.concat([x_a, self.inverse_half(x_b, shift, log_scale)[0]],
                     axis=-1)

  def _shift_and_log_scale(self, x_a, initialize=False):
    flat, undo = _checks.to_rank4(x_a)
    h = undo(self.network(flat, initialize=initialize))
    if self._additive:
      return h, None
    shift, raw = tf.split(h, 2, axis=-1)
    return shift, _log_scale(raw)

  def _inverse_and_log_det(self, x):
    x_a, x_b = self.split(x)
    z_b, ildj = self.inverse_half(x_b, *self.shift_and_log_scale(x_a))
    return tf.concat([x_a, z_b], axis=-1), ildj

  def _forward_and_log_det(self, z):
    # Not with a bfloat16 network: XLA rounds the fused bfloat16 sum of taps
    # otherwise than the inverse's TensorFlow ops do, and the layer would
    # invert only to bfloat16's precision.
    if (self.network.sums_output_taps and
        self.network.compute_dtype is None):
      return self._fused_forward_and_log_det(z)
    z_a, z_b = self.split(z)
    x_b, fldj = self.forward_half(z_b, *self.shift_and_log_scale(z_a))
    return tf.concat([z_a, x_b], axis=-1), fldj

  def _fused_forward_and_log_det(self, z):
    """`_forward_and_log_det` with all of it after NN's last matmul fused.

    The sum of NN's output taps, the bias, the split into shift and scale,
    the affine map and the concatenation are one XLA computation
    (`networks.after_summed_taps`): sampling runs this direction, and there
    each would be an op of its own on small tensors. The log-det is summed
    outside, so that a caller that does not use it (`forward`) prunes it.
    NN reads its half of `z` inside its input taps' computation
    (`CouplingNetwork.output_taps(z, channels=...)`), without a slice op.
    """
    _checks.check_event(z, self, self._num_channels, min_rank=3)
    flat, undo = _checks.to_rank4(z)
    y, offset = self.network.output_taps(flat, channels=self._split)
    batch_shape = tf.shape(z)[:-3]
    if self._additive:
      x = _ADDITIVE_FORWARD_TAIL(y, flat, offset, self._split)
      return undo(x), tf.zeros(batch_shape, self.dtype)
    x, raw = _AFFINE_FORWARD_TAIL(y, flat, offset, self._split)
    fldj = -tf.reduce_sum(_log_scale(raw), axis=[-3, -2, -1])
    if z.shape.rank != 4:
      fldj = tf.reshape(fldj, batch_shape)
      fldj.set_shape(z.shape[:-3])
    return undo(x), fldj

  def _inverse(self, x):
    return self._inverse_and_log_det(x)[0]

  def _inverse_log_det_jacobian(self, x):
    return self._inverse_and_log_det(x)[1]

  def _forward(self, z):
    return self._forward_and_log_det(z)[0]

  def _forward_log_det_jacobian(self, z):
    return self._forward_and_log_det(z)[1]
