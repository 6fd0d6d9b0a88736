"""Glow's multi-scale architecture as one bijector over image-shaped latents."""

import tensorflow as tf
from tensorflow_probability import bijectors as tfb

from glow_tf import _checks
from glow_tf.bijectors.flow_step import initialize as initialize_chain
from glow_tf.bijectors.learned_prior import LearnedPrior
from glow_tf.bijectors.split_prior import SplitPrior
from glow_tf.bijectors.squeeze import Squeeze

__all__ = ['MultiScaleFlow', 'latent_shapes']


def latent_shapes(image_shape, num_levels):
  """Shapes `(h, w, c)` of the per-level latents `eps_0 .. eps_{L-2}, eps_top`.

  Each level squeezes (`h, w, c -> h/2, w/2, 4c`); every level but the last
  then sends the second half of its channels out as a latent.
  """
  h, w, c = image_shape
  shapes = []
  for level in range(num_levels):
    h, w, c = h // 2, w // 2, c * 4
    if level < num_levels - 1:
      shapes.append((h, w, c - c // 2))
      c //= 2
  shapes.append((h, w, c))
  return shapes


class MultiScaleFlow(tfb.Bijector):
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
  reaches only the top prior, for class-conditional models. The log-det is
  computed together with the output and kept in TFP's bijector cache, so
  `log_prob` makes one pass through the networks.

  #### Examples

  ```python
  flow = MultiScaleFlow(image_shape=(32, 32, 3), steps=[...], top_prior=...)
  latents = flow.encode(x)       # [eps_0, ..., eps_top]
  x_again = flow.decode(latents)
  ```
  """

  def __init__(self, image_shape, steps, split_priors, top_prior,
               validate_args=False, name='multi_scale_flow'):
    """Assembles the levels.

    Args:
      image_shape: `(H, W, C)`.
      steps: list of L bijectors (each a `tfb.Chain` of flow steps); level l
        acts on `[H / 2**(l+1), W / 2**(l+1), C * 2**(l+2) / 2**l]`... see
        `level_shapes`.
      split_priors: list of L - 1 `SplitPrior`s.
      top_prior: a `LearnedPrior` over the last level's output.
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
    self._squeeze = Squeeze(2, dtype=top_prior.dtype)
    with tf.name_scope(name) as scope_name:
      super().__init__(forward_min_event_ndims=3, validate_args=validate_args,
                       dtype=top_prior.dtype, parameters=parameters,
                       name=scope_name.rstrip('/'))

  @property
  def num_levels(self):
    return len(self.steps)

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

  @staticmethod
  def _level_inverse(steps, h):
    """One level's K steps, image -> latent: `(output, inverse log-det)`."""
    # Output first, then log-det: the log-det comes from the cache.
    out = steps.inverse(h)
    return out, steps.inverse_log_det_jacobian(h, event_ndims=3)

  def _encode_with_log_det(self, x, labels=None, level_inverse=None):
    """Returns (`[eps_0, ..., eps_top]`, inverse log-det per example).

    Args:
      x: images.
      labels: for class-conditional top priors.
      level_inverse: `(steps, h) -> (steps.inverse(h), its inverse log-det)`
        for each level's K steps; by default the bijectors themselves.
        `glow_tf.memory` passes one whose gradient rebuilds the activations.
    """
    level_inverse = level_inverse or self._level_inverse
    kwargs = self._require_labels(labels)
    h = self._check_image(x)
    ildj = 0.
    latents = []
    for level, steps in enumerate(self.steps):
      h, level_ildj = level_inverse(steps, self._squeeze.forward(h))
      ildj += level_ildj
      if level < self.num_levels - 1:
        split = self.split_priors[level]
        out = split.inverse(h)
        ildj += split.inverse_log_det_jacobian(h, event_ndims=3)
        h, eps = out[..., :split.kept_channels], out[..., split.kept_channels:]
        latents.append(eps)
    latents.append(self.top_prior.inverse(h, **kwargs))
    ildj += self.top_prior.inverse_log_det_jacobian(h, event_ndims=3, **kwargs)
    return latents, ildj

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
        h, out = h[..., :keep], h[..., keep:]
        latents.append(out)
    latents.append(h)
    return latents

  def _inverse(self, x, **kwargs):
    latents, ildj = self._encode_with_log_det(x, **kwargs)
    self._cache.inverse_attributes(x, **kwargs)['ildj'] = ildj
    return self.pack_latents(latents)

  def _inverse_log_det_jacobian(self, x, **kwargs):
    return self._encode_with_log_det(x, **kwargs)[1]

  # latent -> image

  def _decode_with_log_det(self, latents, labels=None):
    kwargs = self._require_labels(labels)
    top = latents[-1]
    h = self.top_prior.forward(top, **kwargs)
    fldj = self.top_prior.forward_log_det_jacobian(top, event_ndims=3,
                                                   **kwargs)
    for level in reversed(range(self.num_levels)):
      if level < self.num_levels - 1:
        split = self.split_priors[level]
        joined = tf.concat([h, latents[level]], axis=-1)
        h = split.forward(joined)
        fldj += split.forward_log_det_jacobian(joined, event_ndims=3)
      steps = self.steps[level]
      h_out = steps.forward(h)
      fldj += steps.forward_log_det_jacobian(h, event_ndims=3)
      h = self._squeeze.inverse(h_out)
    return h, fldj

  def _forward(self, eps, **kwargs):
    x, fldj = self._decode_with_log_det(self.unpack_latents(eps), **kwargs)
    self._cache.forward_attributes(eps, **kwargs)['ildj'] = -fldj
    return x

  def _forward_log_det_jacobian(self, eps, **kwargs):
    return self._decode_with_log_det(self.unpack_latents(eps), **kwargs)[1]

  # public helpers

  def encode(self, x, labels=None):
    """Image -> `[eps_0, ..., eps_{L-2}, eps_top]`, each standard normal."""
    x = tf.convert_to_tensor(x, self.dtype)
    return self._encode_with_log_det(x, labels=labels)[0]

  def decode(self, latents, labels=None):
    """`[eps_0, ..., eps_top]` -> image; the exact inverse of `encode`."""
    latents = [tf.convert_to_tensor(z, self.dtype) for z in latents]
    if len(latents) != self.num_levels:
      raise ValueError(f'Expected {self.num_levels} latents (one per level), '
                       f'got {len(latents)}.')
    for level, (z, shape) in enumerate(zip(latents, self.latent_shapes)):
      if z.shape.rank is not None and tuple(z.shape[-3:]) != tuple(shape):
        if z.shape[-3:].is_fully_defined():
          raise ValueError(f'Latent {level} must have event shape '
                           f'{list(shape)}, got shape {z.shape}.')
    return self._decode_with_log_det(latents, labels=labels)[0]

  def initialize(self, x):
    """Data-dependent init of every ActNorm, in order, on the batch `x`."""
    x = tf.convert_to_tensor(x, self.dtype)
    h = self._check_image(x)
    for level, steps in enumerate(self.steps):
      h = initialize_chain(steps, self._squeeze.forward(h))
      if level < self.num_levels - 1:
        h = h[..., :self.split_priors[level].kept_channels]
    return h
