"""Tests of glow_tf.training.evaluation: bits/dim of a split, the curve callback."""

import numpy as np
import pytest
import tensorflow as tf

import glow_tf
from glow_tf import training
from glow_tf.training import checkpoints
from tests import fixtures


def test_evaluate_bits_per_dim(trained_dir):
  glow, _ = checkpoints.restore_model(trained_dir[0])
  dataset = fixtures.dataset_fn(num=20, seed=1)(None)
  results = training.evaluate(glow, dataset, batch_size=8, log_every=1)
  assert results['num_examples'] == 20
  expected = glow_tf.bits_per_dim(glow, fixtures.blob_images(20, seed=1))
  assert 0 < results['bits_per_dim'] < 8
  # Same figure as glow_tf.bits_per_dim up to the dequantisation noise.
  assert results['bits_per_dim'] == pytest.approx(float(np.mean(expected)),
                                                  abs=0.05)
  assert training.evaluate(glow, dataset, batch_size=8,
                            max_examples=5)['num_examples'] == 5
  with pytest.raises(ValueError, match=r'shape \(32, 32, 3\)'):
    training.evaluate(glow, tf.data.Dataset.from_tensor_slices(
        {'image': np.zeros([2, 32, 32, 3], np.uint8)}))
