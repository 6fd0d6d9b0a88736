"""Offline image data for Glow: IDX files, TFDS builders and `tf.data` input.

```
load_dataset(name, split, ...)   -> {'image': uint8 [H, W, C], 'label': int64}
make_pipeline(dataset, ...)      -> {'image': float [B, H, W, C] in [-0.5, 0.5],
                                     'label': int64 [B]}
distribute(strategy, fn, ...)    -> the same, per replica
```

Nothing here downloads: Fashion-MNIST is built from local IDX files
(`FashionMnistLocal`), other TFDS data sets must be prepared beforehand.
"""

from glow_tf.data.contexts import CONTEXTS
from glow_tf.data.contexts import context_shape
from glow_tf.data.contexts import with_context
from glow_tf.data.loaders import DatasetNotFoundError
from glow_tf.data.loaders import idx_dataset
from glow_tf.data.loaders import load_dataset
from glow_tf.data.preparation import prepare_builder
from glow_tf.data.registry import dataset_info
from glow_tf.data.registry import dataset_names
from glow_tf.data.registry import DatasetInfo
from glow_tf.data.registry import lsun_categories
from glow_tf.data.fashion_mnist import DEFAULT_FASHION_MNIST_DIR
from glow_tf.data.fashion_mnist import FASHION_MNIST_CLASS_NAMES
from glow_tf.data.fashion_mnist import FashionMnistLocal
from glow_tf.data.idx import find_idx_file
from glow_tf.data.idx import IdxFormatError
from glow_tf.data.idx import load_idx_split
from glow_tf.data.idx import read_idx
from glow_tf.data.pipeline import distribute
from glow_tf.data.pipeline import make_pipeline

__all__ = [
    'CONTEXTS',
    'context_shape',
    'with_context',
    'DEFAULT_FASHION_MNIST_DIR',
    'DatasetInfo',
    'DatasetNotFoundError',
    'FASHION_MNIST_CLASS_NAMES',
    'FashionMnistLocal',
    'IdxFormatError',
    'dataset_info',
    'dataset_names',
    'distribute',
    'find_idx_file',
    'idx_dataset',
    'load_dataset',
    'load_idx_split',
    'lsun_categories',
    'make_pipeline',
    'prepare_builder',
    'read_idx',
]
