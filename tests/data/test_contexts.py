"""Tests of glow_tf.data.contexts: the 'low_res' context and with_context."""

import numpy as np
import pytest
import tensorflow as tf

from glow_tf import data
from glow_tf.data import contexts


def _numpy_low_resolution(images, factor=2):
  """The `factor x factor` mean of uint8 images, / 255 - 0.5, in float64."""
  *batch, h, w, c = images.shape
  blocks = images.astype(np.float64).reshape(
      *batch, h // factor, factor, w // factor, factor, c)
  return blocks.mean(axis=(-4, -2)) / 255.0 - 0.5


@pytest.mark.parametrize('batch_shape', [(), (5,), (2, 3)])
@pytest.mark.parametrize('factor', [2, 4])
def test_low_resolution_is_the_block_mean(batch_shape, factor):
  images = np.random.default_rng(0).integers(
      0, 256, (*batch_shape, 8, 12, 3), dtype=np.uint8)
  low = contexts.low_resolution(images, factor=factor)
  assert low.dtype == tf.float32
  assert low.shape == (*batch_shape, 8 // factor, 12 // factor, 3)
  np.testing.assert_allclose(low.numpy(), _numpy_low_resolution(images, factor),
                             atol=1e-6)


def test_low_resolution_of_extreme_and_constant_images():
  images = np.zeros((2, 4, 4, 1), np.uint8)
  images[1] = 255
  images[0, 0, 0] = 255  # One bright pixel: a quarter of its block.
  low = contexts.low_resolution(images).numpy()
  np.testing.assert_allclose(low[1], 0.5)
  np.testing.assert_allclose(low[0, 0, 0, 0], 0.25 - 0.5, atol=1e-7)
  np.testing.assert_allclose(low[0].ravel()[1:], -0.5)


def test_low_resolution_in_a_traced_function_with_unknown_batch():
  images = np.random.default_rng(1).integers(0, 256, (3, 4, 6, 1), np.uint8)
  low = tf.function(contexts.low_resolution, input_signature=[
      tf.TensorSpec([None, 4, 6, 1], tf.uint8)])
  np.testing.assert_allclose(low(images).numpy(),
                             _numpy_low_resolution(images), atol=1e-6)
  assert low.get_concrete_function().structured_outputs.shape.as_list() == [
      None, 2, 3, 1]


def test_low_resolution_errors():
  with pytest.raises(ValueError, match='takes uint8 images, got dtype float32'):
    contexts.low_resolution(np.zeros((4, 4, 1), np.float32))
  with pytest.raises(ValueError, match=r'divisible by 2, got shape \(5, 4, 1\)'):
    contexts.low_resolution(np.zeros((5, 4, 1), np.uint8))
  with pytest.raises(ValueError, match=r'divisible by 2, got shape \(2, 4, 3, 1\)'):
    contexts.low_resolution(np.zeros((2, 4, 3, 1), np.uint8))
  with pytest.raises(ValueError, match='`factor` must be a positive integer, '
                     'got 0'):
    contexts.low_resolution(np.zeros((4, 4, 1), np.uint8), factor=0)


def test_context_of_and_context_shape():
  images = np.random.default_rng(2).integers(0, 256, (3, 28, 28, 1), np.uint8)
  np.testing.assert_array_equal(contexts.context_of('low_res', images),
                                contexts.low_resolution(images))
  assert data.CONTEXTS == ('low_res',)
  assert data.context_shape('low_res', (28, 28, 1)) == (14, 14, 1)
  assert data.context_shape('low_res', [32, 64, 3]) == (16, 32, 3)
  with pytest.raises(ValueError, match=r"`context` must be one of \['low_res'\],"
                     " got 'labels'"):
    contexts.context_of('labels', images)
  with pytest.raises(ValueError, match=r"`context` must be one of \['low_res'\],"
                     " got 'high_res'"):
    data.context_shape('high_res', (28, 28, 1))
  with pytest.raises(ValueError, match=r'divisible by 2, got image_shape '
                     r'\(27, 28, 1\)'):
    data.context_shape('low_res', (27, 28, 1))


def test_with_context_adds_each_images_low_resolution():
  rng = np.random.default_rng(3)
  images = rng.integers(0, 256, (6, 4, 6, 2), np.uint8)
  labels = np.arange(6, dtype=np.int64)
  dataset = data.with_context(tf.data.Dataset.from_tensor_slices(
      {'image': images, 'label': labels}), 'low_res')
  assert dataset.element_spec['context'] == tf.TensorSpec([2, 3, 2],
                                                          tf.float32)
  examples = list(dataset.as_numpy_iterator())
  assert [sorted(e) for e in examples] == [['context', 'image', 'label']] * 6
  np.testing.assert_array_equal([e['image'] for e in examples], images)
  np.testing.assert_array_equal([e['label'] for e in examples], labels)
  np.testing.assert_allclose([e['context'] for e in examples],
                             _numpy_low_resolution(images), atol=1e-6)


def test_with_context_errors():
  dataset = tf.data.Dataset.from_tensor_slices(
      {'image': np.zeros((2, 4, 4, 1), np.uint8)})
  with pytest.raises(ValueError, match="`context` must be one of .*got 'blur'"):
    data.with_context(dataset, 'blur')
  with pytest.raises(ValueError, match="needs a dataset of dicts with an "
                     "'image'"):
    data.with_context(dataset.map(lambda e: e['image']), 'low_res')
  with pytest.raises(ValueError, match="needs a dataset of dicts with an "
                     "'image'"):
    data.with_context(dataset.map(lambda e: {'pixels': e['image']}),
                      'low_res')
