"""Tests for glow_tf.data.registry: names, shapes, classes and splits."""

import numpy as np
import pytest

from glow_tf.data import registry


@pytest.mark.parametrize('name, shape, num_classes, splits', [
    ('fashion_mnist', (28, 28, 1), 10, ('train', 'test')),
    ('mnist_idx', (28, 28, 1), 10, ('train', 'test')),
    ('cifar10', (32, 32, 3), 10, ('train', 'test')),
    ('mnist', (28, 28, 1), 10, ('train', 'test')),
    ('celeb_a', (64, 64, 3), None, ('train', 'validation', 'test')),
    ('downsampled_imagenet/32x32', (32, 32, 3), None, ('train', 'validation')),
    ('downsampled_imagenet/64x64', (64, 64, 3), None, ('train', 'validation')),
    ('lsun/church_outdoor', (64, 64, 3), None, ('train', 'validation')),
])
def test_dataset_info(name, shape, num_classes, splits):
  info = registry.dataset_info(name)
  assert info.image_shape == shape
  assert info.num_classes == num_classes
  assert info.splits == splits
  assert info.train_split == 'train'
  assert info.num_dims == np.prod(shape)


def test_dataset_info_errors():
  with pytest.raises(ValueError, match=r"Unknown data set name 'cifar100'.*"
                     r"'fashion_mnist'.*'lsun/<category>'.*'bedroom'"):
    registry.dataset_info('cifar100')
  with pytest.raises(ValueError, match="Unknown data set name 'lsun/moon'"):
    registry.dataset_info('lsun/moon')
  with pytest.raises(ValueError, match='image_size 64 can only be None or 32'):
    registry.dataset_info('cifar10', image_size=64)
  with pytest.raises(ValueError, match='image_size must be a positive int'):
    registry.dataset_info('celeb_a', image_size=0)
  assert registry.dataset_info('celeb_a', image_size=32).image_shape == (
      32, 32, 3)
  assert registry.dataset_info('cifar10', image_size=32).image_shape == (
      32, 32, 3)
