"""Tests of GlowModel, the tf_keras model around Glow."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import glow_tf
from glow_tf import data
from glow_tf import images
from glow_tf.training import GlowModel
from glow_tf.training import initialization
from tests import fixtures


def _pipeline(num=64, seed=0):
  return data.make_pipeline(
      fixtures.dataset_fn(num, seed)(None), 16, n_bits=5, seed=seed,
      shuffle_buffer=num)


def test_tracks_every_variable_of_the_glow():
  model = GlowModel(fixtures.tiny_config())
  assert isinstance(model, tf_keras.Model)
  assert len(model.trainable_variables) == len(model.glow.trainable_variables)
  assert ({v.ref() for v in model.trainable_variables} ==
          {v.ref() for v in model.glow.trainable_variables})
  glow_variables = {v.ref() for v in model.glow.variables}
  assert glow_variables <= {v.ref() for v in model.variables}


def test_fit_initialises_on_the_first_batch_and_lowers_bits_per_dim():
  model = GlowModel(fixtures.tiny_config(n_bits=5))
  model.compile(optimizer=tf_keras.optimizers.Adamax(1e-2))
  train = _pipeline()
  assert not initialization.is_initialized(model.glow)
  history = model.fit(train, epochs=3, steps_per_epoch=4, verbose=0)
  assert initialization.is_initialized(model.glow)
  bpd = history.history['bits_per_dim']
  assert list(history.history) == ['bits_per_dim'] and len(bpd) == 3
  assert bpd[-1] < bpd[0] - 0.1, bpd
  result = model.evaluate(train, steps=2, return_dict=True, verbose=0)
  assert set(result) == {'bits_per_dim'} and result['bits_per_dim'] < bpd[0]
  # `call` gives per-example bits/dim, as glow_tf.bits_per_dim.
  batch = next(iter(train))
  per_example = model(batch)
  assert per_example.shape == (16,)
  log_prob = model.glow.log_prob(batch['image'])
  np.testing.assert_allclose(
      per_example, images.bits_per_dim_from_log_prob(
          log_prob, 28 * 28, 5), rtol=1e-5)


def test_fit_on_arrays_and_weights_round_trip(tmp_path):
  x = glow_tf.dequantize(fixtures.blob_images(32), seed=0).numpy()
  model = GlowModel(fixtures.tiny_config())
  model.compile()
  assert type(model.optimizer).__name__ == 'Adamax'
  model.fit(x, batch_size=16, epochs=1, verbose=0)
  path = str(tmp_path / 'weights')
  model.save_weights(path)
  again = GlowModel(fixtures.tiny_config(), seed=1)
  again.load_weights(path).expect_partial()
  np.testing.assert_allclose(model.predict(x[:4], verbose=0),
                             again.predict(x[:4], verbose=0), rtol=1e-5)
  assert initialization.is_initialized(again.glow)


def test_fit_under_mirrored_strategy():
  strategy = fixtures.mirrored_strategy()
  with strategy.scope():
    model = GlowModel(fixtures.tiny_config())
    model.compile(optimizer=tf_keras.optimizers.Adamax(1e-3))
  history = model.fit(_pipeline(32), epochs=1, steps_per_epoch=2, verbose=0)
  assert np.isfinite(history.history['bits_per_dim'][0])
  initialization.check_replicas_agree(strategy, model.glow.variables)


def test_clear_errors():
  with pytest.raises(ValueError, match='must be a glow_tf.GlowConfig'):
    GlowModel({'image_shape': (28, 28, 1)})
  conditional = GlowModel(fixtures.tiny_config(num_classes=10))
  with pytest.raises(ValueError, match='class-conditional'):
    conditional(tf.zeros([2, 28, 28, 1]))
  with pytest.raises(ValueError, match='takes no loss'):
    conditional.compile(loss='mse')
  with pytest.raises(ValueError, match='initialisation batch'):
    GlowModel(fixtures.tiny_config()).fit(lambda: None)


def _conditional_pipeline(num=32):
  dataset = data.with_context(fixtures.dataset_fn(num)(None), 'low_res')
  return data.make_pipeline(dataset, 16, n_bits=5, seed=0,
                            shuffle_buffer=num)


def test_a_conditional_model_trains_on_its_contexts():
  config = fixtures.tiny_config(n_bits=5, context_shape=(14, 14, 1))
  model = GlowModel(config)
  model.compile(optimizer=tf_keras.optimizers.Adamax(1e-2))
  train = _conditional_pipeline()
  history = model.fit(train, epochs=2, steps_per_epoch=2, verbose=0)
  assert initialization.is_initialized(model.glow)
  assert np.all(np.isfinite(history.history['bits_per_dim']))
  # `call` is the model's bits/dim given each image's own context.
  batch = next(iter(train))
  log_prob = model.glow.log_prob(batch['image'], context=batch['context'])
  np.testing.assert_allclose(
      model(batch), images.bits_per_dim_from_log_prob(log_prob, 28 * 28, 5),
      rtol=1e-5)
  other = dict(batch, context=batch['context'][::-1])
  assert not np.allclose(model(batch), model(other))
  # The tuple form (images, labels, contexts) is the same batch.
  np.testing.assert_allclose(
      model((batch['image'], batch['label'], batch['context'])), model(batch),
      rtol=1e-6)
  with pytest.raises(ValueError, match='conditional.*with_context'):
    model(batch['image'])
  with pytest.raises(ValueError, match='conditional'):
    GlowModel(config).fit(_pipeline(), epochs=1, steps_per_epoch=1,
                          verbose=0)


def test_the_class_loss_is_minimised_and_reported():
  config = fixtures.tiny_config(n_bits=5, num_classes=10,
                                class_loss_weight=0.5)
  model = GlowModel(config)
  model.compile(optimizer=tf_keras.optimizers.Adamax(1e-2))
  train = _pipeline()
  batch = next(iter(train))
  model.initialize(batch['image'])
  # The classifier starts at zero: every class alike, log2(10) bits.
  result = model.evaluate(train, steps=1, return_dict=True, verbose=0)
  assert set(result) == {'bits_per_dim', 'class_bits'}
  assert result['class_bits'] == pytest.approx(np.log2(10), abs=1e-4)
  model.fit(train, epochs=1, steps_per_epoch=4, verbose=0)
  classifier = model.glow.classifier.trainable_variables
  assert any(np.any(v.numpy() != 0) for v in classifier)
