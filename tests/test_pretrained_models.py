"""Tests of glow_tf.pretrained_models: the shipped weights and their round trip."""

import os

import numpy as np
import pytest
import tensorflow as tf

import glow_tf
from glow_tf import data
from glow_tf import pretrained_models as pretrained_lib
from glow_tf import training
from tests import fixtures


def test_save_and_load_give_the_same_distribution(tmp_path):
  glow = fixtures.small_glow(seed=3)
  size = pretrained_lib.save_pretrained(glow, str(tmp_path), {'step': 5})
  assert size == sum(os.path.getsize(p) for p in tmp_path.iterdir())
  loaded = pretrained_lib.load_pretrained(str(tmp_path))
  assert loaded.config == glow.config
  assert len(loaded.variables) == len(glow.variables)
  for a, b in zip(glow.variables, loaded.variables):
    np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.name)
  x = glow_tf.dequantize(fixtures.random_images(6), 8, seed=[0, 1])
  np.testing.assert_allclose(loaded.log_prob(x), glow.log_prob(x), rtol=1e-6)
  # Sampling works straight away: no data-dependent init left to do.
  assert np.isfinite(loaded.sample(2, seed=[1, 2]).numpy()).all()


def test_a_variational_dequantizer_is_saved_and_loaded(tmp_path):
  config = glow_tf.GlowConfig(image_shape=(8, 8, 1), num_levels=2,
                              num_steps=1, hidden_channels=4,
                              dequantization='variational',
                              dequantizer_steps=1, dequantizer_channels=4)
  glow = glow_tf.Glow(config, seed=3)
  images = fixtures.random_images(6)
  glow.initialize(glow_tf.dequantize(images, 8, seed=[0, 1]))
  pretrained_lib.save_pretrained(glow, str(tmp_path))
  loaded = pretrained_lib.load_pretrained(str(tmp_path))  # all consumed
  assert loaded.initialized and loaded.dequantizer is not None
  np.testing.assert_allclose(glow_tf.bits_per_dim(loaded, images, seed=4),
                             glow_tf.bits_per_dim(glow, images, seed=4),
                             rtol=1e-6)


def test_saving_again_replaces_the_folder(tmp_path):
  pretrained_lib.save_pretrained(fixtures.small_glow(seed=1), str(tmp_path))
  second = fixtures.small_glow(seed=2)
  pretrained_lib.save_pretrained(second, str(tmp_path), {'step': 9})
  loaded = pretrained_lib.load_pretrained(str(tmp_path))
  for a, b in zip(second.variables, loaded.variables):
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_damaged_or_mismatched_folders_give_clear_errors(tmp_path):
  with pytest.raises(ValueError, match='not a folder written'):
    pretrained_lib.load_pretrained(str(tmp_path))
  pretrained_lib.save_pretrained(fixtures.small_glow(), str(tmp_path))
  data_file = next(p for p in tmp_path.iterdir() if '.data-' in p.name)
  data_file.write_bytes(data_file.read_bytes()[:100])
  with pytest.raises(ValueError, match='missing, damaged or do not match'):
    pretrained_lib.load_pretrained(str(tmp_path))
  other = tmp_path / 'other'
  pretrained_lib.save_pretrained(fixtures.small_glow(), str(other))
  (other / 'config.json').write_text(
      (other / 'config.json').read_text().replace(
          '"hidden_channels": 4', '"hidden_channels": 6'))
  with pytest.raises(ValueError, match='do not match'):
    pretrained_lib.load_pretrained(str(other))
  with pytest.raises(TypeError, match='glow_tf.Glow'):
    pretrained_lib.save_pretrained('model', str(tmp_path))


def test_unknown_names_list_what_ships():
  with pytest.raises(ValueError, match=r"No pretrained model 'cifar10'.*"
                                       r"fashion_mnist"):
    glow_tf.pretrained('cifar10')


def test_the_shipped_fashion_mnist_model_scores_its_recorded_figure():
  assert 'fashion_mnist' in glow_tf.available_pretrained()
  info = glow_tf.pretrained_info('fashion_mnist')
  glow = glow_tf.pretrained('fashion_mnist')
  assert glow.config == glow_tf.preset('fashion_mnist')
  parameters = sum(int(np.prod(v.shape)) for v in glow.trainable_variables)
  assert parameters == info['parameters']
  for variable in glow.variables:
    assert variable.dtype in (tf.float32, tf.bool, tf.int32, tf.int64)
  folder = data.DEFAULT_FASHION_MNIST_DIR
  if not os.path.isdir(folder):
    pytest.skip(f'Fashion-MNIST IDX files not in {folder} '
                '(apt-get install dataset-fashion-mnist)')
  images, _ = data.load_idx_split(folder, 't10k')
  images = images[:info['num_images']]
  assert info['num_images'] == 1000 and info['dequantization_seed'] == 0
  bits = float(np.mean(training.BitsPerDimScorer(glow)(images, seed=0)))
  assert bits == pytest.approx(info['test_bits_per_dim'], abs=0.01)
  # Far better than the 8 bits/dim of uniform noise, and than a per-pixel
  # histogram (4.59): the weights are trained, not initial.
  assert bits < 4.0
