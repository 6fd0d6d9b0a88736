"""Tests for glow_tf.data.idx on real and on hand-written IDX files."""

import gzip
import os
import pathlib

import numpy as np
import pytest

from glow_tf.data import idx

FASHION_MNIST_DIR = pathlib.Path('/usr/share/datasets/fashion-mnist')
# The MNIST test set: $GLOW_TF_MNIST_DIR, else the shared data folder beside
# the repository (development machines and CI only; a clone has none).
MNIST_DIR = pathlib.Path(os.environ.get(
    'GLOW_TF_MNIST_DIR', pathlib.Path(__file__).resolve().parents[3] / 'shared'
    / 'data' / 'mnist'))

_TYPE_CODES = {np.dtype('u1'): 0x08, np.dtype('i1'): 0x09,
               np.dtype('>i2'): 0x0B, np.dtype('>i4'): 0x0C,
               np.dtype('>f4'): 0x0D, np.dtype('>f8'): 0x0E}


def idx_bytes(array):
  """The IDX encoding of `array` (uint8 unless another IDX dtype)."""
  array = np.asarray(array)
  dtype = array.dtype.newbyteorder('>') if array.itemsize > 1 else array.dtype
  header = bytes([0, 0, _TYPE_CODES[dtype], array.ndim])
  header += np.asarray(array.shape, dtype='>u4').tobytes()
  return header + array.astype(dtype).tobytes()


def write_idx(path, array, compress=True):
  data = idx_bytes(array)
  path = pathlib.Path(path)
  path.write_bytes(gzip.compress(data) if compress else data)
  return path


def _skip_unless(folder, how):
  if not folder.is_dir():
    pytest.skip(f'{folder} not found; {how}.')


def test_real_fashion_mnist_splits():
  _skip_unless(FASHION_MNIST_DIR, 'apt-get install dataset-fashion-mnist')
  for prefix, size in (('train', 60000), ('t10k', 10000)):
    images, labels = idx.load_idx_split(FASHION_MNIST_DIR, prefix)
    assert images.shape == (size, 28, 28, 1)
    assert images.dtype == np.uint8
    assert labels.shape == (size,)
    assert labels.dtype == np.int64
    assert images.min() == 0 and images.max() == 255
    assert labels.min() == 0 and labels.max() == 9
    # Balanced classes: 6000 / 1000 of each.
    np.testing.assert_array_equal(np.bincount(labels), [size // 10] * 10)


def test_real_mnist_test_set():
  _skip_unless(MNIST_DIR, 'the MNIST test set is not here: set GLOW_TF_MNIST_DIR '
               'to a folder holding t10k-images-idx3-ubyte.gz')
  images, labels = idx.load_idx_split(MNIST_DIR, 't10k')
  assert images.shape == (10000, 28, 28, 1)
  assert images.dtype == np.uint8
  assert labels.dtype == np.int64
  assert set(np.unique(labels)) == set(range(10))
  # MNIST digits have black borders.
  assert images[:, 0, :, :].max() == 0


def test_read_idx_round_trip_gzip_and_plain(tmp_path):
  rng = np.random.default_rng(0)
  arrays = [rng.integers(0, 256, (3, 4, 5), dtype=np.uint8),
            rng.integers(-100, 100, (7,), dtype=np.int8),
            rng.integers(-2**15, 2**15, (2, 3), dtype=np.int16),
            rng.integers(-2**31, 2**31, (4,), dtype=np.int32),
            rng.standard_normal((2, 2)).astype(np.float32),
            rng.standard_normal((3,))]
  for i, array in enumerate(arrays):
    for compress in (True, False):
      path = write_idx(tmp_path / f'a{i}{compress}', array, compress)
      result = idx.read_idx(path)
      assert result.dtype == array.dtype.newbyteorder('=')
      np.testing.assert_array_equal(result, array)


def test_missing_file_names_the_file(tmp_path):
  path = tmp_path / 'nope-images-idx3-ubyte.gz'
  with pytest.raises(FileNotFoundError, match='nope-images-idx3-ubyte.gz'):
    idx.read_idx(path)


def test_bad_magic_number(tmp_path):
  data = bytearray(idx_bytes(np.zeros((2, 3), np.uint8)))
  data[2] = 0x42  # Unknown element type.
  path = tmp_path / 'bad-magic'
  path.write_bytes(gzip.compress(bytes(data)))
  with pytest.raises(idx.IdxFormatError,
                     match=r"bad-magic'.*bad magic number 0x00004202"):
    idx.read_idx(path)
  (tmp_path / 'not-idx').write_bytes(b'hello world')
  with pytest.raises(ValueError, match='not-idx.*bad magic number'):
    idx.read_idx(tmp_path / 'not-idx')


def test_truncated_files(tmp_path):
  data = idx_bytes(np.zeros((10, 28, 28), np.uint8))
  (tmp_path / 'short').write_bytes(data[:-1])
  with pytest.raises(idx.IdxFormatError, match=r"short' is truncated"):
    idx.read_idx(tmp_path / 'short')
  (tmp_path / 'header').write_bytes(data[:9])
  with pytest.raises(idx.IdxFormatError, match='truncated inside its header'):
    idx.read_idx(tmp_path / 'header')
  (tmp_path / 'tiny').write_bytes(data[:2])
  with pytest.raises(idx.IdxFormatError, match='truncated'):
    idx.read_idx(tmp_path / 'tiny')
  # A gzip stream cut short.
  compressed = gzip.compress(data)
  (tmp_path / 'cut.gz').write_bytes(compressed[:len(compressed) // 2])
  with pytest.raises(idx.IdxFormatError, match=r"cut.gz'.*truncated gzip"):
    idx.read_idx(tmp_path / 'cut.gz')


def test_trailing_bytes_and_rank(tmp_path):
  data = idx_bytes(np.zeros((4,), np.uint8))
  (tmp_path / 'long').write_bytes(data + b'\x00')
  with pytest.raises(idx.IdxFormatError, match='1 trailing bytes'):
    idx.read_idx(tmp_path / 'long')
  (tmp_path / 'labels').write_bytes(data)
  with pytest.raises(idx.IdxFormatError, match='rank-1 array, expected rank 3'):
    idx.read_idx(tmp_path / 'labels', expected_ndim=3)


def test_load_idx_split_on_fake_folder(tmp_path):
  images = np.arange(5 * 4 * 3, dtype=np.uint8).reshape(5, 4, 3)
  labels = np.array([0, 1, 2, 1, 0], np.uint8)
  write_idx(tmp_path / 'train-images-idx3-ubyte.gz', images)
  # The `.idx1-ubyte` spelling, uncompressed.
  write_idx(tmp_path / 'train-labels.idx1-ubyte', labels, compress=False)
  got_images, got_labels = idx.load_idx_split(tmp_path, 'train')
  np.testing.assert_array_equal(got_images, images[..., None])
  np.testing.assert_array_equal(got_labels, labels)
  assert got_labels.dtype == np.int64


def test_load_idx_split_errors(tmp_path):
  with pytest.raises(FileNotFoundError, match='IDX folder not found'):
    idx.load_idx_split(tmp_path / 'missing', 'train')
  write_idx(tmp_path / 't10k-images-idx3-ubyte.gz',
            np.zeros((3, 2, 2), np.uint8))
  with pytest.raises(FileNotFoundError,
                     match="No IDX labels file for prefix 't10k'"):
    idx.load_idx_split(tmp_path, 't10k')
  write_idx(tmp_path / 't10k-labels-idx1-ubyte.gz', np.zeros((4,), np.uint8))
  with pytest.raises(idx.IdxFormatError, match='3 images but .* 4 labels'):
    idx.load_idx_split(tmp_path, 't10k')
  with pytest.raises(ValueError, match="kind must be 'images' or 'labels'"):
    idx.find_idx_file(tmp_path, 't10k', 'pixels')
