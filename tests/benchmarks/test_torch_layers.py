"""Tests of benchmarks.torch_layers: TorchGlow's layers, one by one.

Skipped, with the reason, when PyTorch is not installed. On float64 inputs
and with every parameter moved off its initial value, each layer's
`to_image` inverts its `to_latent`, and its log-det equals `slogdet` of the
autodiff Jacobian of `to_latent`. Also: ActNorm's data-dependent
initialisation normalises each channel, once; the 1x1 convolution starts as
a rotation; the coupling starts as the identity and passes `x_a` through.
"""

import unittest

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from benchmarks import torch_contender

torch = torch_contender.import_torch()
_NO_TORCH = ('PyTorch is not installed: '
             f'{torch_contender.INSTALL_HINT} to run these tests.')
if torch is not None:
  from benchmarks import torch_layers  # pylint: disable=g-import-not-at-top

_CHANNELS, _HIDDEN = 4, 6


def _layer(name, seed=0):
  """A float64 layer on `_CHANNELS` channels, its parameters as built."""
  generator = torch.Generator().manual_seed(seed)
  if name == 'act_norm':
    layer = torch_layers.ActNorm(_CHANNELS)
  elif name == 'conv':
    layer = torch_layers.InvertibleConv1x1(_CHANNELS, seed)
  elif name == 'coupling':
    layer = torch_layers.AffineCoupling(_CHANNELS, _HIDDEN, generator)
  else:
    layer = torch_layers.FlowStep(_CHANNELS, _HIDDEN, seed, generator)
  return layer.double()


def _perturb(layer, seed=0, scale=0.3):
  """Moves every parameter off its initial value (zeros included)."""
  generator = torch.Generator().manual_seed(seed)
  with torch.no_grad():
    for p in layer.parameters():
      rms = float(p.square().mean().sqrt())
      p.add_(torch.randn(p.shape, generator=generator, dtype=p.dtype) *
             scale * max(rms, 0.3))
  return layer


def _images(n, channels=_CHANNELS, size=2, seed=0):
  """float64 `[n, C, H, W]` images, each channel with its own mean, spread."""
  rng = np.random.default_rng(seed)
  x = (rng.normal(size=(n, channels, size, size)) *
       np.linspace(0.5, 2.0, channels)[:, None, None] +
       np.arange(channels)[:, None, None] - 1.0)
  return torch.from_numpy(x)


@unittest.skipIf(torch is None, _NO_TORCH)
class TorchLayersTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters('act_norm', 'conv', 'coupling', 'flow_step')
  def test_inverse_and_log_det_is_the_jacobian_slogdet(self, name):
    layer = _perturb(_layer(name))
    x = _images(3)
    with torch.no_grad():
      z, log_det = layer.to_latent(x)
      self.assertAllClose(layer.to_image(z).numpy(), x.numpy(), atol=1e-10)
    # Not the identity, so the checks below compare something.
    self.assertGreater(float((z - x).abs().max()), 1e-2)
    log_det = np.broadcast_to(log_det.detach().numpy(), [3])
    self.assertGreater(float(np.abs(log_det).max()), 1e-3)
    shape = (1, *x.shape[1:])
    for n in range(x.shape[0]):
      jacobian = torch.autograd.functional.jacobian(
          lambda flat: layer.to_latent(flat.reshape(shape))[0].reshape(-1),
          x[n].reshape(-1))
      _, log_abs_det = torch.linalg.slogdet(jacobian)
      self.assertAllClose(log_det[n], float(log_abs_det), atol=1e-8)

  def test_act_norm_initialisation_normalises_each_channel_once(self):
    act_norm = _layer('act_norm')
    x = _images(16, size=4)
    y = act_norm.initialize(x)
    self.assertAllClose(y.mean(dim=(0, 2, 3)).numpy(), np.zeros(_CHANNELS),
                        atol=1e-10)
    # Divided by (std + 1e-6): unit spread up to 1e-6 / std.
    std = (y - y.mean(dim=(0, 2, 3)).view(1, -1, 1, 1)).square().mean(
        dim=(0, 2, 3)).sqrt()
    self.assertAllClose(std.numpy(), np.ones(_CHANNELS), atol=1e-5)
    self.assertAllClose(act_norm.to_latent(x)[0].detach().numpy(), y.numpy(),
                        atol=1e-12)
    # Already initialised: other data changes nothing.
    before = [p.detach().clone() for p in act_norm.parameters()]
    act_norm.initialize(2 * x + 3)
    for a, b in zip(before, act_norm.parameters()):
      self.assertAllEqual(a.numpy(), b.detach().numpy())

  def test_conv_starts_as_a_seeded_rotation(self):
    matrix = _layer('conv', seed=3).matrix().detach().numpy()
    # The factors are kept in float32: a rotation up to float32 round-off.
    self.assertAllClose(matrix @ matrix.T, np.eye(_CHANNELS), atol=1e-5)
    self.assertAllClose(np.linalg.det(matrix), 1.0, atol=1e-5)
    self.assertAllClose(_layer('conv', seed=3).matrix().detach().numpy(),
                        matrix, atol=0)
    self.assertGreater(np.abs(
        _layer('conv', seed=4).matrix().detach().numpy() - matrix).max(), 1e-2)

  def test_coupling_starts_as_the_identity_and_passes_x_a_through(self):
    coupling = _layer('coupling')
    x = _images(3)
    with torch.no_grad():
      z, log_det = coupling.to_latent(x)
      # scale = sigmoid(2) / sigmoid(2): 1 up to round-off.
      self.assertAllClose(z.numpy(), x.numpy(), atol=1e-12)
      self.assertAllClose(log_det.numpy(), np.zeros(3), atol=1e-12)
      _perturb(coupling)
      z, _ = coupling.to_latent(x)
    half = _CHANNELS // 2
    self.assertAllEqual(z[:, :half].numpy(), x[:, :half].numpy())
    self.assertGreater(float((z[:, half:] - x[:, half:]).abs().max()), 1e-2)

  def test_flow_step_initialisation_returns_what_the_step_then_computes(self):
    step = _layer('flow_step')
    x = _images(16, size=4)
    z, log_det = step.to_latent(x, initialize=True)
    z = z.detach().numpy()
    self.assertIsNone(log_det)
    self.assertTrue(bool(step.act_norm.initialized))
    self.assertTrue(bool(step.coupling.network.norm_in.initialized))
    with torch.no_grad():
      self.assertAllClose(step.to_latent(x)[0].numpy(), z, atol=1e-12)


if __name__ == '__main__':
  tf.test.main()
