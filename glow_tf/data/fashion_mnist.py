"""An offline TFDS builder for Fashion-MNIST, read from local IDX files.

TFDS' own `fashion_mnist` builder downloads the gzipped IDX files and checks
their checksums; the files Debian ships (`apt-get install
dataset-fashion-mnist`, under `/usr/share/datasets/fashion-mnist`) hold the same
arrays but were compressed differently, so their checksums differ and TFDS
refuses them. `FashionMnistLocal` (registered as `fashion_mnist_local`) reads
the IDX files from a folder instead and never downloads:

```
features: image uint8 [28, 28, 1] (PNG-encoded on disk), label 0..9
splits:   train 60000, test 10000
```
"""

import io
import os
import pathlib

from etils import epath
import numpy as np
import tensorflow_datasets as tfds

from glow_tf.data import idx

__all__ = ['FashionMnistLocal', 'DEFAULT_FASHION_MNIST_DIR',
           'FASHION_MNIST_CLASS_NAMES', 'check_idx_dir']

DEFAULT_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist'

FASHION_MNIST_CLASS_NAMES = (
    'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt',
    'Sneaker', 'Bag', 'Ankle boot')

# Split name -> IDX file prefix.
_SPLIT_PREFIXES = {'train': 'train', 'test': 't10k'}

_CITATION = """\
@article{DBLP:journals/corr/abs-1708-07747,
  author    = {Han Xiao and Kashif Rasul and Roland Vollgraf},
  title     = {Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine
               Learning Algorithms},
  journal   = {CoRR},
  volume    = {abs/1708.07747},
  year      = {2017},
}
"""


def _encode_png(image):
  """PNG bytes of a uint8 `[H, W, 1]` image (PIL is ~20x faster than TFDS)."""
  from PIL import Image  # pylint: disable=g-import-not-at-top
  buffer = io.BytesIO()
  Image.fromarray(np.ascontiguousarray(image[..., 0])).save(buffer,
                                                              format='PNG')
  return buffer.getvalue()


def check_idx_dir(idx_dir):
  """Raises `FileNotFoundError`, saying how to get the files, if no folder."""
  if not pathlib.Path(os.fspath(idx_dir)).is_dir():
    raise FileNotFoundError(
        f'Fashion-MNIST IDX folder {os.fspath(idx_dir)!r} not found. '
        'Install it with `apt-get install dataset-fashion-mnist` (files in '
        f'{DEFAULT_FASHION_MNIST_DIR}) or pass the folder holding '
        'train-images-idx3-ubyte.gz etc. as idx_dir.')


class FashionMnistLocal(tfds.core.GeneratorBasedBuilder):
  """Fashion-MNIST built from local IDX files, without any download.

  Args (constructor, keyword-only):
    idx_dir: folder with `train-images-idx3-ubyte.gz`, `train-labels-...`,
      `t10k-images-...` and `t10k-labels-...` (gzipped or not). Defaults to
      `/usr/share/datasets/fashion-mnist`, where Debian's
      `dataset-fashion-mnist` package puts them. Only read by
      `download_and_prepare`; a prepared `data_dir` needs no `idx_dir`.
    data_dir, config, version, file_format: as for any TFDS builder.

  `download_and_prepare()` raises `FileNotFoundError` saying how to get the
  files when `idx_dir` is missing.

  #### Examples

  ```python
  builder = FashionMnistLocal(data_dir='/tmp/tfds')
  glow_tf.data.prepare_builder(builder)   # ~10 s once, writes TFRecords;
                                          # safe for concurrent processes
  ds = builder.as_dataset(split='train')  # {'image': uint8, 'label': int64}
  ```
  """

  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'Built offline from local IDX files.'}
  # Shadows TFDS' `code_path` class property, which needs the optional
  # `importlib_resources` package for builders defined outside TFDS.
  code_path = epath.Path(__file__)

  def __init__(self, *, idx_dir=None, **kwargs):
    super().__init__(**kwargs)
    self._idx_dir = pathlib.Path(
        DEFAULT_FASHION_MNIST_DIR if idx_dir is None else os.fspath(idx_dir))
    # Keeps `idx_dir` when TFDS pickles the builder (`__getstate__`).
    self._original_state['idx_dir'] = idx_dir

  @property
  def idx_dir(self):
    """The folder the IDX files are read from."""
    return self._idx_dir

  def _info(self):
    return tfds.core.DatasetInfo(
        builder=self,
        description=(
            'Fashion-MNIST (Zalando article images, 10 classes) read from '
            'local IDX files.'),
        features=tfds.features.FeaturesDict({
            'image': tfds.features.Image(shape=(28, 28, 1)),
            'label': tfds.features.ClassLabel(
                names=list(FASHION_MNIST_CLASS_NAMES)),
        }),
        supervised_keys=('image', 'label'),
        homepage='https://github.com/zalandoresearch/fashion-mnist',
        citation=_CITATION,
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # Nothing is downloaded.
    check_idx_dir(self._idx_dir)
    # Fail now, not half-way through writing, if a file is missing.
    for prefix in _SPLIT_PREFIXES.values():
      for kind in ('images', 'labels'):
        idx.find_idx_file(self._idx_dir, prefix, kind)
    return {split: self._generate_examples(prefix)
            for split, prefix in _SPLIT_PREFIXES.items()}

  def _generate_examples(self, prefix):
    images, labels = idx.load_idx_split(self._idx_dir, prefix)
    if images.shape[1:] != (28, 28, 1):
      raise ValueError(
          f'Fashion-MNIST images in {str(self._idx_dir)!r} (prefix '
          f'{prefix!r}) have shape {images.shape[1:]}, expected (28, 28, 1).')
    if labels.size and (labels.min() < 0 or labels.max() > 9):
      raise ValueError(
          f'Fashion-MNIST labels in {str(self._idx_dir)!r} (prefix '
          f'{prefix!r}) must be in 0..9, got {labels.min()}..{labels.max()}.')
    for i, (image, label) in enumerate(zip(images, labels)):
      yield i, {'image': _encode_png(image), 'label': int(label)}
