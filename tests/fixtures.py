"""The shared fixtures of the test suite: tiny models, data, IDX folders, runners.

```
tiny_config()            a 28x28 Glow that trains a step in milliseconds
float64_config(), float64_images()   8x8x2 float64 model and inputs
tiny_train_config()      a TrainConfig of a few steps with every feature on
small_glow()             an initialised 8x8 Glow for the analysis functions
blob_images(), dataset_fn(), model_batch()   easy-to-learn training data
fake_idx_folder()        MNIST-style IDX files, written here
make_model_dir()         a training directory of an untrained tiny Glow
run_binary()             one experiments/ binary, in a subprocess
xla_compiled_functions() the XLA-compiled functions of a GraphDef
mirrored_strategy()      two replicas on the two logical CPUs of conftest.py
```
"""

import functools
import gzip
import json
import os
import struct
import subprocess
import sys

import numpy as np
from PIL import Image
import tensorflow as tf

import glow_tf
from glow_tf import training
from glow_tf.training import checkpoints

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Debian's dataset-fashion-mnist: the real IDX files, read as 'mnist_idx'.
FASHION_MNIST_IDX = '/usr/share/datasets/fashion-mnist'


def tiny_config(**overrides):
  """A 28x28 Glow that trains a step in milliseconds."""
  return glow_tf.preset('fashion_mnist', num_levels=2, num_steps=1,
                        hidden_channels=8).replace(**overrides)


def small_glow(seed=0):
  """An initialised 8x8 Glow (L=2, K=1, width 4) for the analysis functions."""
  config = glow_tf.GlowConfig(image_shape=(8, 8, 1), num_levels=2,
                              num_steps=1, hidden_channels=4)
  glow = glow_tf.Glow(config, seed=seed)
  glow.initialize(tf.random.stateless_uniform([16, 8, 8, 1], [seed, 1]) - 0.5)
  return glow


def float64_config(**overrides):
  """An 8x8x2 float64 Glow (L=2, K=3, width 8) for Jacobian-sized checks."""
  return glow_tf.GlowConfig(image_shape=(8, 8, 2), num_levels=2,
                            num_steps=3, hidden_channels=8,
                            dtype='float64').replace(**overrides)


def float64_images(n, shape=(8, 8, 2), seed=2):
  """float64 model-space images `[n, *shape]` in [-0.5, 0.5)."""
  return tf.random.stateless_uniform([n, *shape], seed=[1, seed],
                                     dtype=tf.float64) - 0.5


def random_images(n=12, shape=(8, 8, 1), seed=0):
  """uint8 `[n, *shape]` uniform noise images."""
  return np.random.default_rng(seed).integers(0, 256, (n, *shape),
                                              dtype=np.uint8)


def tiny_train_config(**overrides):
  config = training.TrainConfig(
      batch_size=16, train_steps=6, learning_rate=1e-2, warmup_steps=0,
      init_batch_size=32, checkpoint_every=3, log_every=2, summary_every=1,
      sample_every=3, num_samples=4, shuffle_buffer=64, ema_decay=0.9)
  return config.replace(**overrides)


def blob_images(num=128, seed=0):
  """uint8 [num, 28, 28, 1] images of one blurred blob each: easy to learn."""
  rng = np.random.default_rng(seed)
  yy, xx = np.mgrid[:28, :28]
  centres = 14 + rng.normal(0, 3, (num, 2))
  images = 255 * np.exp(-((yy - centres[:, :1, None])**2 +
                          (xx - centres[:, 1:, None])**2) / 30.0)
  return np.clip(images, 0, 255).astype(np.uint8)[..., None]


def dataset_fn(num=128, seed=0, labels=None):
  """`input_context -> dataset` of blob images, as `training.train` takes."""
  images = blob_images(num, seed)
  labels = (np.arange(num) % 10 if labels is None else labels).astype(np.int64)
  return lambda context: tf.data.Dataset.from_tensor_slices(
      {'image': images, 'label': labels})


def model_batch(num=16, seed=0):
  """A dict batch of model-space images, as the pipeline gives."""
  images = glow_tf.dequantize(blob_images(num, seed), seed=seed)
  return {'image': images, 'label': tf.zeros([num], tf.int64)}


@functools.cache
def mirrored_strategy():
  """One MirroredStrategy on the two logical CPUs of tests/conftest.py.

  Shared: several MirroredStrategy objects in one process can reuse the same
  collective keys.
  """
  devices = tf.config.list_logical_devices('CPU')
  assert len(devices) >= 2, (
      f'tests/conftest.py should have made two logical CPUs, got {devices}')
  return tf.distribute.MirroredStrategy([d.name for d in devices[:2]])


def checkpoint_steps(model_dir):
  """The steps of the checkpoints named in `model_dir`'s index."""
  state = tf.train.get_checkpoint_state(model_dir)
  return sorted(int(p.rsplit('-', 1)[1])
                for p in state.all_model_checkpoint_paths)


def _write_idx(path, array):
  header = struct.pack('>HBB', 0, 0x08, array.ndim) + struct.pack(
      f'>{array.ndim}I', *array.shape)
  with gzip.open(path, 'wb') as f:
    f.write(header + array.astype(np.uint8).tobytes())


def fake_idx_folder(folder, num_test=40, num_train=0, num_classes=4, seed=0,
                    invert=False):
  """Writes MNIST-style IDX files of blobby 28x28 images, labels 0..3."""
  os.makedirs(folder, exist_ok=True)
  rng = np.random.default_rng(seed)
  for prefix, count in (('t10k', num_test), ('train', num_train)):
    if not count:
      continue
    labels = np.arange(count) % num_classes
    yy, xx = np.mgrid[:28, :28]
    images = np.zeros((count, 28, 28), np.float64)
    for i, k in enumerate(labels):
      cy, cx = 8 + 4 * k + rng.normal(0, 1), 14 + rng.normal(0, 2)
      images[i] = 255 * np.exp(-((yy - cy)**2 + (xx - cx)**2) / 30.0)
    images += rng.uniform(0, 20, images.shape)
    images = np.clip(images, 0, 255)
    if invert:
      images = 255 - images
    _write_idx(os.path.join(folder, f'{prefix}-images-idx3-ubyte.gz'),
               images.astype(np.uint8))
    _write_idx(os.path.join(folder, f'{prefix}-labels-idx1-ubyte.gz'),
               labels.astype(np.uint8))
  return folder


def make_model_dir(model_dir, config=None, step=7, seed=0):
  """A training directory holding an initialised, untrained tiny Glow."""
  config = config or tiny_config()
  checkpoints.save_config(model_dir, config)
  glow = glow_tf.Glow(config, seed=seed)
  x = tf.random.stateless_uniform([16, *config.image_shape], seed=[seed, 1])
  glow.initialize(x - 0.5)
  ckpt = tf.train.Checkpoint(step=tf.Variable(step, dtype=tf.int64),
                             model=glow)
  tf.train.CheckpointManager(ckpt, model_dir, max_to_keep=1).save()
  return model_dir


def run_binary(name, *args, timeout=300, as_script=False, check=True):
  """Runs `python -m experiments.<name> args...`; returns its output.

  With `as_script`, as `python experiments/<name>.py args...` instead. With
  `check=False` the exit status is not asserted and the
  `subprocess.CompletedProcess` is returned.
  """
  env = dict(os.environ, PYTHONPATH=REPO_ROOT, CUDA_VISIBLE_DEVICES='')
  if as_script:
    env.pop('PYTHONPATH')
    command = [sys.executable, os.path.join('experiments', f'{name}.py')]
  else:
    command = [sys.executable, '-m', f'experiments.{name}']
  result = subprocess.run(
      [*command, *map(str, args)],
      cwd=REPO_ROOT, env=env, capture_output=True, text=True,
      timeout=timeout, check=False)
  if not check:
    return result
  assert result.returncode == 0, (
      f'experiments.{name} failed ({result.returncode}):\n'
      f'{result.stdout}\n{result.stderr[-5000:]}')
  return result.stdout + result.stderr


def check_png(path, min_size=(20, 20)):
  """Asserts `path` is a readable PNG at least `min_size`; returns its size."""
  assert os.path.exists(path), f'{path} was not written'
  with Image.open(path) as image:
    assert image.format == 'PNG', f'{path} is a {image.format}, not a PNG'
    image.load()
    width, height = image.size
  assert width >= min_size[0] and height >= min_size[1], (path, image.size)
  return width, height


def read_json(path, keys=()):
  """Reads `path` and asserts the `keys` are present."""
  assert os.path.exists(path), f'{path} was not written'
  with open(path) as f:
    value = json.load(f)
  missing = [k for k in keys if k not in value]
  assert not missing, f'{path} lacks keys {missing}: {sorted(value)}'
  return value


def xla_compiled_functions(graph_def):
  """Names of the functions of `graph_def` that XLA must compile."""
  return sorted(f.signature.name for f in graph_def.library.function
                if f.attr['_XlaMustCompile'].b)
