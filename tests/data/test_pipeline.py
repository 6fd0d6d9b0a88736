"""Tests for glow_tf.data.pipeline: make_pipeline and distribute."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

# Two logical CPUs for MirroredStrategy; only possible before TF initialises
# its runtime, so it is done at import (test collection) time.
try:
  tf.config.set_logical_device_configuration(
      tf.config.list_physical_devices('CPU')[0],
      [tf.config.LogicalDeviceConfiguration()] * 2)
except RuntimeError:  # Runtime already initialised by another test module.
  pass

from glow_tf.data import contexts  # pylint: disable=g-import-not-at-top
from glow_tf.data import pipeline  # pylint: disable=g-import-not-at-top

_SUBPROCESS_ENV = 'GLOW_TF_DATA_TEST_SUBPROCESS'


def _images_dataset(num=20, height=4, width=6, channels=1, labels=True):
  """Images whose pixel values encode (example, row, column)."""
  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, (num, height, width, channels), np.uint8)
  data = {'image': images}
  if labels:
    data['label'] = np.arange(num, dtype=np.int32)
  return tf.data.Dataset.from_tensor_slices(data), images


@pytest.mark.parametrize('n_bits', [3, 5, 8])
def test_values_are_dequantised_bins(n_bits):
  dataset, images = _images_dataset()
  batches = list(pipeline.make_pipeline(dataset, batch_size=8, n_bits=n_bits,
                                        training=False, seed=3))
  assert [b['image'].shape[0] for b in batches] == [8, 8, 4]
  x = np.concatenate([b['image'].numpy() for b in batches])
  labels = np.concatenate([b['label'].numpy() for b in batches])
  np.testing.assert_array_equal(labels, np.arange(20))
  assert x.dtype == np.float32
  assert x.min() >= -0.5 and x.max() <= 0.5
  bins = np.floor((x.astype(np.float64) + 0.5) * 2**n_bits)
  np.testing.assert_array_equal(bins, images >> (8 - n_bits))
  # Noise fills the bins: not all at the bin centre.
  centres = (bins + 0.5) / 2**n_bits - 0.5
  assert np.abs(x - centres).max() > 0.25 / 2**n_bits


def test_training_batches_shapes_and_reproducibility():
  dataset, _ = _images_dataset(num=10)
  train = pipeline.make_pipeline(dataset, batch_size=4, n_bits=5, seed=0,
                                 shuffle_buffer=10)
  assert train.element_spec['image'].shape == (4, 4, 6, 1)
  assert train.element_spec['label'].dtype == tf.int64
  first = [b for _, b in zip(range(6), train)]  # Repeats past 10 examples.
  again = [b for _, b in zip(range(6), pipeline.make_pipeline(
      dataset, batch_size=4, n_bits=5, seed=0, shuffle_buffer=10))]
  for a, b in zip(first, again):
    np.testing.assert_array_equal(a['image'], b['image'])
    np.testing.assert_array_equal(a['label'], b['label'])
  # Shuffled: the first epoch is a permutation, not the file order.
  epoch = np.concatenate([b['label'].numpy() for b in first])[:8]
  assert len(set(epoch)) == 8
  assert not np.array_equal(epoch, np.arange(8))


def test_flips_happen_only_when_asked_in_training():
  num = 64
  image = np.zeros((4, 6, 1), np.uint8)
  image[:, :3] = 255  # Bright left half.
  dataset = tf.data.Dataset.from_tensor_slices(
      {'image': np.repeat(image[None], num, axis=0)})

  def bright_left(pipe):
    x = next(iter(pipe))['image'].numpy()
    return x[:, :, :3].mean(axis=(1, 2, 3)) > x[:, :, 3:].mean(axis=(1, 2, 3))

  flipped = bright_left(pipeline.make_pipeline(
      dataset, num, n_bits=8, random_flip=True, seed=1))
  assert 10 < np.sum(~flipped) < num - 10
  assert bright_left(pipeline.make_pipeline(dataset, num, n_bits=8,
                                            seed=1)).all()
  assert bright_left(pipeline.make_pipeline(
      dataset, num, n_bits=8, random_flip=True, training=False)).all()


def test_missing_label_and_extra_keys():
  dataset = tf.data.Dataset.from_tensor_slices(
      {'image': np.zeros((3, 2, 2, 3), np.uint8), 'id': ['a', 'b', 'c']})
  batch = next(iter(pipeline.make_pipeline(dataset, 3, n_bits=8,
                                           training=False, noise=False)))
  assert set(batch) == {'image', 'label'}
  np.testing.assert_array_equal(batch['label'], [-1, -1, -1])
  np.testing.assert_allclose(batch['image'], -0.5 + 0.5 / 256)


def test_context_is_batched_cast_and_flipped_with_its_image():
  # Asymmetric random images: a flipped image (and its low-resolution
  # context) differs from the original. Labels say which original it is.
  num = 32
  images = np.random.default_rng(4).integers(0, 256, (num, 4, 6, 1), np.uint8)
  dataset = contexts.with_context(tf.data.Dataset.from_tensor_slices(
      {'image': images, 'label': np.arange(num)}), 'low_res')
  batch = next(iter(pipeline.make_pipeline(
      dataset, num, n_bits=8, random_flip=True, seed=5, noise=False,
      dtype=tf.float64)))
  assert batch['context'].dtype == tf.float64
  assert batch['context'].shape == (num, 2, 3, 1)
  seen = np.floor((batch['image'].numpy() + 0.5) * 256).astype(np.uint8)
  originals = images[batch['label'].numpy()]
  flipped = np.array([not np.array_equal(s, o) for s, o in zip(seen, originals)])
  np.testing.assert_array_equal(seen[flipped], originals[flipped, :, ::-1])
  assert 5 < flipped.sum() < num - 5
  # Each context is the low-resolution image of the image it comes with,
  # flipped or not.
  np.testing.assert_allclose(batch['context'].numpy(),
                             contexts.low_resolution(seen).numpy(), atol=1e-6)
  assert not np.allclose(batch['context'].numpy()[flipped],
                         contexts.low_resolution(originals[flipped]).numpy())


def test_vector_context_is_batched_and_never_flipped():
  num = 16
  image = np.zeros((4, 6, 1), np.uint8)
  image[:, :3] = 255
  vectors = np.arange(num * 3, dtype=np.float32).reshape(num, 3)
  dataset = tf.data.Dataset.from_tensor_slices(
      {'image': np.repeat(image[None], num, axis=0), 'context': vectors,
       'label': np.arange(num)})
  for training in (True, False):
    batch = next(iter(pipeline.make_pipeline(
        dataset, num, n_bits=8, training=training, random_flip=True, seed=1,
        dtype=tf.float64)))
    assert batch['context'].dtype == tf.float64
    np.testing.assert_array_equal(batch['context'],
                                  vectors[batch['label'].numpy()])
  with pytest.raises(ValueError, match="dataset 'context' must be floats, got "
                     'int64'):
    pipeline.make_pipeline(dataset.map(lambda e: dict(
        e, context=tf.cast(e['context'], tf.int64))), 4, n_bits=8)


def test_argument_errors():
  dataset, _ = _images_dataset()
  with pytest.raises(ValueError, match='`batch_size` must be a positive integer, '
                     'got 0'):
    pipeline.make_pipeline(dataset, 0, n_bits=5)
  with pytest.raises(ValueError, match='n_bits must be in 1..8, got 9'):
    pipeline.make_pipeline(dataset, 4, n_bits=9)
  with pytest.raises(ValueError, match='`shuffle_buffer` must be a positive'):
    pipeline.make_pipeline(dataset, 4, n_bits=5, shuffle_buffer=-1)
  with pytest.raises(ValueError, match="seed must be an int or None, got '1'"):
    pipeline.make_pipeline(dataset, 4, n_bits=5, seed='1')
  with pytest.raises(ValueError, match="'image' must be uint8.*float32"):
    pipeline.make_pipeline(
        dataset.map(lambda e: {'image': tf.cast(e['image'], tf.float32)}),
        4, n_bits=5)
  with pytest.raises(ValueError, match='elements must be dicts'):
    pipeline.make_pipeline(dataset.map(lambda e: e['image']), 4, n_bits=5)
  with pytest.raises(ValueError, match='must be a tf.data.Dataset, got list'):
    pipeline.make_pipeline([1, 2], 4, n_bits=5)


def _check_distribute():
  devices = [d.name for d in tf.config.list_logical_devices('CPU')][:2]
  strategy = tf.distribute.MirroredStrategy(devices)
  assert strategy.num_replicas_in_sync == 2
  dataset, _ = _images_dataset(num=40)
  contexts = []

  def dataset_fn(input_context):
    contexts.append(input_context)
    return dataset

  distributed = pipeline.distribute(strategy, dataset_fn, global_batch_size=8,
                                    n_bits=5, seed=0, random_flip=True)
  batch = next(iter(distributed))
  images = strategy.experimental_local_results(batch['image'])
  labels = strategy.experimental_local_results(batch['label'])
  assert [tuple(x.shape) for x in images] == [(4, 4, 6, 1)] * 2
  assert [tuple(y.shape) for y in labels] == [(4,)] * 2
  assert len(set(np.concatenate(labels).tolist())) == 8  # Distinct examples.
  assert contexts[0].num_input_pipelines == 1
  with pytest.raises(ValueError, match=r'divisible by the number of replicas '
                     r'\(2\), got 7'):
    pipeline.distribute(strategy, dataset_fn, global_batch_size=7, n_bits=5)


def test_distribute_mirrored_on_two_cpus():
  if len(tf.config.list_logical_devices('CPU')) >= 2:
    _check_distribute()
  elif os.environ.get(_SUBPROCESS_ENV):
    pytest.fail('Could not make 2 logical CPU devices in a fresh process.')
  else:
    # Another module started TF first: check in a fresh process.
    result = subprocess.run(
        [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
         f'{__file__}::test_distribute_mirrored_on_two_cpus'],
        env={**os.environ, _SUBPROCESS_ENV: '1'}, capture_output=True,
        text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_pipeline_seed_per_input_pipeline():
  pipeline_seed = pipeline._pipeline_seed  # pylint: disable=protected-access
  assert len({pipeline_seed(0, i) for i in range(4)}) == 4
  assert pipeline_seed(None, 1) is None
