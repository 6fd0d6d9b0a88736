"""MirroredStrategy on two logical CPUs (tests/conftest.py) against one device."""

import numpy as np
import pytest
import tensorflow as tf

from glow_tf.training import initialization
from glow_tf import training
from tests import fixtures


def _mirrored():
  return fixtures.mirrored_strategy()


def _values(variables, strategy):
  """Every replica's copy of every variable: [replicas][variables]."""
  per_variable = [strategy.experimental_local_results(v) for v in variables]
  return [[np.asarray(copies[r]) for copies in per_variable]
          for r in range(strategy.num_replicas_in_sync)]


@pytest.mark.parametrize('memory_saving', [False, True])
def test_two_replicas_match_one_device_for_the_same_global_batch(
    memory_saving):
  config = fixtures.tiny_config()
  train_config = fixtures.tiny_train_config(ema_decay=0.5,
                                          clip_grad_norm=100.0,
                                          memory_saving=memory_saving)
  init_batch = fixtures.model_batch(32, seed=1)
  batches = [fixtures.model_batch(16, seed=s) for s in (2, 3)]
  default = tf.distribute.get_strategy()
  mirrored = _mirrored()
  results = {}
  for name, strategy in (('one', default), ('two', mirrored)):
    trainer = training.Trainer(config, train_config, strategy)
    assert trainer.initialize(init_batch['image'])
    init_values = _values(trainer.model.variables, strategy)
    losses = [float(trainer.train_step(initialization.distribute_batch(
        strategy, batch))['loss']) for batch in batches]
    results[name] = (init_values, losses,
                     _values(trainer.model.trainable_variables, strategy),
                     _values(trainer.ema_model.trainable_variables, strategy),
                     int(trainer.optimizer.iterations.numpy()))

  one, two = results['one'], results['two']
  # The ActNorm statistics were all-reduced: both replicas equal one device.
  for replica in two[0]:
    for a, b in zip(one[0][0], replica):
      np.testing.assert_allclose(a, b, rtol=1e-5, atol=2e-5)
  np.testing.assert_allclose(one[1], two[1], rtol=1e-5)
  assert one[4] == two[4] == 2
  for index in (2, 3):  # Weights and averaged weights after two updates.
    for replica in two[index]:
      for a, b in zip(one[index][0], replica):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
  # The updates moved the weights.
  assert any(np.any(a != b) for a, b in zip(one[0][0], one[2][0]))


def test_train_loop_under_mirrored_strategy(tmp_path):
  metrics = training.train(
      fixtures.tiny_config(),
      fixtures.tiny_train_config(train_steps=2, summary_every=0,
                               sample_every=2),
      str(tmp_path / 'model'), fixtures.dataset_fn(), strategy=_mirrored())
  assert metrics['step'] == 2 and np.isfinite(metrics['bits_per_dim'])
  assert metrics['checkpoint'].endswith('ckpt-2')
  with pytest.raises(ValueError, match='divisible by the number of replicas'):
    training.train(fixtures.tiny_config(),
                    fixtures.tiny_train_config(batch_size=15),
                    str(tmp_path / 'other'), fixtures.dataset_fn(),
                    strategy=_mirrored())
