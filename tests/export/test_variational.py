"""Tests of the export of a model with a variational dequantizer.

`serving_default` scores such a model by its own bound (the dequantizer is
exported with it): the figure of `glow_tf.bits_per_dim` with the seed
`[0, score_seed]`, not the uniform bound at the bin centres.
"""

import os

import numpy as np
import pytest
import tensorflow as tf

import glow_tf
from glow_tf import export
from glow_tf import images as images_lib
from glow_tf.data import idx
from tests.bijector_checks import perturb_variables
from tests.export import exported


@pytest.fixture(scope='module')
def model_and_images():
  images, _ = idx.load_idx_split(exported.FASHION_MNIST, 't10k')
  images = images[:64]
  config = exported.tiny_config(dequantization='variational',
                                dequantizer_steps=1, dequantizer_channels=4)
  glow = glow_tf.Glow(config, seed=1)
  glow.initialize(images_lib.dequantize(images, config.n_bits, seed=1))
  perturb_variables(glow.bijector, seed=2, scale=0.05)
  perturb_variables(glow.dequantizer, seed=3, scale=0.05)
  return glow, images[:6]


def _served_scores(glow, images, tmp_path, score_seed=None):
  path = export.export_saved_model(glow, str(tmp_path / 'export'), 1,
                                   score_seed=score_seed, warmup=False)
  loaded = tf.saved_model.load(path, tags=['serve'])
  out = loaded.signatures['serving_default'](images=tf.constant(images))
  return {name: value.numpy() for name, value in out.items()}


@pytest.mark.parametrize('score_seed', [None, 3])
def test_serving_default_gives_the_models_own_bound(model_and_images,
                                                    tmp_path, score_seed):
  glow, images = model_and_images
  served = _served_scores(glow, images, tmp_path, score_seed)
  expected = glow_tf.bits_per_dim(glow, images,
                                  seed=[0, score_seed or 0]).numpy()
  np.testing.assert_allclose(served['bits_per_dim'], expected, rtol=1e-5,
                             atol=1e-4)
  # log_prob is the log-density that gives those bits/dim.
  np.testing.assert_allclose(
      images_lib.bits_per_dim_from_log_prob(
          served['log_prob'], glow.config.num_dims, glow.config.n_bits),
      served['bits_per_dim'], rtol=1e-5, atol=1e-4)
  # Not the uniform bound at the bin centres that a uniform model gets.
  centres = glow.log_prob(images_lib.dequantize(images, 8, noise=False))
  uniform = images_lib.bits_per_dim_from_log_prob(
      centres, glow.config.num_dims, 8).numpy()
  assert np.max(np.abs(uniform - served['bits_per_dim'])) > 1e-3


def test_the_score_seed_changes_the_draws(model_and_images, tmp_path):
  glow, images = model_and_images
  seed0 = _served_scores(glow, images, tmp_path / 'a')
  seed5 = _served_scores(glow, images, tmp_path / 'b', score_seed=5)
  again = _served_scores(glow, images, tmp_path / 'c')
  np.testing.assert_array_equal(seed0['bits_per_dim'], again['bits_per_dim'])
  assert not np.allclose(seed0['bits_per_dim'], seed5['bits_per_dim'])
  assert os.path.isdir(tmp_path / 'a' / 'export' / '1')
