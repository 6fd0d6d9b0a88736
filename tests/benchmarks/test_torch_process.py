"""Tests of benchmarks.torch_process: PyTorch in its own process.

Skipped, with the reason, when PyTorch is not installed. No timing is
asserted.
"""

import os

import numpy as np
import pytest

import glow_tf
from benchmarks import torch_contender
from benchmarks import torch_process
from tests import fixtures

torch = torch_contender.import_torch()
_NO_TORCH = ('PyTorch is not installed: '
             f'{torch_contender.INSTALL_HINT} to run these tests.')


@pytest.mark.skipif(torch is None, reason=_NO_TORCH)
def test_the_child_trains_and_samples_the_same_model():
  config = glow_tf.GlowConfig(image_shape=(8, 8, 2), num_levels=2,
                              num_steps=2, hidden_channels=8)
  x = fixtures.float64_images(4, seed=3).numpy().astype(np.float32)
  with torch_process.TorchProcess(config, x, batch_size=3, threads=1,
                                  timeout=300) as child:
    # Its parameter count is TorchGlow's, and glow_tf's (the same model).
    local = torch_contender.build_torch_glow(config)
    assert child.facts['params'] == local.count_parameters()
    assert child.facts['params'] == sum(
        int(np.prod(v.shape))
        for v in glow_tf.Glow(config).trainable_variables)
    assert child.facts['threads'] == 1
    losses = [child.call('train') for _ in range(3)]
    assert np.all(np.isfinite(losses))
    assert losses[-1] != losses[0]  # The step updates the weights.
    assert child.call('sample') == [3, 2, 8, 8]
    with pytest.raises(ValueError, match='task must be one of'):
      child.call('evaluate')
    pid = child.pid
  with pytest.raises(ProcessLookupError):  # Stopped on leaving the block.
    os.kill(pid, 0)


@pytest.mark.skipif(torch is None, reason=_NO_TORCH)
def test_a_model_the_child_cannot_build_is_a_clear_error():
  config = glow_tf.GlowConfig(image_shape=(8, 8, 2), num_levels=2,
                              num_steps=1, hidden_channels=4)
  wrong = np.zeros([2, 8, 8, 3], np.float32)  # 3 channels, config says 2.
  with pytest.raises(torch_process.TorchProcessError,
                     match=r'failed \(starting\)'):
    torch_process.TorchProcess(config, wrong, batch_size=2, threads=1,
                               timeout=300)
