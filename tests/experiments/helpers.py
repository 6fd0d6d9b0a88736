"""Tiny models, fake IDX folders and a subprocess runner for the binaries' tests."""

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
from glow_tf.training import checkpoints

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def tiny_config(**overrides):
  """A 28x28 Glow small enough to run in a second."""
  config = glow_tf.GlowConfig(image_shape=(28, 28, 1), num_levels=2,
                              num_steps=1, hidden_channels=8)
  return config.replace(**overrides)


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


def run_binary(name, *args, timeout=300, as_script=False):
  """Runs `python -m experiments.<name> args...`; returns its output.

  With `as_script`, as `python experiments/<name>.py args...` instead.
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
