"""Tests of benchmarks.torch_contender: the PyTorch contender.

Skipped, with the reason, when PyTorch is not installed (except the set-up
test, which checks the skip message itself). Checks: `copy_glow_tf_weights`
makes TorchGlow compute glow_tf's log-density; `to_torch_images`' layouts;
the contender's train step and sampler run channels-last; the threads follow
TensorFlow's. No timing is asserted.
"""

import unittest

import numpy as np
import tensorflow as tf

import glow_tf
from benchmarks import torch_contender
from tests import fixtures
from tests.bijector_checks import perturb_variables

torch = torch_contender.import_torch()
_NO_TORCH = ('PyTorch is not installed: '
             f'{torch_contender.INSTALL_HINT} to run these tests.')


@unittest.skipIf(torch is None, _NO_TORCH)
class TorchContenderTest(tf.test.TestCase):

  def test_log_prob_equals_glow_tf_on_its_weights(self):
    config = fixtures.float64_config()
    glow = glow_tf.Glow(config, seed=1)
    x = fixtures.float64_images(6)
    glow.initialize(x)
    perturb_variables(glow.bijector, seed=0, scale=0.1)
    model = torch_contender.copy_glow_tf_weights(
        glow, torch_contender.build_torch_glow(config))
    torch_log_prob = model.log_prob(torch_contender.to_torch_images(x))
    self.assertAllClose(torch_log_prob.detach().numpy(), glow.log_prob(x),
                        rtol=1e-10, atol=1e-10)
    # Not the identity: the latents differ from the squeezed images.
    latents, _ = model.encode(torch_contender.to_torch_images(x))
    self.assertGreater(float(latents[-1].detach().abs().max()), 0.6)

  def test_to_torch_images_is_channels_first_in_either_layout(self):
    x = fixtures.float64_images(2, (6, 4, 3))
    expected = np.transpose(x.numpy(), (0, 3, 1, 2))
    plain = torch_contender.to_torch_images(x)
    last = torch_contender.to_torch_images(x, channels_last=True)
    self.assertAllEqual(plain.numpy(), expected)
    self.assertAllEqual(last.numpy(), expected)
    self.assertTrue(plain.is_contiguous())
    self.assertFalse(plain.is_contiguous(memory_format=torch.channels_last))
    self.assertTrue(last.is_contiguous(memory_format=torch.channels_last))

  def test_train_step_and_sampler_run_channels_last(self):
    config = fixtures.float64_config(dtype='float32')
    x = fixtures.float64_images(4, seed=3)
    model, calls = torch_contender.contenders(config, tf.cast(x, tf.float32),
                                              batch_size=4)
    before = [p.detach().clone() for p in model.parameters()]
    losses = [float(calls['train']()) for _ in range(2)]
    self.assertTrue(np.all(np.isfinite(losses)))
    self.assertTrue(any(not torch.equal(a, b)
                        for a, b in zip(before, model.parameters())))
    samples = calls['sample']()
    self.assertEqual(tuple(samples.shape), (4, 2, 8, 8))
    self.assertTrue(bool(torch.isfinite(samples).all()))


class ContenderSetupTest(tf.test.TestCase):

  def test_threads_follow_tensorflow(self):
    self.assertGreaterEqual(torch_contender.tensorflow_threads(), 1)
    available, facts = torch_contender.setup()
    if torch is None:
      self.assertFalse(available)
      self.assertIn(torch_contender.INSTALL_HINT, facts)
    else:
      self.assertTrue(available)
      self.assertEqual(facts['threads'], facts['tensorflow_threads'])
      self.assertEqual(torch.get_num_threads(), facts['threads'])


if __name__ == '__main__':
  tf.test.main()
