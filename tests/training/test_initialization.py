"""Tests of glow_tf.training.initialization: data-dependent init, replicas.

On the two-replica MirroredStrategy of tests/conftest.py, and on one device.
"""

import pytest
import tensorflow as tf

from glow_tf import training
from glow_tf.training import initialization
from tests import fixtures


def test_init_inside_strategy_run_agrees_and_divergence_is_caught():
  strategy = fixtures.mirrored_strategy()
  trainer = training.Trainer(fixtures.tiny_config(),
                              fixtures.tiny_train_config(ema_decay=0.0),
                              strategy)
  assert not initialization.is_initialized(trainer.model)
  images = fixtures.model_batch(32)['image']
  assert initialization.initialize(trainer.model, strategy, images)
  assert initialization.is_initialized(trainer.model)
  assert not initialization.initialize(trainer.model, strategy, images)
  initialization.check_replicas_agree(strategy, trainer.model.variables)

  # One replica's copy changed behind the strategy's back: caught.
  variable = trainer.model.trainable_variables[0]
  strategy.experimental_local_results(variable)[1].assign_add(
      tf.ones_like(variable) * 0.5)
  with pytest.raises(initialization.ReplicaMismatchError,
                     match='differ between the replicas'):
    initialization.check_replicas_agree(strategy, trainer.model.variables)


def test_distribute_batch_needs_a_multiple_of_the_replicas():
  strategy = fixtures.mirrored_strategy()
  with pytest.raises(ValueError, match='cannot be split evenly between 2'):
    initialization.distribute_batch(strategy, tf.zeros([3, 2]))
  halves = strategy.experimental_local_results(
      initialization.distribute_batch(strategy, {'x': tf.range(4)}))
  assert [h['x'].numpy().tolist() for h in halves] == [[0, 1], [2, 3]]


def test_on_one_replica_the_batch_is_not_split():
  one_device = tf.distribute.get_strategy()
  batch = initialization.distribute_batch(one_device, {'x': tf.range(3)})
  assert batch['x'].numpy().tolist() == [0, 1, 2]
