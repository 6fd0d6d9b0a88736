"""Tests of glow_tf.training.optimizer: the warm-up schedule and the optimizers."""

import numpy as np
import pytest
import tensorflow as tf

from glow_tf import training


def test_linear_warmup_and_the_optimizers():
  schedule = training.LinearWarmup(1e-3, warmup_steps=4)
  np.testing.assert_allclose([float(schedule(t)) for t in range(6)],
                             [2.5e-4, 5e-4, 7.5e-4, 1e-3, 1e-3, 1e-3])
  assert float(training.LinearWarmup(1e-3, 0)(0)) == pytest.approx(1e-3)
  for name in ('adamax', 'adam'):
    optimizer = training.make_optimizer(training.TrainConfig(optimizer=name))
    assert type(optimizer).__name__.lower() == name
    assert optimizer.beta_2 == pytest.approx(0.999)
    official = training.TrainConfig(optimizer=name, beta_2=1 - 1 / 938)
    assert training.make_optimizer(official).beta_2 == pytest.approx(
        1 - 1 / 938)


def test_cosine_decay_follows_the_progress_variable():
  progress = tf.Variable(0.0)
  schedule = training.LinearWarmup(1e-3, 2, decay='cosine', progress=progress)
  expected = {0.0: 1e-3, 0.25: 1e-3 * (1 + np.cos(np.pi / 4)) / 2,
              0.5: 5e-4, 1.0: 0.0, 1.5: 0.0}
  for p, rate in expected.items():
    progress.assign(p)
    assert float(schedule(10)) == pytest.approx(rate, abs=1e-9), p
  progress.assign(0.5)
  assert float(schedule(0)) == pytest.approx(2.5e-4)  # warm-up times decay
  with pytest.raises(ValueError, match='needs a progress variable'):
    training.LinearWarmup(1e-3, 2, decay='cosine')
  with pytest.raises(ValueError, match="`decay` must be one of"):
    training.LinearWarmup(1e-3, 2, decay='step')
