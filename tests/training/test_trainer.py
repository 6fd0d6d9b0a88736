"""Tests of glow_tf.training.trainer: the compiled step, memory saving, skips."""

import numpy as np
import tensorflow as tf

import glow_tf
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


def test_uniform_loss_is_the_formula_to_the_last_bit():
  model = glow_tf.Glow(fixtures.tiny_config())
  batch = fixtures.model_batch()
  model.initialize(batch['image'])
  expected = glow_tf.images.bits_per_dim_from_log_prob(
      model.log_prob(batch['image']), 28 * 28, 8)
  np.testing.assert_array_equal(
      trainer_lib.batch_bits_per_dim(model, batch), expected)


def _variational_config():
  return fixtures.tiny_config(dequantization='variational',
                              dequantizer_steps=2, dequantizer_channels=8)


def test_variational_loss_is_the_bound_with_or_without_memory_saving():
  model = glow_tf.Glow(_variational_config())
  batch = fixtures.model_batch()
  model.initialize(batch['image'])
  for v in model.trainable_variables:  # off the identity init
    v.assign(v + tf.random.stateless_normal(v.shape, [1, len(v.name)], 0.0,
                                            0.02))
  variables = list(model.trainable_variables)
  results = []
  for memory_saving in (False, True):
    tf.random.set_seed(7)  # the same draws of u ~ q on both paths
    with tf.GradientTape() as tape:
      bpd = trainer_lib.batch_bits_per_dim(model, batch, memory_saving)
      loss = tf.reduce_mean(bpd)
    results.append([bpd] + tape.gradient(loss, variables))
  tf.random.set_seed(7)
  x, log_q = model.dequantize_and_log_q(batch['image'])
  # The bins of the pipeline's images, refilled by q: the variational bound.
  np.testing.assert_array_equal(glow_tf.images.model_space_bins(x, 8),
                                glow_tf.images.model_space_bins(
                                    batch['image'], 8))
  np.testing.assert_allclose(
      results[0][0], glow_tf.images.bits_per_dim_from_log_prob(
          model.log_prob(x), 28 * 28, 8, log_q=log_q), rtol=1e-6)
  for plain, saving in zip(*results):
    np.testing.assert_allclose(tf.convert_to_tensor(saving),
                               tf.convert_to_tensor(plain),
                               rtol=1e-3, atol=1e-5)
  dequantizer = {id(v) for v in model.dequantizer.trainable_variables}
  for variable, gradient in zip(variables, results[1][1:]):
    if id(variable) in dequantizer:  # q learns through the memory saving too
      assert np.max(np.abs(gradient)) > 0, variable.name


def test_a_variational_model_trains():
  trainer = training.Trainer(_variational_config(),
                              fixtures.tiny_train_config(ema_decay=0.0))
  batch = fixtures.model_batch()
  assert trainer.initialize(batch['image'])
  before = [v.numpy() for v in trainer.model.dequantizer.trainable_variables]
  losses = [float(trainer.train_step(batch)['loss']) for _ in range(8)]
  assert all(np.isfinite(losses)), losses
  assert np.mean(losses[-3:]) < losses[0] - 0.1, losses
  assert all(np.any(old != new.numpy()) for old, new in
             zip(before, trainer.model.dequantizer.trainable_variables))
