"""Analytic FLOPs of a Glow, and parameter counts."""

import numpy as np

from glow_tf.bijectors import multi_scale
from glow_tf.config import GlowConfig

__all__ = ['count_parameters', 'forward_flops_per_image',
           'train_flops_per_image']


def forward_flops_per_image(config):
  """FLOPs of one image through the flow: 2 per multiply-add of every matmul.

  Counts the coupling networks (3x3, 1x1, 3x3 convolutions), the invertible
  1x1 convolutions and the split priors' 3x3 convolutions; the per-pixel
  element-wise work (ActNorm, ReLU, the coupling's affine map) is left out.
  """
  if not isinstance(config, GlowConfig):
    raise ValueError(f'config must be a glow_tf.GlowConfig, got {config!r}.')
  width, total = config.hidden_channels, 0
  shapes = multi_scale.level_shapes(config.image_shape, config.num_levels)
  for level, (h, w, c) in enumerate(shapes):
    half, rest = c // 2, c - c // 2
    out = rest if config.coupling == 'additive' else 2 * rest
    per_pixel = 9 * half * width + width * width + 9 * width * out
    if config.permutation in ('lu_conv', 'conv'):
      per_pixel += c * c
    total += config.num_steps * 2 * h * w * per_pixel
    if level < config.num_levels - 1:
      total += 2 * h * w * 9 * half * 2 * rest
  return total


def train_flops_per_image(config):
  """Forward, gradient with respect to the inputs and to the weights: 3x forward."""
  return 3 * forward_flops_per_image(config)


def count_parameters(module):
  """Number of trainable parameters of a `tf.Module` (or distribution)."""
  return int(sum(np.prod(v.shape) for v in module.trainable_variables))
