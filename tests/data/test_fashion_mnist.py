"""Tests for the offline Fashion-MNIST TFDS builder."""

import gzip
import hashlib
import pathlib
import pickle
import time

import numpy as np
import pytest
import tensorflow_datasets as tfds

from glow_tf.data import loaders
from glow_tf.data import fashion_mnist
from glow_tf.data import idx

FASHION_MNIST_DIR = pathlib.Path(fashion_mnist.DEFAULT_FASHION_MNIST_DIR)


def _write_idx(path, array):
  array = np.asarray(array, np.uint8)
  header = bytes([0, 0, 0x08, array.ndim])
  header += np.asarray(array.shape, dtype='>u4').tobytes()
  path.write_bytes(gzip.compress(header + array.tobytes()))


def _fake_fashion_mnist(folder, num_train=12, num_test=5):
  """Writes a small Fashion-MNIST-like IDX folder; returns its arrays."""
  folder.mkdir(parents=True, exist_ok=True)
  rng = np.random.default_rng(0)
  arrays = {}
  for prefix, size in (('train', num_train), ('t10k', num_test)):
    images = rng.integers(0, 256, (size, 28, 28), dtype=np.uint8)
    labels = np.arange(size, dtype=np.uint8) % 10
    _write_idx(folder / f'{prefix}-images-idx3-ubyte.gz', images)
    _write_idx(folder / f'{prefix}-labels-idx1-ubyte.gz', labels)
    arrays[prefix] = (images[..., None], labels)
  return arrays


def _by_digest(images, labels):
  return {hashlib.sha1(image.tobytes()).hexdigest(): int(label)
          for image, label in zip(images, labels)}


def test_builder_is_registered_without_clashing():
  assert fashion_mnist.FashionMnistLocal.name == 'fashion_mnist_local'
  assert 'fashion_mnist_local' in tfds.list_builders()
  assert tfds.builder_cls('fashion_mnist') is not (
      fashion_mnist.FashionMnistLocal)


def test_prepare_fake_folder(tmp_path):
  arrays = _fake_fashion_mnist(tmp_path / 'idx')
  builder = fashion_mnist.FashionMnistLocal(data_dir=tmp_path / 'tfds',
                                            idx_dir=tmp_path / 'idx')
  assert not builder.is_prepared()
  builder.download_and_prepare()
  assert builder.is_prepared()
  assert builder.info.splits['train'].num_examples == 12
  assert builder.info.splits['test'].num_examples == 5
  assert builder.info.features['label'].num_classes == 10
  for split, prefix in (('train', 'train'), ('test', 't10k')):
    dataset = builder.as_dataset(split=split)
    assert dataset.element_spec['image'].shape == (28, 28, 1)
    examples = list(dataset.as_numpy_iterator())
    got = _by_digest([e['image'] for e in examples],
                     [e['label'] for e in examples])
    assert got == _by_digest(*arrays[prefix])

  # A second builder reads the prepared data without the IDX folder.
  reader = fashion_mnist.FashionMnistLocal(data_dir=tmp_path / 'tfds',
                                           idx_dir=tmp_path / 'missing')
  assert reader.is_prepared()
  assert len(list(reader.as_dataset(split='test'))) == 5


def test_idx_dir_survives_pickling(tmp_path):
  builder = fashion_mnist.FashionMnistLocal(data_dir=tmp_path,
                                            idx_dir=tmp_path / 'x')
  assert pickle.loads(pickle.dumps(builder)).idx_dir == tmp_path / 'x'
  assert fashion_mnist.FashionMnistLocal(data_dir=tmp_path).idx_dir == (
      FASHION_MNIST_DIR)


def test_missing_folder_says_how_to_install(tmp_path):
  builder = fashion_mnist.FashionMnistLocal(data_dir=tmp_path / 'tfds',
                                            idx_dir=tmp_path / 'missing')
  with pytest.raises(FileNotFoundError,
                     match='apt-get install dataset-fashion-mnist'):
    builder.download_and_prepare()
  with pytest.raises(loaders.DatasetNotFoundError,
                     match=r'missing.*apt-get install dataset-fashion-mnist'):
    loaders.load_dataset('fashion_mnist', 'train', data_dir=tmp_path / 'dd',
                          idx_dir=tmp_path / 'missing')


def test_missing_file_fails_before_writing(tmp_path):
  _fake_fashion_mnist(tmp_path / 'idx')
  (tmp_path / 'idx' / 't10k-labels-idx1-ubyte.gz').unlink()
  builder = fashion_mnist.FashionMnistLocal(data_dir=tmp_path / 'tfds',
                                            idx_dir=tmp_path / 'idx')
  with pytest.raises(FileNotFoundError, match="labels file for prefix 't10k'"):
    builder.download_and_prepare()


def test_load_dataset_prepares_on_first_use(tmp_path):
  _fake_fashion_mnist(tmp_path / 'idx')
  dataset = loaders.load_dataset('fashion_mnist', 'train[:4]',
                                  data_dir=tmp_path / 'tfds',
                                  idx_dir=tmp_path / 'idx')
  batch = list(dataset.as_numpy_iterator())
  assert len(batch) == 4
  assert set(batch[0]) == {'image', 'label'}
  assert batch[0]['image'].dtype == np.uint8
  # Prepared: no idx_dir is needed, but a folder given and missing is named.
  assert len(list(loaders.load_dataset('fashion_mnist', 'test',
                                        data_dir=tmp_path / 'tfds'))) == 5
  with pytest.raises(loaders.DatasetNotFoundError, match=r'typo.*not found'):
    loaders.load_dataset('fashion_mnist', 'test', data_dir=tmp_path / 'tfds',
                          idx_dir=tmp_path / 'typo')


# Possibly slow: prepares the real 70000 images (about 10 s on 2 CPU cores).
def test_prepare_real_folder(tmp_path):
  if not FASHION_MNIST_DIR.is_dir():
    pytest.skip(f'{FASHION_MNIST_DIR} not found; apt-get install '
                'dataset-fashion-mnist.')
  builder = fashion_mnist.FashionMnistLocal(data_dir=tmp_path)
  start = time.time()
  builder.download_and_prepare()
  assert time.time() - start < 60
  assert builder.info.splits['train'].num_examples == 60000
  assert builder.info.splits['test'].num_examples == 10000
  images, labels = idx.load_idx_split(FASHION_MNIST_DIR, 't10k')
  expected = _by_digest(images, labels)
  examples = builder.as_dataset(split='test').take(500).as_numpy_iterator()
  for example in examples:
    digest = hashlib.sha1(example['image'].tobytes()).hexdigest()
    assert expected[digest] == example['label']
