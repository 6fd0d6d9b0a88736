"""The layers of `TorchGlow`, in PyTorch: ActNorm, LU 1x1 conv, affine coupling.

Needs `torch`; see `benchmarks.torch_glow`. Images are
`[N, C, H, W]`. Every layer has `to_latent(x) -> (z, log_det)` (image ->
latent) and `to_image(z) -> x` (sampling); the log-dets are per image, or
one scalar for all images where they do not depend on the input.
"""

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = ['ActNorm', 'AffineCoupling', 'CouplingNetwork', 'FlowStep',
           'InvertibleConv1x1', 'ZeroConv2d', 'per_channel']

_WEIGHT_STDDEV = 0.05  # glow_tf's (and the reference code's) initialiser
_LOG_SCALE_FACTOR = 3.0  # of the zero convolutions' output scale
_EPSILON = 1e-6  # ActNorm's initialisation


def per_channel(v):
  """`[C] -> [1, C, 1, 1]`, to broadcast over `[N, C, H, W]`."""
  return v.view(1, -1, 1, 1)


class ActNorm(nn.Module):
  """`z = (x + bias) * exp(log_scale)` per channel; log-det `H W sum(log_scale)`."""

  def __init__(self, channels):
    super().__init__()
    self.bias = nn.Parameter(torch.zeros(channels))
    self.log_scale = nn.Parameter(torch.zeros(channels))
    self.register_buffer('initialized', torch.tensor(False))

  @torch.no_grad()
  def initialize(self, x):
    """Normalises the batch `x` per channel, once; returns `normalize(x)`."""
    if not self.initialized:
      mean = x.mean(dim=(0, 2, 3))
      std = (x - per_channel(mean)).square().mean(dim=(0, 2, 3)).sqrt()
      self.bias.copy_(-mean)
      self.log_scale.copy_(-torch.log(std + _EPSILON))
      self.initialized.fill_(True)
    return self.normalize(x)

  def normalize(self, x):
    return (x + per_channel(self.bias)) * per_channel(self.log_scale.exp())

  def to_latent(self, x):
    return self.normalize(x), x.shape[2] * x.shape[3] * self.log_scale.sum()

  def to_image(self, z):
    return (z * per_channel((-self.log_scale).exp()) -
            per_channel(self.bias))


class InvertibleConv1x1(nn.Module):
  """`z = W x` per pixel, `W = P L (U + diag(sign exp(log_abs)))`.

  `W` starts as a random rotation (numpy, `seed`), as glow_tf's does.

  `P` and `sign` are fixed; `L` (unit lower) and `U` (strictly upper) are
  kept as full matrices and masked, as glow_tf keeps them.
  """

  def __init__(self, channels, seed):
    super().__init__()
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.standard_normal((channels, channels)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
      q[:, 0] = -q[:, 0]
    p, lower, upper = torch.linalg.lu(torch.from_numpy(q))
    diagonal = torch.diagonal(upper)
    self.register_buffer('permutation', p.float())
    self.register_buffer('sign', torch.sign(diagonal).float())
    self.register_buffer('lower_mask', torch.tril(torch.ones_like(p), -1).float())
    self.register_buffer('eye', torch.eye(channels))
    self.lower = nn.Parameter(torch.tril(lower, -1).float())
    self.upper = nn.Parameter(torch.triu(upper, 1).float())
    self.log_abs = nn.Parameter(torch.log(diagonal.abs()).float())

  def _factors(self):
    lower = self.lower * self.lower_mask + self.eye
    upper = (self.upper * self.lower_mask.T +
             torch.diag(self.sign * self.log_abs.exp()))
    return lower, upper

  def matrix(self):
    lower, upper = self._factors()
    return self.permutation @ lower @ upper

  def to_latent(self, x):
    c = x.shape[1]
    z = F.conv2d(x, self.matrix().view(c, c, 1, 1))
    return z, x.shape[2] * x.shape[3] * self.log_abs.sum()

  def to_image(self, z):
    lower, upper = self._factors()
    c = z.shape[1]
    # W^{-1} = U^{-1} L^{-1} P^T, by two triangular solves.
    solved = torch.linalg.solve_triangular(lower, self.permutation.T,
                                           upper=False, unitriangular=True)
    inverse = torch.linalg.solve_triangular(upper, solved, upper=True)
    return F.conv2d(z, inverse.view(c, c, 1, 1))


class ZeroConv2d(nn.Module):
  """`(conv3x3(x, k) + b) * exp(3 log_scale)`, zero at first."""

  def __init__(self, in_channels, out_channels):
    super().__init__()
    self.weight = nn.Parameter(torch.zeros(out_channels, in_channels, 3, 3))
    self.bias = nn.Parameter(torch.zeros(out_channels))
    self.log_scale = nn.Parameter(torch.zeros(out_channels))

  def forward(self, x):
    y = F.conv2d(x, self.weight, self.bias, padding=1)
    return y * per_channel((self.log_scale * _LOG_SCALE_FACTOR).exp())


class CouplingNetwork(nn.Module):
  """conv3x3 -> ActNorm -> ReLU -> conv1x1 -> ActNorm -> ReLU -> ZeroConv3x3."""

  def __init__(self, in_channels, out_channels, hidden_channels, generator):
    super().__init__()
    self.conv_in = nn.Parameter(_normal(
        (hidden_channels, in_channels, 3, 3), generator))
    self.norm_in = ActNorm(hidden_channels)
    self.conv_hidden = nn.Parameter(_normal(
        (hidden_channels, hidden_channels, 1, 1), generator))
    self.norm_hidden = ActNorm(hidden_channels)
    self.conv_out = ZeroConv2d(hidden_channels, out_channels)

  def forward(self, x, initialize=False):
    norm_in = self.norm_in.initialize if initialize else self.norm_in.normalize
    norm_hidden = (self.norm_hidden.initialize if initialize
                   else self.norm_hidden.normalize)
    h = F.relu(norm_in(F.conv2d(x, self.conv_in, padding=1)))
    h = F.relu(norm_hidden(F.conv2d(h, self.conv_hidden)))
    return self.conv_out(h)


def _normal(shape, generator):
  return torch.randn(shape, generator=generator) * _WEIGHT_STDDEV


class AffineCoupling(nn.Module):
  """`z_b = (x_b + shift) * scale`, `[shift, raw] = NN(x_a)`.

  `scale = sigmoid(raw + 2) / sigmoid(2)`, 1 while `NN`'s output is zero;
  `x_a`, the first `C // 2` channels, passes through.
  """

  def __init__(self, channels, hidden_channels, generator):
    super().__init__()
    self.split = channels // 2
    self.network = CouplingNetwork(self.split, 2 * (channels - self.split),
                                   hidden_channels, generator)

  def _shift_and_log_scale(self, x_a, initialize=False):
    shift, raw = self.network(x_a, initialize).chunk(2, dim=1)
    return shift, F.logsigmoid(raw + 2.0) - math.log(1 / (1 + math.exp(-2.0)))

  def to_latent(self, x, initialize=False):
    x_a, x_b = x[:, :self.split], x[:, self.split:]
    shift, log_scale = self._shift_and_log_scale(x_a, initialize)
    z_b = (x_b + shift) * log_scale.exp()
    return torch.cat([x_a, z_b], dim=1), log_scale.sum(dim=(1, 2, 3))

  def to_image(self, z):
    z_a, z_b = z[:, :self.split], z[:, self.split:]
    shift, log_scale = self._shift_and_log_scale(z_a)
    return torch.cat([z_a, z_b * (-log_scale).exp() - shift], dim=1)


class FlowStep(nn.Module):
  """ActNorm -> LU 1x1 conv -> affine coupling (image -> latent)."""

  def __init__(self, channels, hidden_channels, seed, generator):
    super().__init__()
    self.act_norm = ActNorm(channels)
    self.conv = InvertibleConv1x1(channels, seed)
    self.coupling = AffineCoupling(channels, hidden_channels, generator)

  def to_latent(self, x, initialize=False):
    if initialize:
      x = self.act_norm.initialize(x)
      x = self.conv.to_latent(x)[0]
      return self.coupling.to_latent(x, initialize=True)[0], None
    x, log_det = self.act_norm.to_latent(x)
    x, conv_log_det = self.conv.to_latent(x)
    z, coupling_log_det = self.coupling.to_latent(x)
    return z, log_det + conv_log_det + coupling_log_det

  def to_image(self, z):
    return self.act_norm.to_image(self.conv.to_image(self.coupling.to_image(z)))
