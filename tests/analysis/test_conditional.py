"""Tests of glow_tf.analysis.conditional: figure rows, accuracy, settings."""

import numpy as np
import pytest
import tensorflow as tf

import glow_tf
from glow_tf import analysis
from glow_tf import data
from tests import fixtures

conditional = analysis.conditional


def _small_glow(seed=0, **fields):
  """An initialised 8x8 Glow with `fields`, moved off its identity init."""
  config = glow_tf.GlowConfig(image_shape=(8, 8, 1), num_levels=2,
                              num_steps=1, hidden_channels=8,
                              context_channels=4, **fields)
  glow = glow_tf.Glow(config, seed=seed)
  images = fixtures.random_images(16, seed=seed)
  context = (data.contexts.low_resolution(images)
             if config.conditional else None)
  glow.initialize(glow_tf.dequantize(images, seed=seed), context=context)
  for i, v in enumerate(glow.trainable_variables):
    v.assign(v + tf.random.stateless_normal(v.shape, [seed, i], 0.0, 0.1))
  return glow


def test_super_resolution_rows_show_input_samples_and_truth():
  glow = _small_glow(context_shape=(4, 4, 1))
  images = fixtures.random_images(5, seed=1)
  rows = conditional.super_resolution_rows(glow, images, (0.0, 0.0, 0.8),
                                           seed=3)
  assert rows.shape == (5, 5, 8, 8, 1) and rows.dtype == np.uint8
  # First row: each 2x2 block shows the block's mean, as uint8.
  means = images.reshape(5, 4, 2, 4, 2, 1).astype(np.float64).mean((2, 4))
  low_res = data.contexts.low_resolution(images)
  expected = glow_tf.to_uint8(low_res).numpy()
  np.testing.assert_array_equal(
      rows[0], np.repeat(np.repeat(expected, 2, axis=1), 2, axis=2))
  assert np.abs(expected - means).max() <= 1.0
  # Last row: the true images.
  np.testing.assert_array_equal(rows[-1], images)
  # Temperature 0 is deterministic: the same images with any seed, and each
  # column is the sample of its own image's context.
  np.testing.assert_array_equal(rows[1], rows[2])
  again = conditional.super_resolution_rows(glow, images, (0.0, 0.8), seed=4)
  np.testing.assert_array_equal(again[1], rows[1])
  assert not np.array_equal(again[2], rows[3])
  for i in (0, 4):
    alone = glow.sample(1, seed=[9, 9], temperature=0.0,
                        context=low_res[i:i + 1])
    np.testing.assert_allclose(
        rows[1, i].astype(int), glow_tf.to_uint8(alone).numpy()[0].astype(int),
        atol=1)
  # The samples depend on the context: other inputs, other images.
  assert not np.array_equal(rows[1, 0], rows[1, 4])


def test_class_sample_rows_one_row_per_class():
  glow = _small_glow(num_classes=3)
  rows = conditional.class_sample_rows(glow, 3, per_class=4, temperature=0.0)
  assert rows.shape == (3, 4, 8, 8, 1) and rows.dtype == np.uint8
  # At temperature 0 every sample of a class is its prior mean's image, and
  # the classes' means differ.
  for row in rows:
    for image in row[1:]:
      np.testing.assert_array_equal(image, row[0])
  assert not np.array_equal(rows[0, 0], rows[1, 0])
  for k in range(3):
    mean = glow.sample(1, seed=[0, 0], temperature=0.0, labels=[k])
    np.testing.assert_allclose(rows[k, 0].astype(int),
                               glow_tf.to_uint8(mean).numpy()[0].astype(int),
                               atol=1)
  warm = conditional.class_sample_rows(glow, 3, per_class=4, temperature=1.0)
  assert not np.array_equal(warm[0, 0], warm[0, 1])
  with pytest.raises(ValueError, match='`per_class` must be a positive '
                     'integer, got 0'):
    conditional.class_sample_rows(glow, 3, per_class=0)


def test_class_accuracy_counts_the_argmax_of_the_logits():
  glow = _small_glow(num_classes=4, class_loss_weight=0.01)
  images = fixtures.random_images(10, seed=2)
  x = glow_tf.dequantize(images, noise=False)
  predicted = np.argmax(glow.class_logits(x).numpy(), axis=-1)
  # Right on the first 7 images, wrong on the last 3.
  labels = np.concatenate([predicted[:7], (predicted[7:] + 1) % 4])
  assert conditional.class_accuracy(glow, images, labels,
                                    batch_size=4) == pytest.approx(0.7)
  assert conditional.class_accuracy(glow, images, predicted) == 1.0
  with pytest.raises(ValueError, match='This model has no classifier'):
    conditional.class_accuracy(_small_glow(num_classes=4), images, labels)


def test_short_run_train_config_is_the_demos():
  config = conditional.short_run_train_config(2.5, seed=3, batch_size=16)
  assert config.time_budget_s == pytest.approx(150.0)
  assert (config.seed, config.batch_size, config.init_batch_size) == (3, 16,
                                                                      128)
  assert config.lr_decay == 'cosine' and config.clip_grad_norm == 20.0
  assert conditional.short_run_train_config(1).init_batch_size == 512
  with pytest.raises(ValueError, match='minutes must be > 0, got 0'):
    conditional.short_run_train_config(0)


def test_load_split_adds_the_context(tmp_path):
  idx_dir = fixtures.fake_idx_folder(str(tmp_path / 'idx'), num_test=6,
                                    num_train=4)
  plain = conditional.load_split('test', data_dir=str(tmp_path / 'tfds'),
                                 idx_dir=idx_dir)
  assert 'context' not in plain.element_spec
  with_low_res = conditional.load_split('test', 'low_res',
                                        data_dir=str(tmp_path / 'tfds'),
                                        idx_dir=idx_dir)
  for example in with_low_res.take(2).as_numpy_iterator():
    np.testing.assert_allclose(
        example['context'],
        data.contexts.low_resolution(example['image']).numpy())
    assert example['context'].shape == (14, 14, 1)
