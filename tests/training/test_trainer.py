"""Tests of glow_tf.training.trainer: the compiled step, memory saving, skips."""

import numpy as np
import pytest
import tensorflow as tf

import glow_tf
from glow_tf import data
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

def _conditional_config(**overrides):
  """A tiny 28x28 Glow of p(x | y, low_res) with a class-prediction loss."""
  return fixtures.tiny_config(num_classes=10, class_loss_weight=0.5,
                              context_shape=(14, 14, 1), context_channels=4,
                              **overrides)


def _conditional_batch(num=8, seed=0):
  """A model-space batch with labels and each image's low-res context."""
  images = fixtures.blob_images(num, seed)
  return {'image': glow_tf.dequantize(images, seed=seed),
          'label': tf.constant(np.arange(num) % 10, tf.int64),
          'context': data.contexts.low_resolution(images)}


def _perturb(variables, scale=0.05):
  """Moves every variable off its identity / zero initialisation."""
  for i, v in enumerate(variables):
    v.assign(v + tf.random.stateless_normal(v.shape, [3, i], 0.0, scale,
                                            v.dtype))


def test_objective_is_bits_per_dim_plus_weighted_cross_entropy_in_bits():
  config = _conditional_config()
  glow = glow_tf.Glow(config)
  batch = _conditional_batch()
  glow.initialize(batch['image'], context=batch['context'])
  _perturb(glow.trainable_variables)
  objective = trainer_lib.batch_objective(glow, batch).numpy()
  log_prob = glow.log_prob(batch['image'], labels=batch['label'],
                           context=batch['context']).numpy().astype(np.float64)
  logits = glow.class_logits(batch['image'],
                             context=batch['context']).numpy().astype(
                                 np.float64)
  d = 28 * 28
  bpd = -(log_prob - d * 8 * np.log(2)) / (d * np.log(2))
  log_softmax = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
  cross_entropy = -log_softmax[np.arange(8), batch['label'].numpy()]
  assert cross_entropy.std() > 1e-3  # The classifier is off its zero init.
  np.testing.assert_allclose(objective,
                             bpd + 0.5 * cross_entropy / np.log(2),
                             rtol=1e-5, atol=1e-4)
  # Bits/dim alone (what evaluation reports) leaves the class loss out.
  np.testing.assert_allclose(trainer_lib.batch_bits_per_dim(glow, batch),
                             bpd, rtol=1e-5, atol=1e-4)
  np.testing.assert_allclose(
      trainer_lib.batch_objective(glow, batch, with_class_loss=False), bpd,
      rtol=1e-5, atol=1e-4)


def test_conditional_memory_saving_objective_has_the_plain_gradients():
  trainer = training.Trainer(_conditional_config(),
                             fixtures.tiny_train_config())
  batch = _conditional_batch()
  assert trainer.initialize(batch['image'], context=batch['context'])
  _perturb(trainer.model.trainable_variables, 0.02)
  variables = list(trainer.model.trainable_variables)
  results = []
  for memory_saving in (False, True):
    with tf.GradientTape() as tape:
      loss = tf.reduce_mean(trainer_lib.batch_objective(
          trainer.model, batch, memory_saving))
    results.append([loss] + tape.gradient(loss, variables))
  named = ['loss'] + [v.name for v in variables]
  for name, plain, saving in zip(named, *results):
    assert plain is not None and saving is not None, name
    np.testing.assert_allclose(tf.convert_to_tensor(saving),
                               tf.convert_to_tensor(plain),
                               rtol=1e-3, atol=1e-5, err_msg=name)
  # The context encoder and the classifier are trained by this loss.
  for name, grad in zip(named[1:], results[0][1:]):
    if 'context' in name or 'classifier' in name:
      assert np.abs(tf.convert_to_tensor(grad).numpy()).max() > 0, name
  assert any('classifier' in n for n in named)
  assert any('context' in n for n in named)


def test_conditional_trainer_trains_every_variable_and_restores(tmp_path):
  trainer = training.Trainer(_conditional_config(),
                             fixtures.tiny_train_config(ema_decay=0.0))
  batch = _conditional_batch(16)
  assert trainer.initialize(batch['image'], context=batch['context'])
  initial = {v.name: v.numpy() for v in trainer.model.trainable_variables}
  # From the zero-initialised output layers, gradients reach every layer
  # within three steps.
  for _ in range(3):
    out = trainer.train_step(batch)
    assert bool(out['finite'])
  unchanged = [v.name for v in trainer.model.trainable_variables
               if np.array_equal(v.numpy(), initial[v.name])]
  assert not unchanged
  assert any('context' in name for name in initial)
  assert any('classifier' in name for name in initial)
  trainer.checkpoint.save(str(tmp_path / 'ckpt'))

  restored = training.Trainer(_conditional_config(),
                              fixtures.tiny_train_config(ema_decay=0.0))
  assert restored.restore(str(tmp_path)) == 3
  assert not restored.initialize(batch['image'], context=batch['context'])
  for saved, loaded in zip(trainer.model.trainable_variables,
                           restored.model.trainable_variables):
    np.testing.assert_array_equal(saved.numpy(), loaded.numpy())
  np.testing.assert_allclose(
      trainer_lib.batch_objective(restored.model, batch),
      trainer_lib.batch_objective(trainer.model, batch), rtol=1e-6)
  # Training goes on from the restored step.
  assert int(restored.train_step(batch)['step']) == 4


def test_conditional_batch_without_context_is_refused():
  glow = glow_tf.Glow(_conditional_config())
  batch = _conditional_batch()
  glow.initialize(batch['image'], context=batch['context'])
  no_context = {'image': batch['image'], 'label': batch['label']}
  message = (r"conditional \(context_shape=\(14, 14, 1\)\): its batches need "
             r"a 'context' \(glow_tf.data.with_context\)")
  for memory_saving in (False, True):
    with pytest.raises(ValueError, match=message):
      trainer_lib.batch_objective(glow, no_context, memory_saving)
    with pytest.raises(ValueError, match=message):
      trainer_lib.batch_bits_per_dim(glow, no_context, memory_saving)
