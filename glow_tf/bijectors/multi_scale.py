"""Glow's multi-scale architecture as one bijector over image-shaped latents."""

import tensorflow as tf

from glow_tf import _checks
from glow_tf import _shapes
from glow_tf import kernels as kernels_lib
from glow_tf.bijectors.chain import forward_and_log_det
from glow_tf.bijectors.chain import initialize as initialize_chain
from glow_tf.bijectors.chain import inverse_and_log_det
from glow_tf.bijectors.glow_bijector import GlowBijector
from glow_tf.bijectors.squeeze import Squeeze

__all__ = ['MultiScaleFlow', 'latent_shapes', 'level_shapes']


def level_shapes(image_shape, num_levels):
  """Event shapes `(h, w, c)` at which the flow steps of each level act.

  Level l squeezes (`h, w, c -> h/2, w/2, 4c`) and runs its steps at that
  shape; every level but the last then keeps the first `c // 2` channels for
  the next level and sends the other `c - c // 2` out as a latent.
  """
  h, w, c = image_shape
  shapes = []
  for level in range(num_levels):
    if level:
      c //= 2
    h, w, c = h // 2, w // 2, c * 4
    shapes.append((h, w, c))
  return shapes


def latent_shapes(image_shape, num_levels):
  """Shapes `(h, w, c)` of the per-level latents `eps_0 .. eps_{L-2}, eps_top`.

  The split-off channels of every level but the last (see `level_shapes`),
  then the whole output of the last level.
  """
  shapes = level_shapes(image_shape, num_levels)
  return [(h, w, c - c // 2) for h, w, c in shapes[:-1]] + [shapes[-1]]


class MultiScaleFlow(GlowBijector):
  """L levels of squeeze -> K steps -> split, and a learned top prior.

  The image -> latent direction (`inverse`), per level `l = 0 .. L-1`:

  ```
  h = squeeze(h)                          # [H/2, W/2, 4C]
  h = steps[l].inverse(h)                 # K flow steps (a tfb.Chain)
  if l < L - 1:
    h, eps_l = split_priors[l].inverse(h) # half leaves, standardised by its prior
  eps_top = top_prior.inverse(h, labels)
  ```

  The latents `eps_0 .. eps_{L-2}, eps_top` are standard normal under the
  model, and are packed back into one tensor of the image's shape
  (`pack_latents`, the exact inverse of the squeezes and splits), so the base
  distribution is a plain `N(0, I)` over `[H, W, C]` and a `TransformedDistribution`
  gives Glow's exact log-likelihood:

  ```
  log p(x) = log N(eps; 0, I) + sum of every inverse log-det
           = sum_l log N(z_l; mean_l, scale_l) + log N(z_top; prior) + steps' log-dets
  ```

  `forward(eps, labels=None)` runs the levels backwards (sampling). `labels`
  reaches only the top prior, for class-conditional models. A conditional
  flow (`context_encoder`) takes `context` in every call: it is encoded
  once (`glow_tf.context_encoder.ContextEncoder`) and each level's features
  reach that level's couplings and split prior, and the top prior.
  `inverse_and_log_det(x)` computes the latent and the log-det in one pass
  through the networks (`Glow.log_prob` uses it); TFP's `inverse` and
  `inverse_log_det_jacobian` make one pass each.

  #### Examples

  ```python
  flow = MultiScaleFlow(image_shape=(32, 32, 3), steps=[...],
                        split_priors=[...], top_prior=...)
  eps, ildj = flow.inverse_and_log_det(x)   # eps: [N, 32, 32, 3]
  latents = flow.encode(x)                  # [eps_0, ..., eps_top]
  x_again = flow.decode(latents)
  ```
  """

  def __init__(self, image_shape, steps, split_priors, top_prior,
               kernels='fast', context_encoder=None, validate_args=False,
               name='multi_scale_flow'):
    """Assembles the levels.

    Args:
      image_shape: `(H, W, C)`.
      steps: list of L bijectors (each a `tfb.Chain` of flow steps); level l
        acts on events of shape `level_shapes(image_shape, L)[l]`.
      split_priors: list of L - 1 `SplitPrior`s.
      top_prior: a `LearnedPrior` over the last level's output.
      kernels: the `glow_tf.kernels` backend that walks the levels' steps
        (`Kernels.units`).
      context_encoder: None, or the `ContextEncoder` of a conditional flow,
        whose features have the `context_channels` of every coupling and
        prior.
      validate_args: passed to `tfb.Bijector`.
      name: name scope.
    """
    parameters = dict(locals())
    self._image_shape = tuple(int(d) for d in image_shape)
    if len(steps) != len(split_priors) + 1:
      raise ValueError(f'Expected {len(steps) - 1} split priors for '
                       f'{len(steps)} levels, got {len(split_priors)}.')
    self.steps = list(steps)
    self.split_priors = list(split_priors)
    self.top_prior = top_prior
    self.context_encoder = context_encoder
    self._kernels = kernels_lib.get(kernels)
    self._squeeze = Squeeze(2, dtype=top_prior.dtype)
    with tf.name_scope(name) as scope_name:
      super().__init__(forward_min_event_ndims=3, validate_args=validate_args,
                       dtype=top_prior.dtype, parameters=parameters,
                       name=scope_name.rstrip('/'))

  @property
  def num_levels(self):
    return len(self.steps)

  @property
  def kernels(self):
    """The `glow_tf.kernels` backend of the walk through the steps."""
    return self._kernels

  @property
  def image_shape(self):
    return self._image_shape

  @property
  def latent_shapes(self):
    """Shapes `[h, w, c]` of `eps_0 .. eps_{L-2}, eps_top`."""
    return latent_shapes(self._image_shape, self.num_levels)

  # image -> latent

  def _check_image(self, x):
    _checks.check_event(x, self, self._image_shape[-1], min_rank=3)
    if x.shape.rank is not None and x.shape[-3:].is_fully_defined():
      if tuple(x.shape[-3:]) != self._image_shape:
        raise ValueError(f'{self.name}: expected images of shape '
                         f'{list(self._image_shape)}, got shape {x.shape}.')
    return x

  def _require_labels(self, labels):
    if self.top_prior.num_classes is not None and labels is None:
      self.top_prior.mean_and_log_scale(None)  # raises the clear error
    return {} if labels is None else {'labels': labels}

  def context_features(self, context):
    """`[f_0, ..., f_top]` of `context` (Nones for an unconditional flow)."""
    if self.context_encoder is None:
      if context is not None:
        raise ValueError(f'{self.name}: this flow is unconditional '
                         '(no context encoder) but got a `context`.')
      return [None] * self.num_levels
    if context is None:
      raise ValueError(
          f'{self.name}: this flow is conditional (context of shape '
          f'{list(self.context_encoder.context_shape)}): pass `context`.')
    return self.context_encoder(context)

  def inverse_and_log_det(self, x, event_ndims=None, labels=None,
                          context=None, level_inverse=None,
                          name='inverse_and_log_det'):
    """Images -> `(eps, inverse log-det)` in one pass through the networks.

    Args:
      x: images `[..., H, W, C]`.
      event_ndims: 3 (the default) or more.
      labels: integer labels of the batch, for class-conditional models.
      context: the batch's context, for conditional flows.
      level_inverse: how each level's K steps are run image -> latent,
        `(steps, h, context=f) -> (steps.inverse(h), their inverse
        log-det)`, with `f` that level's context features (None when
        unconditional); by default `glow_tf.bijectors.inverse_and_log_det`
        with this flow's kernels, one pass through each step.
        `glow_tf.memory.reversible_steps` computes the same with a gradient
        that rebuilds the steps' activations instead of keeping them.
      name: name scope.

    Returns:
      `(eps, ildj)`: the image-shaped latent (`pack_latents` of `encode(x)`)
      and `inverse_log_det_jacobian(x, event_ndims)`.
    """
    kwargs = self._require_labels(labels)
    if context is not None:
      kwargs['context'] = context
    if level_inverse is not None:
      kwargs['level_inverse'] = level_inverse
    return super().inverse_and_log_det(x, event_ndims, name=name, **kwargs)

  def _encode(self, x, labels=None, context=None, level_inverse=None):
    """Image -> `([eps_0, ..., eps_top], ildj, h_top)`; the context encoded once."""
    kwargs = self._require_labels(labels)
    features = self.context_features(context)
    latents, h, ildj = self._levels_inverse(x, features, level_inverse)
    top, top_ildj = self.top_prior.inverse_and_log_det(
        h, **kwargs, **_context(features[-1]))
    return latents + [top], ildj + top_ildj, h

  def _levels_inverse(self, x, features, level_inverse=None):
    """Image -> `([eps_0, ..., eps_{L-2}], h_top, ildj)`, before the top prior."""
    level_inverse = level_inverse or self._steps_inverse
    h = self._check_image(x)
    ildj = 0.
    latents = []
    for level, steps in enumerate(self.steps):
      h, level_ildj = level_inverse(steps, self._squeeze.forward(h),
                                    **_context(features[level]))
      ildj += level_ildj
      if level < self.num_levels - 1:
        split = self.split_priors[level]
        out, split_ildj = split.inverse_and_log_det(
            h, **_context(features[level]))
        ildj += split_ildj
        h, eps = _shapes.split_channels(out, split.kept_channels)
        latents.append(eps)
    return latents, h, ildj

  def top_input(self, x, context=None):
    """The last level's output `h_top` of images `x`, the top prior's input.

    A function of the image (and context) alone, without labels: what the
    class-prediction loss's classifier reads.
    """
    x = tf.convert_to_tensor(x, self.dtype)
    return self._levels_inverse(x, self.context_features(context))[1]

  def inverse_and_top_input(self, x, labels=None, context=None,
                            level_inverse=None):
    """`(eps, ildj, h_top)`: `inverse_and_log_det(x)` and `top_input(x)`.

    One pass through the levels, the context encoded once: the training
    objective of a model with a class-prediction loss reads all three.
    Arguments as in `inverse_and_log_det` (event rank 3).
    """
    x = tf.convert_to_tensor(x, self.dtype)
    latents, ildj, h = self._encode(x, labels, context, level_inverse)
    return self.pack_latents(latents), ildj, h

  def _images_and_log_det(self, latents, labels=None, context=None):
    """The levels, latent -> image: `(x, fldj)` from `[eps_0, ..., eps_top]`."""
    kwargs = self._require_labels(labels)
    features = self.context_features(context)
    h, fldj = self.top_prior.forward_and_log_det(
        latents[-1], **kwargs, **_context(features[-1]))
    for level in reversed(range(self.num_levels)):
      if level < self.num_levels - 1:
        h, split_fldj = self.split_priors[level].forward_and_log_det(
            tf.concat([h, latents[level]], axis=-1),
            **_context(features[level]))
        fldj += split_fldj
      h, steps_fldj = forward_and_log_det(self.steps[level], h,
                                          kernels=self._kernels,
                                          **_context(features[level]))
      fldj += steps_fldj
      h = self._squeeze.inverse(h)
    return h, fldj

  def pack_latents(self, latents):
    """Packs `[eps_0, ..., eps_top]` into one image-shaped tensor."""
    if len(latents) != self.num_levels:
      raise ValueError(f'Expected {self.num_levels} latents (one per level), '
                       f'got {len(latents)}.')
    h = latents[-1]
    for level in reversed(range(self.num_levels)):
      if level < self.num_levels - 1:
        h = tf.concat([h, latents[level]], axis=-1)
      h = self._squeeze.inverse(h)
    return h

  def unpack_latents(self, eps):
    """Splits an image-shaped latent into `[eps_0, ..., eps_top]`."""
    latents = []
    h = eps
    for level in range(self.num_levels):
      h = self._squeeze.forward(h)
      if level < self.num_levels - 1:
        keep = self.split_priors[level].kept_channels
        h, out = _shapes.split_channels(h, keep)
        latents.append(out)
    latents.append(h)
    return latents

  def _inverse_and_log_det(self, x, labels=None, context=None,
                           level_inverse=None):
    latents, ildj, _ = self._encode(x, labels, context, level_inverse)
    return self.pack_latents(latents), ildj

  def _forward_and_log_det(self, eps, labels=None, context=None):
    return self._images_and_log_det(self.unpack_latents(eps), labels,
                                    context)

  def _steps_inverse(self, steps, h, **kwargs):
    return inverse_and_log_det(steps, h, kernels=self._kernels, **kwargs)

  # public helpers

  def encode(self, x, labels=None, context=None):
    """Image -> `[eps_0, ..., eps_{L-2}, eps_top]`, each standard normal."""
    x = tf.convert_to_tensor(x, self.dtype)
    return self._encode(x, labels=labels, context=context)[0]

  def decode(self, latents, labels=None, context=None):
    """`[eps_0, ..., eps_top]` -> image; the exact inverse of `encode`."""
    if not isinstance(latents, (list, tuple)):
      raise ValueError(f'Expected a list of {self.num_levels} latents (one per '
                       f'level, as encode returns), got {type(latents).__name__}.')
    if len(latents) != self.num_levels:
      raise ValueError(f'Expected {self.num_levels} latents (one per level), '
                       f'got {len(latents)}.')
    for level, z in enumerate(latents):
      if tf.is_tensor(z) and z.dtype != self.dtype:  # numpy values are cast
        raise ValueError(f'Latent {level} must have dtype {self.dtype.name} '
                         f"(the model's), got {z.dtype.name}.")
    latents = [tf.convert_to_tensor(z, self.dtype) for z in latents]
    for level, (z, shape) in enumerate(zip(latents, self.latent_shapes)):
      if z.shape.rank is not None and tuple(z.shape[-3:]) != tuple(shape):
        if z.shape[-3:].is_fully_defined():
          raise ValueError(f'Latent {level} must have event shape '
                           f'{list(shape)}, got shape {z.shape}.')
    return self._images_and_log_det(latents, labels=labels,
                                    context=context)[0]

  def initialize(self, x, context=None):
    """Data-dependent init of every ActNorm, in order, on the batch `x`."""
    x = tf.convert_to_tensor(x, self.dtype)
    h = self._check_image(x)
    features = self.context_features(context)
    for level, steps in enumerate(self.steps):
      h = initialize_chain(steps, self._squeeze.forward(h),
                           **_context(features[level]))
      if level < self.num_levels - 1:
        h = h[..., :self.split_priors[level].kept_channels]
    return h


def _context(features):
  """`{'context': features}`, or no keyword for an unconditional flow."""
  return {} if features is None else {'context': features}
