"""Tests of glow_tf.training.config and .optimizer: TrainConfig, the schedule."""

import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

import glow_tf
from glow_tf import data
from glow_tf import training
from glow_tf.training import checkpoints
from glow_tf.training import initialization
from glow_tf.training import trainer as trainer_lib
from tests.training import common


@pytest.mark.parametrize('field, value, message', [
    ('batch_size', 0, 'batch_size must be a positive int'),
    ('learning_rate', -1.0, 'learning_rate must be a positive float'),
    ('optimizer', 'sgd', "optimizer must be one of \\['adamax', 'adam'\\]"),
    ('ema_decay', 1.0, 'ema_decay must be in \\[0, 1\\)'),
    ('clip_grad_norm', 0.0, 'clip_grad_norm must be a positive float'),
    ('warmup_steps', -1, 'warmup_steps must be a non-negative int'),
    ('random_flip', 1, 'random_flip must be True or False'),
    ('memory_saving', 'yes', 'memory_saving must be True or False'),
])
def test_train_config_rejects_bad_values(field, value, message):
  with pytest.raises(ValueError, match=message):
    training.TrainConfig().replace(**{field: value})


def test_linear_warmup_and_epochs():
  schedule = training.LinearWarmup(1e-3, warmup_steps=4)
  np.testing.assert_allclose([float(schedule(t)) for t in range(6)],
                             [2.5e-4, 5e-4, 7.5e-4, 1e-3, 1e-3, 1e-3])
  assert float(training.LinearWarmup(1e-3, 0)(0)) == pytest.approx(1e-3)
  assert training.steps_for_epochs(2, 60_000, 64) == 1875
  assert training.steps_for_epochs(0.5, 10, 3) == 2
  for name in ('adamax', 'adam'):
    optimizer = training.make_optimizer(training.TrainConfig(optimizer=name))
    assert type(optimizer).__name__.lower() == name
