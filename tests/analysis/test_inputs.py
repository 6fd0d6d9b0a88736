"""Tests of glow_tf.analysis._inputs: the analysis functions' inputs."""

import numpy as np
import pytest
import tensorflow as tf

from glow_tf.analysis import _inputs
from tests import fixtures


def _dataset(images, labels=None):
  features = {'image': images}
  if labels is not None:
    features['label'] = labels
  return tf.data.Dataset.from_tensor_slices(features)


def test_check_glow_rejects_what_is_not_a_glow():
  glow = fixtures.small_glow()
  assert _inputs.check_glow(glow) is glow
  base = glow.distribution  # a distribution, but not a Glow
  with pytest.raises(ValueError, match='glow must be a glow_tf.Glow, got '
                     f'{type(base).__name__}'):
    _inputs.check_glow(base)
  with pytest.raises(ValueError, match='got dict'):
    _inputs.check_glow({'glow': glow})


def test_take_arrays_returns_the_dataset_in_order():
  images = fixtures.random_images(5, shape=(4, 4, 1))
  labels = np.array([3, 1, 4, 1, 5], np.int64)
  got_images, got_labels = _inputs.take_arrays(_dataset(images, labels))
  np.testing.assert_array_equal(got_images, images)
  np.testing.assert_array_equal(got_labels, labels)
  assert got_images.dtype == np.uint8 and got_labels.dtype == np.int64


def test_take_arrays_crosses_batches_and_honours_max_examples():
  # More than the 1024 images it batches at a time.
  images = fixtures.random_images(1030, shape=(2, 2, 1), seed=1)
  labels = np.arange(1030, dtype=np.int64)
  got_images, got_labels = _inputs.take_arrays(_dataset(images, labels))
  np.testing.assert_array_equal(got_images, images)
  np.testing.assert_array_equal(got_labels, labels)
  got_images, got_labels = _inputs.take_arrays(_dataset(images, labels),
                                               max_examples=3)
  np.testing.assert_array_equal(got_images, images[:3])
  np.testing.assert_array_equal(got_labels, [0, 1, 2])
  with pytest.raises(ValueError, match='`max_examples` must be a positive'):
    _inputs.take_arrays(_dataset(images, labels), max_examples=0)


def test_take_arrays_gives_minus_one_without_labels():
  images = fixtures.random_images(4, shape=(2, 2, 3))
  got_images, got_labels = _inputs.take_arrays(_dataset(images))
  np.testing.assert_array_equal(got_images, images)
  np.testing.assert_array_equal(got_labels, [-1, -1, -1, -1])
  assert got_labels.dtype == np.int64


def test_take_arrays_rejects_a_non_dataset_and_an_empty_one():
  images = fixtures.random_images(4, shape=(2, 2, 1))
  with pytest.raises(ValueError, match='dataset must be a tf.data.Dataset.*'
                     'got ndarray'):
    _inputs.take_arrays(images)
  with pytest.raises(ValueError, match='dataset is empty'):
    _inputs.take_arrays(_dataset(images).take(0))
