"""The `tf.data` input pipeline from uint8 images to batches in model space.

```
{'image': uint8 [H, W, C], 'label': int64}        (e.g. from load_dataset)
  -> shuffle -> repeat -> batch
  -> random horizontal flip (training only, optional)
  -> x = dequantize(image, n_bits)                 (glow_tf.images.dequantize)
  -> {'image': float32 [B, H, W, C] in [-0.5, 0.5], 'label': int64 [B]}
  -> prefetch
```

A `'context'` in the examples (a conditional model's, e.g. from
`glow_tf.data.contexts.with_context`) is batched beside the image, cast to
the images' dtype, and flipped with its image when it is image-shaped.

All randomness (shuffle order, flips, dequantisation noise) follows from
`seed` when one is given: batch `t` uses stateless keys folded from
`(seed, t)`, so two pipelines with the same seed give the same batches.
`distribute` builds one such pipeline per input pipeline of a
`tf.distribute.Strategy`.
"""

import numpy as np
import tensorflow as tf

from glow_tf import _checks
from glow_tf import _seeds
from glow_tf import images as images_lib

__all__ = ['make_pipeline', 'distribute']

_DEFAULT_SHUFFLE_BUFFER = 10_000
_UNLABELLED = -1


def _check_seed(seed):
  if seed is None:
    return None
  if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
    raise ValueError(f'seed must be an int or None, got {seed!r}.')
  return int(seed)


def _check_element_spec(dataset):
  if not isinstance(dataset, tf.data.Dataset):
    raise ValueError(
        f'dataset must be a tf.data.Dataset, got {type(dataset).__name__}.')
  spec = dataset.element_spec
  if not isinstance(spec, dict) or 'image' not in spec:
    raise ValueError(
        "dataset elements must be dicts with an 'image' (and optionally a "
        f"'label'), as load_dataset gives; got element_spec {spec!r}.")
  image_spec = spec['image']
  if image_spec.dtype != tf.uint8 or image_spec.shape.rank != 3:
    raise ValueError(
        "dataset 'image' must be uint8 of shape [H, W, C], got "
        f'{image_spec.dtype.name} of shape {image_spec.shape}.')
  if 'label' in spec and not spec['label'].dtype.is_integer:
    raise ValueError(
        f"dataset 'label' must be an integer, got {spec['label'].dtype.name}.")
  if 'context' in spec and not spec['context'].dtype.is_floating:
    raise ValueError("dataset 'context' must be floats, got "
                     f"{spec['context'].dtype.name}.")


def _image_and_label(example):
  if 'label' in example:
    label = tf.cast(example['label'], tf.int64)
  else:
    label = tf.constant(_UNLABELLED, tf.int64)
  out = {'image': example['image'], 'label': label}
  if 'context' in example:
    out['context'] = example['context']
  return out


def _random_flip_left_right(images, key):
  """Flips each image of a `[B, H, W, C]` batch with probability 1/2.

  The draws depend on `key` and the batch size only: the same key flips a
  batch of contexts `[B, h, w, c]` the same way.
  """
  flip = tf.random.stateless_uniform(tf.shape(images)[:1], seed=key) < 0.5
  return tf.where(flip[:, tf.newaxis, tf.newaxis, tf.newaxis],
                  tf.reverse(images, axis=[2]), images)


def make_pipeline(dataset, batch_size, n_bits, training=True,
                  shuffle_buffer=_DEFAULT_SHUFFLE_BUFFER, random_flip=False,
                  seed=None, repeat=None, drop_remainder=None, noise=True,
                  dtype=tf.float32):
  """Batches uint8 images into dequantised model-space images.

  ```
  x = (floor(image / 2**(8 - n_bits)) + u) / 2**n_bits - 0.5,  u ~ U[0, 1)
  ```

  Args:
    dataset: a `tf.data.Dataset` of `{'image': uint8 [H, W, C], 'label':
      int}` (other keys are dropped; a missing label becomes -1), e.g. from
      `load_dataset`.
    batch_size: positive int, examples per batch.
    n_bits: colour depth kept, 1..8.
    training: if True, shuffles, and by default repeats forever and drops the
      last partial batch; if False, keeps the order, a single pass and every
      example.
    shuffle_buffer: positive int, size of the shuffle buffer (training only).
    random_flip: if True and `training`, flips each image left-right with
      probability 1/2 (Glow's augmentation for CIFAR-10 and ImageNet).
    seed: optional int making shuffling, flips and noise reproducible; None
      draws a fresh seed.
    repeat: repeat forever; defaults to `training`.
    drop_remainder: drop a last partial batch; defaults to `training`.
    noise: if False, uses bin centres (`u = 0.5`) instead of uniform noise.
    dtype: float dtype of the images.

  Returns:
    A prefetched `tf.data.Dataset` of dicts `{'image': dtype [B, H, W, C] in
    [-0.5, 0.5], 'label': int64 [B]}`.

  Raises:
    ValueError: if `dataset` does not hold uint8 `'image'` dicts, or an
      argument is out of range; the message names the argument.

  #### Examples

  ```python
  train = make_pipeline(load_dataset('fashion_mnist', 'train'),
                        batch_size=64, n_bits=5, seed=0)
  batch = next(iter(train))   # batch['image']: float32 [64, 28, 28, 1]
  ```
  """
  _check_element_spec(dataset)
  batch_size = _checks.positive_int(batch_size, 'batch_size')
  n_bits = images_lib.check_n_bits(n_bits)
  shuffle_buffer = _checks.positive_int(shuffle_buffer, 'shuffle_buffer')
  seed = _check_seed(seed)
  _check_bools(training=training, random_flip=random_flip, noise=noise)
  dtype = _check_float_dtype(dtype)
  repeat = training if repeat is None else bool(repeat)
  drop_remainder = training if drop_remainder is None else bool(
      drop_remainder)

  dataset = dataset.map(_image_and_label,
                        num_parallel_calls=tf.data.AUTOTUNE)
  if training:
    dataset = dataset.shuffle(shuffle_buffer, seed=seed,
                              reshuffle_each_iteration=True)
  if repeat:
    dataset = dataset.repeat()
  dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
  to_model_space = _batch_to_model_space(
      _base_key(seed), n_bits, flip=random_flip and training, noise=noise,
      dtype=dtype)
  dataset = dataset.enumerate().map(to_model_space,
                                    num_parallel_calls=tf.data.AUTOTUNE)
  return dataset.prefetch(tf.data.AUTOTUNE)


def _check_bools(**flags):
  for name, flag in flags.items():
    if not isinstance(flag, bool):
      raise ValueError(f'{name} must be a bool, got {flag!r}.')


def _check_float_dtype(dtype):
  dtype = tf.as_dtype(dtype)
  if not dtype.is_floating:
    raise ValueError(f'dtype must be a float dtype, got {dtype.name}.')
  return dtype


def _base_key(seed):
  """The stateless key `[0, seed]` of a pipeline; a fresh seed for None."""
  base_seed = (int(np.random.default_rng().integers(2**31 - 1))
               if seed is None else seed)
  return tf.constant([0, base_seed], tf.int64)


def _batch_to_model_space(base_key, n_bits, flip, noise, dtype):
  """`(t, batch) -> batch` in model space: flipped, dequantised with key t.

  Batch `t`'s key is `fold_in(base_key, t)`; its flips use `fold_in(key,
  1)`, its dequantisation noise `fold_in(key, 0)`.
  """

  def to_model_space(step, batch):
    key = tf.random.experimental.stateless_fold_in(base_key, step)
    images = batch['image']
    context = batch.get('context')
    if flip:
      flip_key = tf.random.experimental.stateless_fold_in(key, 1)
      images = _random_flip_left_right(images, flip_key)
      if context is not None and context.shape.rank == 4:
        context = _random_flip_left_right(context, flip_key)
    noise_key = tf.random.experimental.stateless_fold_in(key, 0)
    x = images_lib.dequantize(images, n_bits, seed=noise_key, dtype=dtype,
                              noise=noise)
    out = {'image': x, 'label': batch['label']}
    if context is not None:
      out['context'] = tf.cast(context, dtype)
    return out

  return to_model_space


def _pipeline_seed(seed, pipeline_id):
  """A distinct, reproducible seed for each input pipeline."""
  return None if seed is None else _seeds.derive_seed(seed, pipeline_id)


def distribute(strategy, dataset_fn, global_batch_size, n_bits, seed=None,
               shard=True, options=None, **pipeline_kwargs):
  """Builds one `make_pipeline` per input pipeline of a distribution strategy.

  Uses `strategy.distribute_datasets_from_function`: for each input pipeline,
  `dataset_fn(input_context)` gives the unbatched source data, which is
  sharded by `input_context.input_pipeline_id` when there are several input
  pipelines (and `shard`), then batched with the per-replica batch size
  `input_context.get_per_replica_batch_size(global_batch_size)`.

  Args:
    strategy: a `tf.distribute.Strategy`.
    dataset_fn: callable `input_context -> tf.data.Dataset` of unbatched
      `{'image': uint8, 'label'}` dicts, e.g.
      `lambda ctx: load_dataset('cifar10', 'train', data_dir=...)`.
    global_batch_size: positive int, divisible by
      `strategy.num_replicas_in_sync`.
    n_bits: colour depth kept, 1..8.
    seed: optional int; each input pipeline gets its own seed derived from it.
    shard: if False, `dataset_fn` is trusted to shard by itself.
    options: optional `tf.distribute.InputOptions`.
    **pipeline_kwargs: further `make_pipeline` arguments (`training`,
      `random_flip`, `shuffle_buffer`, ...).

  Returns:
    A `tf.distribute.DistributedDataset` whose elements are per-replica
    `{'image': [global_batch_size / num_replicas, H, W, C], 'label'}` dicts.

  Raises:
    ValueError: if `global_batch_size` is not a positive multiple of the
      number of replicas, or `dataset_fn` is not callable.

  #### Examples

  ```python
  strategy = tf.distribute.MirroredStrategy()
  train = distribute(strategy, lambda ctx: load_dataset('cifar10', 'train'),
                     global_batch_size=256, n_bits=8, random_flip=True)
  for batch in train:
    strategy.run(train_step, args=(batch,))
  ```
  """
  global_batch_size = _checks.positive_int(global_batch_size,
                                           'global_batch_size')
  num_replicas = strategy.num_replicas_in_sync
  if global_batch_size % num_replicas:
    raise ValueError(
        f'global_batch_size must be divisible by the number of replicas '
        f'({num_replicas}), got {global_batch_size}.')
  if not callable(dataset_fn):
    raise ValueError(
        'dataset_fn must be a callable input_context -> tf.data.Dataset, got '
        f'{type(dataset_fn).__name__}.')
  images_lib.check_n_bits(n_bits)
  seed = _check_seed(seed)

  def pipeline_fn(input_context):
    batch_size = input_context.get_per_replica_batch_size(global_batch_size)
    dataset = dataset_fn(input_context)
    if shard and input_context.num_input_pipelines > 1:
      dataset = dataset.shard(input_context.num_input_pipelines,
                              input_context.input_pipeline_id)
    return make_pipeline(
        dataset, batch_size, n_bits,
        seed=_pipeline_seed(seed, input_context.input_pipeline_id),
        **pipeline_kwargs)

  return strategy.distribute_datasets_from_function(pipeline_fn,
                                                    options=options)
