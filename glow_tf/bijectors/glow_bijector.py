"""`GlowBijector`: a `tfb.Bijector` giving its output and log-det in one pass."""

import tensorflow as tf
from tensorflow_probability import bijectors as tfb

from glow_tf._shapes import sum_over_event

__all__ = ['GlowBijector', 'sum_over_event']


class GlowBijector(tfb.Bijector):
  """The base of glow_tf's bijectors: TFP's, plus `inverse_and_log_det`.

  TFP computes `inverse(x)` and `inverse_log_det_jacobian(x)` in two calls.
  For a bijector whose log-det comes out of the computation of its output
  (a coupling's network, a prior's convolution), each call would run that
  computation. These two methods return both from one pass:

  ```
  z, ildj = bijector.inverse_and_log_det(x, event_ndims=3)
  #       = bijector.inverse(x), bijector.inverse_log_det_jacobian(x, 3)
  x, fldj = bijector.forward_and_log_det(z, event_ndims=3)
  #       = bijector.forward(z), bijector.forward_log_det_jacobian(z, 3)
  ```

  A subclass whose output and log-det share work writes the hooks
  `_inverse_and_log_det(x, **kwargs)` and `_forward_and_log_det(z, **kwargs)`,
  which return the log-det of one event of the minimum event rank, shaped
  like the batch; TFP's `_inverse`, `_inverse_log_det_jacobian`, `_forward`
  and `_forward_log_det_jacobian` are derived from them here. A subclass
  whose log-det is cheap (a constant Jacobian: ActNorm, the 1x1
  convolution, permutations, squeeze) writes TFP's four hooks instead; the
  one-pass hooks then call those.

  Either way the log-det is summed over event dimensions beyond the minimum
  (`event_ndims=3` on a per-pixel bijector sums over the `H x W` pixels).
  The one-pass hooks do not use TFP's bijector cache; nothing is written
  into it.

  #### Examples

  ```python
  coupling = glow_tf.bijectors.AffineCoupling(num_channels=12)
  z, ildj = coupling.inverse_and_log_det(x, event_ndims=3)  # NN runs once
  ```
  """

  def inverse_and_log_det(self, x, event_ndims=None,
                          name='inverse_and_log_det', **kwargs):
    """`(inverse(x), inverse_log_det_jacobian(x, event_ndims))`, in one pass.

    Args:
      x: image-side tensor.
      event_ndims: rank of an event of `x`; default (None) the minimum,
        `inverse_min_event_ndims`.
      name: name scope.
      **kwargs: passed to the bijector (for example `labels`).

    Returns:
      The latent-side tensor and its inverse log-det, shaped like the batch
      of `x` (`x.shape[:-event_ndims]`).
    """
    min_ndims = self.inverse_min_event_ndims
    event_ndims = _event_ndims(event_ndims, min_ndims, self.name)
    with tf.name_scope(self.name), tf.name_scope(name):
      x = tf.convert_to_tensor(x, self.dtype, name='x')
      y, ildj = self._inverse_and_log_det(x, **kwargs)
      return y, sum_over_event(ildj, x, min_ndims, event_ndims)

  def forward_and_log_det(self, z, event_ndims=None,
                          name='forward_and_log_det', **kwargs):
    """`(forward(z), forward_log_det_jacobian(z, event_ndims))`, in one pass.

    Args:
      z: latent-side tensor.
      event_ndims: rank of an event of `z`; default (None) the minimum,
        `forward_min_event_ndims`.
      name: name scope.
      **kwargs: passed to the bijector (for example `labels`).

    Returns:
      The image-side tensor and its forward log-det, shaped like the batch
      of `z` (`z.shape[:-event_ndims]`).
    """
    min_ndims = self.forward_min_event_ndims
    event_ndims = _event_ndims(event_ndims, min_ndims, self.name)
    with tf.name_scope(self.name), tf.name_scope(name):
      z = tf.convert_to_tensor(z, self.dtype, name='z')
      x, fldj = self._forward_and_log_det(z, **kwargs)
      return x, sum_over_event(fldj, z, min_ndims, event_ndims)

  def _inverse_and_log_det(self, x, **kwargs):
    """`(y, ildj)`, `ildj` at the minimum event rank; by default TFP's hooks.

    The hooks, not TFP's public methods: those look `x` up in TFP's cache,
    and in eager mode a cached log-det computed outside a `GradientTape`
    has no gradient inside one.
    """
    self._check_hooks_written()
    return (self._inverse(x, **kwargs),
            self._inverse_log_det_jacobian(x, **kwargs))

  def _forward_and_log_det(self, z, **kwargs):
    """`(x, fldj)`, `fldj` at the minimum event rank; by default TFP's hooks."""
    self._check_hooks_written()
    return (self._forward(z, **kwargs),
            self._forward_log_det_jacobian(z, **kwargs))

  def _check_hooks_written(self):
    derived = GlowBijector.__dict__['_inverse']  # the hook derived below
    if getattr(type(self), '_inverse') is derived:
      raise NotImplementedError(
          f'{type(self).__name__} must write either the one-pass hooks '
          '(_inverse_and_log_det, _forward_and_log_det) or TFP\'s four.')

  # TFP's hooks, derived from the one-pass hooks.

  def _inverse(self, x, **kwargs):
    return self._inverse_and_log_det(x, **kwargs)[0]

  def _inverse_log_det_jacobian(self, x, **kwargs):
    return self._inverse_and_log_det(x, **kwargs)[1]

  def _forward(self, z, **kwargs):
    return self._forward_and_log_det(z, **kwargs)[0]

  def _forward_log_det_jacobian(self, z, **kwargs):
    return self._forward_and_log_det(z, **kwargs)[1]


def _event_ndims(event_ndims, min_ndims, name):
  if event_ndims is None:
    return min_ndims
  if (isinstance(event_ndims, bool) or not isinstance(event_ndims, int) or
      event_ndims < min_ndims):
    raise ValueError(f'{name}: `event_ndims` must be an int >= {min_ndims}, '
                     f'got {event_ndims!r}.')
  return event_ndims

