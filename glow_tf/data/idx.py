"""Reader for the IDX files of MNIST and Fashion-MNIST (gzipped or plain).

An IDX file is a big-endian header followed by the raw array:

```
bytes 0-1   zero
byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
            0x0D float32, 0x0E float64
byte  3     number of dimensions d
4 * d bytes the dimensions, each a big-endian uint32
then        prod(dims) elements, big-endian
```

`t10k-labels-idx1-ubyte` holds `[N]` uint8 labels and
`t10k-images-idx3-ubyte` holds `[N, 28, 28]` uint8 images. Files are read
whole, gzipped or not (detected from the content, not the name).
"""

import gzip
import os
import pathlib

import numpy as np

__all__ = ['IdxFormatError', 'read_idx', 'find_idx_file', 'load_idx_split']

# Element type code -> numpy dtype (big-endian, as stored).
_IDX_DTYPES = {
    0x08: np.dtype('u1'),
    0x09: np.dtype('i1'),
    0x0B: np.dtype('>i2'),
    0x0C: np.dtype('>i4'),
    0x0D: np.dtype('>f4'),
    0x0E: np.dtype('>f8'),
}

_GZIP_MAGIC = b'\x1f\x8b'


class IdxFormatError(ValueError):
  """An IDX file is malformed: bad magic number, truncated or oversized."""


def _read_bytes(path):
  """Returns the (decompressed) content of `path`, naming it in errors."""
  path = pathlib.Path(path)
  if not path.exists():
    raise FileNotFoundError(f'IDX file not found: {str(path)!r}.')
  if not path.is_file():
    raise IdxFormatError(f'IDX path is not a regular file: {str(path)!r}.')
  raw = path.read_bytes()
  if raw[:2] != _GZIP_MAGIC:
    return raw
  try:
    return gzip.decompress(raw)
  except (EOFError, OSError, gzip.BadGzipFile) as err:
    raise IdxFormatError(
        f'IDX file {str(path)!r} is a corrupt or truncated gzip file '
        f'({err}).') from err


def read_idx(path, expected_ndim=None):
  """Reads an IDX file (gzipped or plain) into a numpy array.

  Args:
    path: path of the file, a `str` or `os.PathLike`.
    expected_ndim: optional int; if given, the file must hold an array of this
      rank (1 for label files, 3 for image files).

  Returns:
    A numpy array with the file's shape, in native byte order (`uint8` for
    MNIST-style files).

  Raises:
    FileNotFoundError: if `path` does not exist.
    IdxFormatError: (a `ValueError`) if the magic number is wrong, the file is
      shorter or longer than its header says, or the rank is not
      `expected_ndim`. The message names the file.

  #### Examples

  ```python
  labels = read_idx('/usr/share/datasets/fashion-mnist/'
                    't10k-labels-idx1-ubyte.gz')   # uint8 [10000]
  ```
  """
  data = _read_bytes(path)
  name = os.fspath(path)
  if len(data) < 4:
    raise IdxFormatError(
        f'IDX file {name!r} is truncated: {len(data)} bytes, shorter than '
        'the 4-byte magic number.')
  zero, type_code, ndim = data[0:2], data[2], data[3]
  if zero != b'\x00\x00' or type_code not in _IDX_DTYPES or ndim == 0:
    raise IdxFormatError(
        f'IDX file {name!r} has a bad magic number 0x{data[:4].hex()}: '
        'expected 0x0000TTDD with element type TT in '
        f'{sorted(hex(c) for c in _IDX_DTYPES)} and a rank DD >= 1.')
  if expected_ndim is not None and ndim != expected_ndim:
    raise IdxFormatError(
        f'IDX file {name!r} holds a rank-{ndim} array, expected rank '
        f'{expected_ndim}.')
  header_size = 4 + 4 * ndim
  if len(data) < header_size:
    raise IdxFormatError(
        f'IDX file {name!r} is truncated inside its header: {len(data)} '
        f'bytes, the header of a rank-{ndim} array needs {header_size}.')
  shape = tuple(int(d) for d in
                np.frombuffer(data, dtype='>u4', count=ndim, offset=4))
  dtype = _IDX_DTYPES[type_code]
  expected_size = header_size + int(np.prod(shape)) * dtype.itemsize
  if len(data) < expected_size:
    raise IdxFormatError(
        f'IDX file {name!r} is truncated: {len(data)} bytes, its header '
        f'(shape {shape}, dtype {dtype.name}) needs {expected_size}.')
  if len(data) > expected_size:
    raise IdxFormatError(
        f'IDX file {name!r} has {len(data) - expected_size} trailing bytes '
        f'after the array of shape {shape} its header describes.')
  array = np.frombuffer(data, dtype=dtype, offset=header_size)
  return array.reshape(shape).astype(dtype.newbyteorder('='))


def find_idx_file(folder, prefix, kind):
  """Finds `{prefix}-{kind}-idx?-ubyte[.gz]` in `folder`.

  Both the usual `t10k-images-idx3-ubyte.gz` and the `t10k-images.idx3-ubyte`
  spelling of some mirrors are accepted, gzipped or not.

  Args:
    folder: directory holding the files.
    prefix: split prefix, e.g. `'train'` or `'t10k'`.
    kind: `'images'` or `'labels'`.

  Returns:
    The `pathlib.Path` of the file.

  Raises:
    ValueError: if `kind` is not `'images'` or `'labels'`.
    FileNotFoundError: if `folder` or the file does not exist; the message
      lists the names tried.
  """
  if kind not in ('images', 'labels'):
    raise ValueError(f"kind must be 'images' or 'labels', got {kind!r}.")
  folder = pathlib.Path(folder)
  if not folder.is_dir():
    raise FileNotFoundError(f'IDX folder not found: {str(folder)!r}.')
  rank = 3 if kind == 'images' else 1
  candidates = [f'{prefix}{sep}{kind}{sep2}idx{rank}-ubyte{ext}'
                for sep, sep2 in (('-', '-'), ('-', '.'))
                for ext in ('.gz', '')]
  for candidate in candidates:
    path = folder / candidate
    if path.is_file():
      return path
  raise FileNotFoundError(
      f'No IDX {kind} file for prefix {prefix!r} in {str(folder)!r}; tried '
      f'{candidates}.')


def load_idx_split(folder, prefix):
  """Loads one split of an MNIST-style IDX folder as images and labels.

  Args:
    folder: directory with `{prefix}-images-idx3-ubyte[.gz]` and
      `{prefix}-labels-idx1-ubyte[.gz]`.
    prefix: split prefix, `'train'` or `'t10k'` for MNIST and Fashion-MNIST.

  Returns:
    `(images, labels)`: uint8 numpy array `[N, H, W, 1]` and int64 numpy array
    `[N]`.

  Raises:
    FileNotFoundError: if the folder or a file is missing.
    IdxFormatError: if a file is malformed, not uint8, or the image and label
      counts differ.

  #### Examples

  ```python
  images, labels = load_idx_split('/usr/share/datasets/fashion-mnist', 't10k')
  images.shape  # (10000, 28, 28, 1)
  ```
  """
  images_path = find_idx_file(folder, prefix, 'images')
  labels_path = find_idx_file(folder, prefix, 'labels')
  images = read_idx(images_path, expected_ndim=3)
  labels = read_idx(labels_path, expected_ndim=1)
  for path, array in ((images_path, images), (labels_path, labels)):
    if array.dtype != np.uint8:
      raise IdxFormatError(
          f'IDX file {str(path)!r} holds {array.dtype.name} elements, '
          'expected uint8.')
  if images.shape[0] != labels.shape[0]:
    raise IdxFormatError(
        f'{str(images_path)!r} holds {images.shape[0]} images but '
        f'{str(labels_path)!r} holds {labels.shape[0]} labels.')
  return images[..., np.newaxis], labels.astype(np.int64)
