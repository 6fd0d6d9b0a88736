"""Analytic FLOPs of a Glow (the shapes of its matmuls), and parameter counts."""

import collections

import numpy as np

from glow_tf.bijectors import multi_scale
from glow_tf.config import GlowConfig
from glow_tf.machine import conv3x3_matmul

__all__ = ['conv3x3_matmul', 'count_parameters', 'forward_flops_per_image',
           'hidden_activations', 'model_matmuls', 'train_flops_per_image']


def _check_arguments(config, batch_size):
  if not isinstance(config, GlowConfig):
    raise ValueError(f'config must be a glow_tf.GlowConfig, got {config!r}.')
  if not isinstance(batch_size, int) or batch_size < 1:
    raise ValueError(f'batch_size must be a positive int, got {batch_size!r}.')


def model_matmuls(config, batch_size=64):
  """Every matmul of one forward pass of `config`'s flow: `{(m, k, n): count}`.

  Per flow step at a level of `h x w` pixels and `c` channels (`m = N h w`):
  the 1x1 convolution `[m, c] @ [c, c]` (with an LU or plain permutation),
  and the coupling network's input 3x3, hidden 1x1 and output 3x3
  convolutions; per split, the split prior's 3x3 convolution.
  """
  _check_arguments(config, batch_size)
  width = config.hidden_channels
  counts = collections.Counter()
  shapes = multi_scale.level_shapes(config.image_shape, config.num_levels)
  for level, (h, w, c) in enumerate(shapes):
    pixels = batch_size * h * w
    half, rest = c // 2, c - c // 2
    out = rest if config.coupling == 'additive' else 2 * rest
    step = [conv3x3_matmul(pixels, half, width), (pixels, width, width),
            conv3x3_matmul(pixels, width, out)]
    if config.permutation in ('lu_conv', 'conv'):
      step.append((pixels, c, c))
    for shape in step:
      counts[shape] += config.num_steps
    if level < config.num_levels - 1:
      counts[conv3x3_matmul(pixels, half, 2 * rest)] += 1
  return dict(counts)


def hidden_activations(config, batch_size=64):
  """The coupling networks' ReLU layers of one forward pass: `{(m, n): count}`.

  Each flow step's coupling network has two, after its input and its hidden
  convolution, each `[m, width]` (`m = N h w` pixels at its level). In a
  training step each has a gradient pass of its own besides the matmuls
  (`floor.PASSES`).
  """
  _check_arguments(config, batch_size)
  counts = collections.Counter()
  width = config.hidden_channels
  for h, w, _ in multi_scale.level_shapes(config.image_shape,
                                          config.num_levels):
    counts[(batch_size * h * w, width)] += 2 * config.num_steps
  return dict(counts)


def forward_flops_per_image(config):
  """FLOPs of one image through the flow: 2 per multiply-add of every matmul.

  Counts the matmuls of `model_matmuls`: the coupling networks (3x3, 1x1,
  3x3 convolutions), the invertible 1x1 convolutions and the split priors'
  3x3 convolutions; the per-pixel element-wise work (ActNorm, ReLU, the
  coupling's affine map) is left out.
  """
  return sum(2 * m * k * n * count
             for (m, k, n), count in model_matmuls(config, 1).items())


def train_flops_per_image(config):
  """Forward, gradient with respect to the inputs and to the weights: 3x forward."""
  return 3 * forward_flops_per_image(config)


def count_parameters(module):
  """Number of trainable parameters of a `tf.Module` (or distribution)."""
  return int(sum(np.prod(v.shape) for v in module.trainable_variables))
