"""Tiny models and data for the training tests."""

import functools

import numpy as np
import tensorflow as tf

import glow_tf
from glow_tf import training


def tiny_config(**overrides):
  """A 28x28 Glow that trains a step in milliseconds."""
  return glow_tf.preset('fashion_mnist', num_levels=2, num_steps=1,
                        hidden_channels=8).replace(**overrides)


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
