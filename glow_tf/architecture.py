"""The multi-scale architecture that a `GlowConfig` describes: `build_flow`.

```
x [H, W, C]
  level 0:   squeeze -> K x (ActNorm -> 1x1 conv -> coupling) -> split
  ...
  level L-1: squeeze -> K x (ActNorm -> 1x1 conv -> coupling) -> top prior
```
Each split sends half the channels to a `SplitPrior` (a Gaussian conditioned
on the kept half); the top prior is a `LearnedPrior`. A conditional config
adds a `ContextEncoder` whose features reach every coupling and prior.
"""

import tensorflow as tf
import tensorflow_probability as tfp

from glow_tf import _seeds
from glow_tf import kernels as kernels_lib
from glow_tf.bijectors.flow_step import flow_step
from glow_tf.bijectors.learned_prior import LearnedPrior
from glow_tf.bijectors.multi_scale import level_shapes
from glow_tf.bijectors.multi_scale import MultiScaleFlow
from glow_tf.bijectors.split_prior import SplitPrior
from glow_tf.config import GlowConfig
from glow_tf.context_encoder import ContextEncoder

tfb = tfp.bijectors

__all__ = ['build_flow']

_CONTEXT_SALT = 7  # the context encoder's seed: derive_seed(seed, 7)


def build_flow(config, seed=0):
  """The `MultiScaleFlow` bijector that `config` describes.

  Level `l` squeezes to `[H / 2**(l+1), W / 2**(l+1), 4 c_l]` channels and runs
  `config.num_steps` flow steps there; every level but the last then splits
  off half its channels under a `SplitPrior`; a `LearnedPrior` covers the top.
  """
  if not isinstance(config, GlowConfig):
    raise ValueError(f'config must be a glow_tf.GlowConfig, got {config!r}.')
  dtype = tf.as_dtype(config.dtype)
  kernels = kernels_lib.get(config.kernels)
  seeds = iter(_seeds.split_seed(seed, config.num_levels * config.num_steps))
  levels, splits = [], []
  shapes = level_shapes(config.image_shape, config.num_levels)
  context_channels = config.context_channels if config.conditional else 0
  encoder = None
  if config.conditional:
    encoder = ContextEncoder(
        config.context_shape, [(h, w) for h, w, _ in shapes],
        config.context_channels,
        seed=None if seed is None else _seeds.derive_seed(seed, _CONTEXT_SALT),
        dtype=dtype, kernels=kernels)
  for level, (_, _, c) in enumerate(shapes):
    with tf.name_scope(f'level_{level}'):
      levels.append(tfb.Chain([
          flow_step(c, config.hidden_channels, config.permutation,
                    config.coupling, seed=int(next(seeds)), dtype=dtype,
                    edge_padding=config.edge_padding,
                    network_dtype=config.network_dtype,
                    act_norm_log_scale_factor=config.act_norm_log_scale_factor,
                    kernels=kernels, context_channels=context_channels,
                    name=f'step_{step}')
          for step in range(config.num_steps)], name=f'level_{level}'))
      if level < config.num_levels - 1:
        splits.append(SplitPrior(c, dtype=dtype,
                                 edge_padding=config.edge_padding,
                                 kernels=kernels,
                                 context_channels=context_channels))
  top = LearnedPrior(shapes[-1][-1], learn=config.learn_top_prior,
                     num_classes=config.num_classes, dtype=dtype,
                     context_channels=context_channels, kernels=kernels,
                     name='top_prior')
  return MultiScaleFlow(config.image_shape, levels, splits, top,
                        kernels=kernels, context_encoder=encoder)
