"""Tests of glow_tf.training.trainer: the compiled step, memory saving, skips."""

import numpy as np
import tensorflow as tf

from glow_tf import training
from glow_tf.training import trainer as trainer_lib
from tests import fixtures


def test_memory_saving_loss_has_the_plain_gradients(monkeypatch):
  calls = []
  original = trainer_lib.memory.memory_saving_log_prob

  def counted(*args, **kwargs):
    calls.append(1)
    return original(*args, **kwargs)

  monkeypatch.setattr(trainer_lib.memory, 'memory_saving_log_prob', counted)
  trainer = training.Trainer(fixtures.tiny_config(),
                              fixtures.tiny_train_config(memory_saving=True))
  batch = fixtures.model_batch()
  assert trainer.initialize(batch['image'])
  for v in trainer.model.trainable_variables:  # off the identity init
    v.assign(v + tf.random.stateless_normal(v.shape, [0, len(v.name)], 0.0,
                                            0.02))
  variables = list(trainer.model.trainable_variables)
  results = []
  for memory_saving in (False, True):
    with tf.GradientTape() as tape:
      loss = tf.reduce_mean(trainer_lib.batch_bits_per_dim(
          trainer.model, batch, memory_saving))
    results.append([loss] + tape.gradient(loss, variables))
    assert len(calls) == int(memory_saving)
  for plain, saving in zip(*results):
    np.testing.assert_allclose(tf.convert_to_tensor(saving),
                               tf.convert_to_tensor(plain),
                               rtol=1e-3, atol=1e-5)
  out = trainer.train_step(batch)  # traced with the memory-saving loss
  assert len(calls) == 2
  assert bool(out['finite']) and int(out['step']) == 1
  assert int(trainer.optimizer.iterations) == 1


def test_non_finite_batch_is_skipped_and_counted():
  trainer = training.Trainer(fixtures.tiny_config(),
                              fixtures.tiny_train_config(ema_decay=0.5))
  batch = fixtures.model_batch()
  assert trainer.initialize(batch['image'])
  before = [v.numpy() for v in trainer.model.trainable_variables]
  ema_before = [v.numpy() for v in trainer.ema_model.trainable_variables]
  poisoned = dict(batch, image=tf.tensor_scatter_nd_update(
      batch['image'], [[3, 5, 5, 0]], [float('nan')]))
  out = trainer.train_step(poisoned)
  assert not bool(out['finite']) and int(out['step']) == 1
  assert not np.isfinite(float(out['loss']))
  assert int(trainer.optimizer.iterations) == 0
  for old, new in zip(before + ema_before,
                      trainer.model.trainable_variables +
                      trainer.ema_model.trainable_variables):
    np.testing.assert_array_equal(old, new.numpy())
  out = trainer.train_step(batch)
  assert bool(out['finite']) and int(out['step']) == 2
  assert int(trainer.optimizer.iterations) == 1
  assert any(np.any(old != new.numpy()) for old, new in
             zip(before, trainer.model.trainable_variables))
