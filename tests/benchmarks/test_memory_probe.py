"""Tests of benchmarks.memory_probe: a training step's peak memory.

One probe of a tiny model, in its fresh process (Linux); no timing and no
absolute memory figure is asserted.
"""

import shutil
import sys

import numpy as np
import pytest
import tensorflow as tf

from benchmarks import memory_probe
from tests import fixtures


def test_random_images_are_seeded_uniform_model_space_images():
  x = memory_probe.random_images(64, (8, 8, 2), seed=3)
  assert (x.shape, x.dtype) == ((64, 8, 8, 2), tf.float32)
  values = x.numpy()
  assert values.min() >= -0.5 and values.max() < 0.5
  # Uniform on [-0.5, 0.5): mean 0 and variance 1/12, over 8192 values.
  assert abs(values.mean()) < 0.02
  assert abs(values.var() - 1 / 12) < 0.005
  np.testing.assert_array_equal(memory_probe.random_images(64, (8, 8, 2),
                                                           seed=3), values)
  other = memory_probe.random_images(64, (8, 8, 2), seed=4).numpy()
  assert np.abs(other - values).mean() > 0.1  # 1/3 for independent draws
  doubles = memory_probe.random_images(2, (4, 4, 1), dtype=tf.float64)
  assert doubles.dtype == tf.float64


@pytest.mark.skipif(not sys.platform.startswith('linux'),
                    reason='the probe reads /proc/self/status (Linux)')
def test_peak_step_memory_of_a_tiny_model():
  result = memory_probe.peak_step_memory(fixtures.tiny_config(),
                                         batch_size=64)
  assert set(result) == {'step_peak_mib', 'process_peak_mib'}
  # The step needs memory of its own, and the process (TensorFlow, the
  # model) holds more than the step alone.
  assert result['step_peak_mib'] > 0
  assert result['process_peak_mib'] > result['step_peak_mib']


def test_a_failed_probe_raises(monkeypatch):
  monkeypatch.setattr(sys, 'executable', shutil.which('false'))
  with pytest.raises(RuntimeError, match='The memory probe failed'):
    memory_probe.peak_step_memory(fixtures.tiny_config(), batch_size=2)
