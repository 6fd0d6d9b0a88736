"""Tests of glow_tf.training.optimizer: the warm-up schedule and the optimizers."""

import numpy as np
import pytest

from glow_tf import training


def test_linear_warmup_and_the_optimizers():
  schedule = training.LinearWarmup(1e-3, warmup_steps=4)
  np.testing.assert_allclose([float(schedule(t)) for t in range(6)],
                             [2.5e-4, 5e-4, 7.5e-4, 1e-3, 1e-3, 1e-3])
  assert float(training.LinearWarmup(1e-3, 0)(0)) == pytest.approx(1e-3)
  for name in ('adamax', 'adam'):
    optimizer = training.make_optimizer(training.TrainConfig(optimizer=name))
    assert type(optimizer).__name__.lower() == name
