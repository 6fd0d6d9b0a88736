"""Glow in PyTorch, built to glow_tf's architecture: the benchmark's third contender.

Needs `torch` (`pip install -e '.[bench]'`); nothing else in glow_tf imports
this module, so the package works without it.

Written from the paper (Kingma & Dhariwal 2018, table 1 and section 3) in
plain PyTorch: `nn.Module`s (the layers are in `torch_layers`),
`torch.nn.functional.conv2d`, autograd, no hand-written gradients. Layer by
layer it is the function `glow_tf.Glow` computes, with the same parameters
(`torch_contender.copy_glow_tf_weights` copies them over, and the two
log-densities then agree), so the parameter counts match exactly:

```
per level:  squeeze 2x2 (tf.nn.space_to_depth's channel order)
            K x [ActNorm -> LU 1x1 conv -> affine coupling]
            split (all but the last level): x_b ~ N(mean, exp(log_scale)),
              [mean, log_scale] = ZeroConv3x3(x_a)
top:        z ~ N(loc, exp(log_scale)), per channel
coupling:   [shift, raw] = NN(x_a),  z_b = (x_b + shift) * scale,
            scale = sigmoid(raw + 2) / sigmoid(2)
NN:         conv3x3 -> ActNorm -> ReLU -> conv1x1 -> ActNorm -> ReLU -> ZeroConv3x3
ZeroConv:   (conv(x, k) + b) * exp(3 log_scale), all three zero at first
```

Direction, as in the rest of glow_tf, is named by meaning: every layer has
`to_latent(x) -> (z, log_det)` (image -> latent, what `log_prob` uses) and
`to_image(z) -> x` (sampling). Unlike glow_tf (and like PyTorch), images are
`[N, C, H, W]`; the benchmark stores them, and the weights, channels-last
(`torch.channels_last`), which made PyTorch's CPU convolutions about twice
as fast at these shapes.

#### Examples

```python
model = TorchGlow(glow_tf.preset('fashion_mnist'))
model.initialize(x)                           # x: [N, 1, 28, 28] in [-0.5, 0.5]
nll = -model.log_prob(x).mean()
images = model.sample(16, temperature=0.7)    # [16, 1, 28, 28]
```

#### References

[1]: Diederik P. Kingma, Prafulla Dhariwal. Glow: Generative Flow with
     Invertible 1x1 Convolutions. NeurIPS 2018. https://arxiv.org/abs/1807.03039
"""

import math

import torch
from torch import nn

from glow_tf import _seeds
from benchmarks.torch_layers import FlowStep
from benchmarks.torch_layers import per_channel
from benchmarks.torch_layers import ZeroConv2d
from glow_tf.config import GlowConfig

__all__ = ['TorchGlow', 'squeeze', 'unsqueeze']


def squeeze(x):
  """`[N, C, H, W] -> [N, 4C, H/2, W/2]`, as `tf.nn.space_to_depth`.

  Channel `(2i + j) C + c` of output pixel `(h, w)` holds channel `c` of
  input pixel `(2h + i, 2w + j)`.
  """
  n, c, h, w = x.shape
  x = x.reshape(n, c, h // 2, 2, w // 2, 2)
  return x.permute(0, 3, 5, 1, 2, 4).reshape(n, 4 * c, h // 2, w // 2)


def unsqueeze(x):
  """The inverse of `squeeze`."""
  n, c4, h, w = x.shape
  x = x.reshape(n, 2, 2, c4 // 4, h, w)
  return x.permute(0, 3, 4, 1, 5, 2).reshape(n, c4 // 4, 2 * h, 2 * w)


def _standard_normal_log_prob(eps):
  return (-0.5 * eps.square() - 0.5 * math.log(2 * math.pi)).sum(dim=(1, 2, 3))


class TorchGlow(nn.Module):
  """The multi-scale Glow of a `GlowConfig` (affine, LU, unconditional), in PyTorch.

  `encode(x)` maps images `[N, C, H, W]` to the per-level latents
  `[eps_0, ..., eps_top]`, standard normal under the model, and returns the
  log-det of that map; `log_prob(x)`, the exact log-density in nats, is
  `sum log N(eps; 0, I) + log_det`, the same function as
  `glow_tf.Glow.log_prob`. `decode` is `encode`'s inverse; `sample(n,
  temperature)` decodes latents drawn at that temperature.
  """

  def __init__(self, config, seed=0):
    super().__init__()
    if not isinstance(config, GlowConfig):
      raise ValueError(f'config must be a glow_tf.GlowConfig, got {config!r}.')
    if (config.coupling, config.permutation) != ('affine', 'lu_conv'):
      raise ValueError('TorchGlow has affine couplings and LU 1x1 convolutions'
                       f' only; got coupling={config.coupling!r}, '
                       f'permutation={config.permutation!r}.')
    if config.num_classes is not None:
      raise ValueError('TorchGlow is unconditional; got num_classes='
                       f'{config.num_classes!r}.')
    if config.edge_padding:
      raise ValueError('TorchGlow has no edge padding; got '
                       'edge_padding=True.')
    if config.network_dtype is not None:
      raise ValueError('TorchGlow computes in float32; got network_dtype='
                       f'{config.network_dtype!r}.')
    if config.act_norm_log_scale_factor != 1.0:
      raise ValueError('TorchGlow applies its ActNorms\' log-scales as they '
                       'are; got act_norm_log_scale_factor='
                       f'{config.act_norm_log_scale_factor!r}.')
    self.config = config
    generator = torch.Generator().manual_seed(seed)
    seeds = iter(_seeds.split_seed(seed, config.num_levels * config.num_steps))
    h, w, c = config.image_shape
    self.levels, self.split_priors = nn.ModuleList(), nn.ModuleList()
    self.latent_shapes = []
    for level in range(config.num_levels):
      h, w, c = h // 2, w // 2, 4 * c
      self.levels.append(nn.ModuleList([
          FlowStep(c, config.hidden_channels, int(next(seeds)), generator)
          for _ in range(config.num_steps)]))
      if level < config.num_levels - 1:
        self.split_priors.append(ZeroConv2d(c // 2, 2 * (c - c // 2)))
        self.latent_shapes.append((c - c // 2, h, w))
        c //= 2
    self.latent_shapes.append((c, h, w))
    learn = config.learn_top_prior
    self.top_loc = nn.Parameter(torch.zeros(c), requires_grad=learn)
    self.top_log_scale = nn.Parameter(torch.zeros(c), requires_grad=learn)

  def encode(self, x):
    """Images `[N, C, H, W]` -> (`[eps_0, ..., eps_top]`, log-det `[N]`)."""
    h, log_det, latents = x, 0.0, []
    for level, steps in enumerate(self.levels):
      h = squeeze(h)
      for step in steps:
        h, step_log_det = step.to_latent(h)
        log_det = log_det + step_log_det
      if level < len(self.split_priors):
        keep = h.shape[1] // 2
        mean, log_scale = self.split_priors[level](h[:, :keep]).chunk(2, dim=1)
        latents.append((h[:, keep:] - mean) * (-log_scale).exp())
        log_det = log_det - log_scale.sum(dim=(1, 2, 3))
        h = h[:, :keep]
    latents.append((h - per_channel(self.top_loc)) *
                   per_channel((-self.top_log_scale).exp()))
    return latents, log_det - h.shape[2] * h.shape[3] * self.top_log_scale.sum()

  def decode(self, latents):
    """`[eps_0, ..., eps_top]` -> images; the inverse of `encode`."""
    h = (per_channel(self.top_loc) +
         per_channel(self.top_log_scale.exp()) * latents[-1])
    for level in reversed(range(len(self.levels))):
      if level < len(self.split_priors):
        mean, log_scale = self.split_priors[level](h).chunk(2, dim=1)
        h = torch.cat([h, mean + log_scale.exp() * latents[level]], dim=1)
      for step in reversed(self.levels[level]):
        h = step.to_image(h)
      h = unsqueeze(h)
    return h

  def log_prob(self, x):
    """Exact log-density (nats) of images `[N, C, H, W]` in `[-0.5, 0.5]`."""
    latents, log_det = self.encode(x)
    return log_det + sum(_standard_normal_log_prob(eps) for eps in latents)

  @torch.no_grad()
  def sample(self, n, temperature=1.0, generator=None):
    """`n` images `[n, C, H, W]`, every prior's scale times `temperature`."""
    dtype = self.top_loc.dtype
    return self.decode([
        torch.randn((n, *shape), generator=generator, dtype=dtype) * temperature
        for shape in self.latent_shapes])

  @torch.no_grad()
  def initialize(self, x):
    """Data-dependent init of every ActNorm (networks' too), in order, once."""
    h = x
    for level, steps in enumerate(self.levels):
      h = squeeze(h)
      for step in steps:
        h = step.to_latent(h, initialize=True)[0]
      if level < len(self.split_priors):
        h = h[:, :h.shape[1] // 2]

  def count_parameters(self):
    """Number of trainable parameters."""
    return sum(p.numel() for p in self.parameters() if p.requires_grad)
