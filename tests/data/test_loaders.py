"""Tests for glow_tf.data.loaders: mocked TFDS data, IDX folders."""


import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

import glow_tf.data
from glow_tf.data import idx
from glow_tf.data import loaders
from tests import fixtures



def _expected_spec(shape):
  return {'image': tf.TensorSpec(shape, tf.uint8),
          'label': tf.TensorSpec((), tf.int64)}


def test_package_exports():
  for name in glow_tf.data.__all__:
    assert hasattr(glow_tf.data, name), name


def test_unknown_names_are_refused_before_loading():
  with pytest.raises(ValueError, match="Unknown data set name 'imagenet'"):
    loaders.load_dataset('imagenet', 'train')


def test_tfds_dataset_through_mock(tmp_path):
  with tfds.testing.mock_data(num_examples=7):
    dataset = loaders.load_dataset('cifar10', 'train', data_dir=tmp_path)
    examples = list(dataset.as_numpy_iterator())
  assert dataset.element_spec == _expected_spec((32, 32, 3))
  assert len(examples) == 7
  assert all(0 <= e['label'] < 10 for e in examples)


@pytest.mark.parametrize('name, image_size', [
    ('celeb_a', None), ('celeb_a', 32), ('lsun/bedroom', 16),
    ('downsampled_imagenet/32x32', None)])
def test_resized_unlabelled_datasets_through_mock(tmp_path, name, image_size):
  shape = glow_tf.data.dataset_info(name, image_size).image_shape
  with tfds.testing.mock_data(num_examples=3):
    dataset = loaders.load_dataset(name, 'train', data_dir=tmp_path,
                                    image_size=image_size)
    if name.startswith('downsampled'):
      # Mocked ImageNet images have random sizes; real ones are 32x32.
      dataset = dataset.take(0)
    examples = list(dataset.as_numpy_iterator())
  assert dataset.element_spec == _expected_spec(shape)
  for example in examples:
    assert example['image'].shape == shape
    assert example['label'] == -1


def test_missing_tfds_dataset_is_a_clear_error(tmp_path):
  with pytest.raises(loaders.DatasetNotFoundError,
                     match=r"'cifar10' is not prepared in data_dir=.*"
                     r'tfds build cifar10 --data_dir=DIR') as info:
    loaders.load_dataset('cifar10', 'train', data_dir=tmp_path)
  assert isinstance(info.value, ValueError)
  assert isinstance(info.value, FileNotFoundError)
  # Nothing was downloaded or written.
  assert not any(tmp_path.rglob('*.tar.gz'))
  assert not (tmp_path / 'downloads').exists()


def test_mnist_idx_folder(tmp_path):
  folder = fixtures.fake_idx_folder(str(tmp_path / 'mnist'), num_test=40)
  dataset = loaders.load_dataset('mnist_idx', 'test', idx_dir=folder)
  assert dataset.element_spec == _expected_spec((28, 28, 1))
  assert int(dataset.cardinality()) == 40
  images, labels = idx.load_idx_split(folder, 't10k')
  for i, example in enumerate(dataset.take(5)):
    np.testing.assert_array_equal(example['image'].numpy(), images[i])
    assert int(example['label']) == labels[i]
  # Only the test set is there.
  with pytest.raises(loaders.DatasetNotFoundError,
                     match="split 'train'.*No IDX images file"):
    loaders.load_dataset('mnist_idx', 'train', idx_dir=folder)


def test_idx_errors(tmp_path):
  with pytest.raises(ValueError, match="'mnist_idx' needs idx_dir"):
    loaders.load_dataset('mnist_idx', 'test')
  with pytest.raises(ValueError, match=r"split must be one of \['train', "
                     r"'test'\], got 't10k'"):
    loaders.idx_dataset(tmp_path, 't10k')
  with pytest.raises(loaders.DatasetNotFoundError, match='IDX folder'):
    loaders.idx_dataset(tmp_path / 'missing', 'test')
  with pytest.raises(ValueError, match='idx_dir is only used by'):
    loaders.load_dataset('cifar10', 'test', idx_dir=tmp_path)
