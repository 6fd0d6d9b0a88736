"""The chain walked once: output and log-det of nested `tfb.Chain`s in one pass.

TFP's `tfb.Chain` computes `inverse(x)` and `inverse_log_det_jacobian(x)`
in two walks, and each coupling network would run in both. These walk a
chain once, part by part, each part giving its output and log-det together
(`GlowBijector.inverse_and_log_det`); a `glow_tf.kernels` backend may run
consecutive parts as one (`Kernels.units`: the fast kernels apply an
ActNorm and the 1x1 convolution after it as one matmul). `initialize`
walks the same order for the data-dependent initialisation.

A conditional flow's `context` (a keyword) reaches the parts that take one
(those with `context_channels > 0`: couplings, priors; a conditional
`MultiScaleFlow`) and no other.
"""

from tensorflow_probability import bijectors as tfb

from glow_tf import kernels as kernels_lib

__all__ = ['chain_parts', 'forward_and_log_det', 'initialize',
           'inverse_and_log_det']


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


def _check_event_ndims(event_ndims):
  if (isinstance(event_ndims, bool) or not isinstance(event_ndims, int) or
      event_ndims < 1):
    raise ValueError(f'`event_ndims` must be an int >= 1, got '
                     f'{event_ndims!r}.')


def _conditioning(part, kwargs):
  """`kwargs` for `part`, less `context` when the part takes none.

  A part takes one when it has `context_channels > 0` (couplings, priors)
  or a `context_encoder` (a conditional `MultiScaleFlow`, which encodes the
  context itself).
  """
  if (getattr(part, 'context_channels', 0) or
      getattr(part, 'context_encoder', None) is not None):
    return kwargs
  return {name: value for name, value in kwargs.items() if name != 'context'}


def _walk(bijector, t, event_ndims, kernels, to_latent, kwargs):
  """`(output, log-det)` of one direction, each part run once."""
  parts = chain_parts(bijector)
  if parts is None:
    kwargs = _conditioning(bijector, kwargs)
    if hasattr(bijector, 'inverse_and_log_det'):
      one_pass = (bijector.inverse_and_log_det if to_latent else
                  bijector.forward_and_log_det)
      return one_pass(t, event_ndims, **kwargs)
    if to_latent:
      return (bijector.inverse(t, **kwargs),
              bijector.inverse_log_det_jacobian(t, event_ndims, **kwargs))
    return (bijector.forward(t, **kwargs),
            bijector.forward_log_det_jacobian(t, event_ndims, **kwargs))
  units = kernels.units(parts)
  log_det = 0.
  for unit in (units if to_latent else reversed(units)):
    t, unit_log_det = _walk(unit, t, event_ndims, kernels, to_latent, kwargs)
    log_det += unit_log_det
  return t, log_det


def inverse_and_log_det(bijector, x, event_ndims=3, kernels='fast',
                        **kwargs):
  """`(bijector.inverse(x), its inverse log-det)`, each part run once.

  Args:
    bijector: a bijector, or a `tfb.Chain` of them (chains may nest: a level
      of `MultiScaleFlow` is a chain of `flow_step` chains), walked in the
      image -> latent order (list order).
    x: image-side tensor.
    event_ndims: rank of its events (3 for `[..., H, W, C]` images).
    kernels: the `glow_tf.kernels` backend that groups the parts.
    **kwargs: the `context` of a conditional flow, passed to the parts
      that take one (`context_channels > 0`).

  Returns:
    `(z, ildj)`, `ildj` shaped like the batch of `x`.
  """
  _check_event_ndims(event_ndims)
  return _walk(bijector, x, event_ndims, kernels_lib.get(kernels), True,
               kwargs)


def forward_and_log_det(bijector, z, event_ndims=3, kernels='fast',
                        **kwargs):
  """`(bijector.forward(z), its forward log-det)`, each part run once.

  The latent -> image counterpart of `inverse_and_log_det`: a `tfb.Chain`
  is walked in reverse list order.
  """
  _check_event_ndims(event_ndims)
  return _walk(bijector, z, event_ndims, kernels_lib.get(kernels), False,
               kwargs)


def initialize(bijector, x, **kwargs):
  """Data-dependent initialisation of every ActNorm in `bijector`, in order.

  Walks the bijector in the image -> latent direction: for a `tfb.Chain`
  that is its `bijectors` in list order. Each part with an `initialize(x)`
  method is initialised on the output of the parts before it; other parts
  are applied with `inverse`.

  Args:
    bijector: a bijector or a `tfb.Chain` of them.
    x: an image-side batch.
    **kwargs: the `context` of a conditional flow (see `inverse_and_log_det`).

  Returns:
    `bijector.inverse(x)`, computed with the initialised parameters.
  """
  parts = chain_parts(bijector)
  if parts is not None:
    for part in parts:
      x = initialize(part, x, **kwargs)
    return x
  kwargs = _conditioning(bijector, kwargs)
  if hasattr(bijector, 'initialize'):
    return bijector.initialize(x, **kwargs)
  return bijector.inverse(x, **kwargs)
