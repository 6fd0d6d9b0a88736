"""Tests of TorchGlow, the benchmark's PyTorch Glow: glow_tf's model, a density.

Skipped, with the reason, when PyTorch is not installed. Checks: the
parameter count equals glow_tf's; the log-det equals `slogdet` of the
autodiff Jacobian of the image -> latent map on float64 inputs; both round
trips; every parameter gets a gradient; the squeeze's channel order is
`tf.nn.space_to_depth`'s; sampling at temperature 0 decodes the prior means.
That the log-density equals glow_tf's on its weights is in
test_torch_contender.py (`copy_glow_tf_weights`); the layers are in
test_torch_layers.py.
"""

import unittest

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

import glow_tf
from benchmarks import count_parameters
from benchmarks import torch_contender
from tests import fixtures

torch = torch_contender.import_torch()
_NO_TORCH = ('PyTorch is not installed: '
             f'{torch_contender.INSTALL_HINT} to run these tests.')
if torch is not None:
  from benchmarks import torch_glow  # pylint: disable=g-import-not-at-top


def _perturbed_model(config, seed=0, scale=0.1):
  """A float64 TorchGlow, initialised on data, every parameter moved off it."""
  model = torch_contender.build_torch_glow(config, seed=1)
  model.initialize(torch_contender.to_torch_images(
      fixtures.float64_images(8, config.image_shape)))
  generator = torch.Generator().manual_seed(seed)
  with torch.no_grad():
    for p in model.parameters():
      rms = float(p.square().mean().sqrt())
      p.add_(torch.randn(p.shape, generator=generator, dtype=p.dtype) *
             scale * max(rms, 0.3))
  return model


@unittest.skipIf(torch is None, _NO_TORCH)
class TorchGlowTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(
      ('tiny', {}),
      ('three_levels', {'image_shape': (8, 8, 3), 'num_levels': 3}),
      ('fixed_top_prior', {'learn_top_prior': False}),
      ('fashion_mnist', {'image_shape': (28, 28, 1), 'hidden_channels': 16}),
  )
  def test_parameter_count_equals_glow_tf(self, overrides):
    config = fixtures.float64_config(**overrides)
    model = torch_contender.build_torch_glow(config)
    self.assertEqual(model.count_parameters(),
                     count_parameters(glow_tf.Glow(config)))

  def test_log_det_is_the_jacobian_slogdet(self):
    config = fixtures.float64_config(image_shape=(4, 4, 2), hidden_channels=6)
    model = _perturbed_model(config)
    x = torch_contender.to_torch_images(fixtures.float64_images(3, (4, 4, 2), seed=5))
    log_det = model.encode(x)[1].detach()
    for n in range(x.shape[0]):
      def latent(flat):
        eps, _ = model.encode(flat.reshape(1, 2, 4, 4))
        return torch.cat([e.reshape(-1) for e in eps])
      jacobian = torch.autograd.functional.jacobian(latent, x[n].reshape(-1))
      self.assertEqual(jacobian.shape, (32, 32))
      _, log_abs_det = torch.linalg.slogdet(jacobian)
      self.assertAllClose(float(log_det[n]), float(log_abs_det), atol=1e-8)
    # log_prob is the standard normal density of the latents plus the log-det.
    latents, log_det = model.encode(x)
    expected = log_det.detach().numpy() + sum(
        -0.5 * np.sum(e.detach().numpy()**2 + np.log(2 * np.pi), (1, 2, 3))
        for e in latents)
    self.assertAllClose(model.log_prob(x).detach().numpy(), expected,
                        atol=1e-10)

  def test_round_trips(self):
    model = _perturbed_model(fixtures.float64_config())
    x = torch_contender.to_torch_images(fixtures.float64_images(4))
    with torch.no_grad():
      latents, _ = model.encode(x)
      self.assertAllClose(model.decode(latents).numpy(), x.numpy(),
                          atol=1e-10)
      eps = [torch.randn((4, *shape), dtype=torch.float64)
             for shape in model.latent_shapes]
      again, _ = model.encode(model.decode(eps))
      for a, b in zip(again, eps):
        self.assertAllClose(a.numpy(), b.numpy(), atol=1e-10)
    self.assertEqual([tuple(e.shape[1:]) for e in latents],
                     model.latent_shapes)

  def test_every_parameter_gets_a_nonzero_gradient(self):
    model = _perturbed_model(fixtures.float64_config())
    x = torch_contender.to_torch_images(fixtures.float64_images(4))
    (-model.log_prob(x).mean()).backward()
    for name, p in model.named_parameters():
      self.assertIsNotNone(p.grad, name)
      self.assertGreater(float(p.grad.abs().max()), 0.0, name)

  def test_squeeze_is_space_to_depth(self):
    x = fixtures.float64_images(2, (6, 4, 3))
    squeezed = tf.nn.space_to_depth(x, 2)
    torch_squeezed = torch_glow.squeeze(torch_contender.to_torch_images(x))
    self.assertAllEqual(torch_squeezed.permute(0, 2, 3, 1).numpy(), squeezed)
    self.assertAllEqual(
        torch_glow.unsqueeze(torch_squeezed).permute(0, 2, 3, 1), x)

  def test_sampling_at_zero_temperature_decodes_the_prior_means(self):
    model = _perturbed_model(fixtures.float64_config())
    images = model.sample(3, temperature=0.0)
    self.assertEqual(tuple(images.shape), (3, 2, 8, 8))
    zeros = [torch.zeros((3, *s), dtype=torch.float64)
             for s in model.latent_shapes]
    with torch.no_grad():
      self.assertAllClose(images.numpy(), model.decode(zeros).numpy())

  @parameterized.named_parameters(
      ('additive', {'coupling': 'additive'}, 'affine'),
      ('shuffle', {'permutation': 'shuffle'}, 'LU'),
      ('classes', {'num_classes': 3}, 'unconditional'),
  )
  def test_rejects_what_it_does_not_build(self, overrides, message):
    with self.assertRaisesRegex(ValueError, message):
      torch_glow.TorchGlow(fixtures.float64_config(**overrides))


if __name__ == '__main__':
  tf.test.main()
