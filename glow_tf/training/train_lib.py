"""Training and evaluation of Glow by maximum likelihood, under any strategy.

The objective is the negative log-likelihood in bits per dimension of the
dequantised images (see `glow_tf.images`), averaged over the global batch:

```
bpd(x) = -(log p(x) - D log(2**n_bits)) / (D log 2)
loss   = sum over the replica's images of bpd / global_batch_size
grads  = all_reduce_sum(d loss / d theta)          (identical on every replica)
skip the update when the loss or the gradients are not finite
theta  <- Adamax or Adam(grads, lr_t),  lr_t = lr * min(1, (t + 1) / warmup)
ema    <- decay_t * ema + (1 - decay_t) * theta    (glow_tf.training.ema)
```

`train` runs the whole loop on a `model_dir` (layout in
`glow_tf.training.checkpoints`): data-dependent initialisation once, resume
from the latest checkpoint, checkpoints every N steps, TensorBoard summaries
and a progress line. The library does not care which `tf.distribute`
strategy it runs under; `experiments/train.py` picks it.
"""

import dataclasses
import json
import math
import os
import time
from typing import Optional

from absl import logging
import numpy as np
import tensorflow as tf
import tf_keras

from glow_tf import data as data_lib
from glow_tf import images as images_lib
from glow_tf import memory
from glow_tf.config import GlowConfig
from glow_tf.glow import Glow
from glow_tf.training import checkpoints
from glow_tf.training import distribution
from glow_tf.training import ema as ema_lib
from glow_tf.training import initialization
from glow_tf.training import summaries

__all__ = ['TrainConfig', 'OPTIMIZERS', 'LinearWarmup', 'make_optimizer',
           'Trainer', 'NonFiniteLossError', 'train', 'evaluate',
           'steps_for_epochs', 'TRAIN_CONFIG_FILE', 'SUMMARY_DIR']

OPTIMIZERS = ('adamax', 'adam')
TRAIN_CONFIG_FILE = 'train_config.json'
SUMMARY_DIR = 'train'
_INIT_DATA_TAG = 2**31 - 1  # Seeds the initialisation batch's pipeline.


def _positive_int(value, name, allow_zero=False):
  if (isinstance(value, bool) or not isinstance(value, (int, np.integer))
      or value < (0 if allow_zero else 1)):
    kind = 'a non-negative' if allow_zero else 'a positive'
    raise ValueError(f'{name} must be {kind} int, got {value!r}.')
  return int(value)


def _positive_float(value, name):
  if (isinstance(value, bool) or not isinstance(value, (int, float))
      or not value > 0 or not math.isfinite(value)):
    raise ValueError(f'{name} must be a positive float, got {value!r}.')
  return float(value)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  """How to train (as opposed to `GlowConfig`, what to train).

  Attributes:
    batch_size: global batch size, split evenly between the replicas.
    train_steps: total number of steps (batches), counted across restarts.
    learning_rate: peak learning rate.
    warmup_steps: the learning rate grows linearly from `lr / warmup_steps`
      to `lr` over this many updates (0: no warm-up).
    optimizer: 'adamax' (the paper's) or 'adam'.
    clip_grad_norm: clip the global gradient norm to this value (None: off).
    ema_decay: decay of the parameter average kept in `ema_model` (0: off).
    init_batch_size: images in the batch of the data-dependent
      initialisation (rounded down to a multiple of the number of replicas).
    checkpoint_every: save a checkpoint every this many steps (and at the end).
    keep_checkpoints: the number of most recent checkpoints kept.
    log_every: a progress line every this many steps.
    summary_every: TensorBoard scalars every this many steps (0: never).
    sample_every: a grid of samples in TensorBoard every this many steps (0:
      never).
    num_samples: images in that grid.
    sample_temperature: temperature of those samples.
    max_consecutive_nonfinite: stop after this many non-finite steps in a row.
    random_flip: random horizontal flips of the training images.
    shuffle_buffer: size of the shuffle buffer of the training data.
    seed: seed of the initial weights, the data order and the noise.
    memory_saving: compute the gradient with
      `glow_tf.memory.memory_saving_log_prob`, which rebuilds each flow step's
      activations from its output instead of storing them: a step's memory
      stays flat in K, for about a fifth less speed (docs/performance.md).

  #### Examples

  ```python
  train_config = TrainConfig(batch_size=64, train_steps=20_000)
  quick = train_config.replace(train_steps=100, checkpoint_every=50)
  ```
  """
  batch_size: int = 64
  train_steps: int = 10_000
  learning_rate: float = 1e-3
  warmup_steps: int = 1000
  optimizer: str = 'adamax'
  clip_grad_norm: Optional[float] = None
  ema_decay: float = 0.999
  init_batch_size: int = 512
  checkpoint_every: int = 1000
  keep_checkpoints: int = 5
  log_every: int = 100
  summary_every: int = 100
  sample_every: int = 1000
  num_samples: int = 16
  sample_temperature: float = 0.7
  max_consecutive_nonfinite: int = 10
  random_flip: bool = False
  shuffle_buffer: int = 10_000
  seed: int = 0
  memory_saving: bool = False

  def __post_init__(self):
    for name in ('batch_size', 'train_steps', 'init_batch_size',
                 'checkpoint_every', 'keep_checkpoints', 'log_every',
                 'num_samples', 'max_consecutive_nonfinite', 'shuffle_buffer'):
      _positive_int(getattr(self, name), name)
    for name in ('warmup_steps', 'summary_every', 'sample_every', 'seed'):
      _positive_int(getattr(self, name), name, allow_zero=True)
    _positive_float(self.learning_rate, 'learning_rate')
    if self.optimizer not in OPTIMIZERS:
      raise ValueError(f'optimizer must be one of {list(OPTIMIZERS)}, got '
                       f'{self.optimizer!r}.')
    if self.clip_grad_norm is not None:
      _positive_float(self.clip_grad_norm, 'clip_grad_norm')
    if (isinstance(self.ema_decay, bool) or
        not isinstance(self.ema_decay, (int, float)) or
        not 0.0 <= self.ema_decay < 1.0):
      raise ValueError(
          f'ema_decay must be in [0, 1) (0 turns averaging off), got '
          f'{self.ema_decay!r}.')
    if (isinstance(self.sample_temperature, bool) or
        not isinstance(self.sample_temperature, (int, float)) or
        self.sample_temperature < 0):
      raise ValueError('sample_temperature must be >= 0, got '
                       f'{self.sample_temperature!r}.')
    for name in ('random_flip', 'memory_saving'):
      if not isinstance(getattr(self, name), bool):
        raise ValueError(
            f'{name} must be True or False, got {getattr(self, name)!r}.')

  def replace(self, **changes):
    """A copy with `changes` applied (and validated)."""
    return dataclasses.replace(self, **changes)


def steps_for_epochs(epochs, num_examples, batch_size):
  """`ceil(epochs * num_examples / batch_size)`: the steps of `epochs` passes."""
  _positive_float(epochs, 'epochs')
  _positive_int(num_examples, 'num_examples')
  _positive_int(batch_size, 'batch_size')
  return max(1, math.ceil(epochs * num_examples / batch_size))


class LinearWarmup(tf_keras.optimizers.schedules.LearningRateSchedule):
  """`lr_t = lr * min(1, (t + 1) / warmup_steps)`, then constant.

  #### Examples

  ```python
  schedule = LinearWarmup(1e-3, warmup_steps=1000)
  schedule(0)      # 1e-6
  schedule(999)    # 1e-3
  ```
  """

  def __init__(self, learning_rate, warmup_steps):
    super().__init__()
    self.learning_rate = _positive_float(learning_rate, 'learning_rate')
    self.warmup_steps = _positive_int(warmup_steps, 'warmup_steps',
                                      allow_zero=True)

  def __call__(self, step):
    step = tf.cast(step, tf.float32)
    if not self.warmup_steps:
      return tf.fill(tf.shape(step), self.learning_rate)
    return self.learning_rate * tf.minimum(
        1.0, (step + 1.0) / float(self.warmup_steps))

  def get_config(self):
    return {'learning_rate': self.learning_rate,
            'warmup_steps': self.warmup_steps}


def make_optimizer(train_config):
  """The tf_keras optimizer of `train_config`, with the warm-up schedule.

  #### Examples

  ```python
  optimizer = make_optimizer(TrainConfig(optimizer='adamax', warmup_steps=500))
  ```
  """
  schedule = LinearWarmup(train_config.learning_rate, train_config.warmup_steps)
  optimizer_cls = {'adamax': tf_keras.optimizers.Adamax,
                   'adam': tf_keras.optimizers.Adam}[train_config.optimizer]
  return optimizer_cls(learning_rate=schedule)


class NonFiniteLossError(RuntimeError):
  """Too many training steps in a row had a non-finite loss or gradient."""


def _bits_per_dim(model, batch, memory_saving=False):
  """Per-example bits/dim of a batch dict `{'image', 'label'}`.

  With `memory_saving`, through `glow_tf.memory.memory_saving_log_prob`
  (same value, a gradient that does not store the flow's activations).
  """
  config = model.config
  labels = batch['label'] if config.num_classes is not None else None
  if memory_saving:
    log_prob = memory.memory_saving_log_prob(model, batch['image'],
                                             labels=labels)
  else:
    log_prob = model.log_prob(batch['image'], labels=labels)
  return images_lib.bits_per_dim_from_log_prob(log_prob, config.num_dims,
                                               config.n_bits)


def _spec_of(value):
  return tf.nest.map_structure(tf.type_spec_from_value, value)


class Trainer:
  """The model, optimizer, step counter and EMA of one training run.

  Everything is built inside `strategy.scope()`. `train_step` is one
  compiled step (`tf.function` with the input signature of the first batch)
  run on every replica through `strategy.run`:

  ```
  per replica: loss = sum(bpd) / global_batch;  grads = all_reduce(d loss)
  everywhere:  if loss and grads are finite: optimizer update, EMA update
               step += 1
  ```

  The decision to skip is taken on all-reduced values, so every replica and
  every worker takes the same branch.

  #### Examples

  ```python
  trainer = Trainer(glow_tf.preset('fashion_mnist'), TrainConfig(), strategy)
  trainer.initialize(first_batch['image'])
  for batch in distributed_dataset:
    metrics = trainer.train_step(batch)   # {'loss', 'finite', ...}
  ```
  """

  def __init__(self, glow_config, train_config, strategy=None):
    """Builds the model, its average, the optimizer and the step counter.

    Args:
      glow_config: a `glow_tf.GlowConfig`.
      train_config: a `TrainConfig`.
      strategy: a `tf.distribute.Strategy`; default the current one.
    """
    if not isinstance(glow_config, GlowConfig):
      raise ValueError(
          f'glow_config must be a glow_tf.GlowConfig, got {glow_config!r}.')
    if not isinstance(train_config, TrainConfig):
      raise ValueError(
          f'train_config must be a TrainConfig, got {train_config!r}.')
    self.glow_config = glow_config
    self.train_config = train_config
    self.strategy = strategy or tf.distribute.get_strategy()
    with self.strategy.scope():
      self.model = Glow(glow_config, seed=train_config.seed)
      self.ema_model = (Glow(glow_config, seed=train_config.seed,
                             name='ema_glow')
                        if train_config.ema_decay > 0 else None)
      self.optimizer = make_optimizer(train_config)
      self.optimizer.build(self.model.trainable_variables)
      self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name='step')
    self._variables = list(self.model.trainable_variables)
    self.ema = (ema_lib.ExponentialMovingAverage(
        self.model, self.ema_model, train_config.ema_decay)
                if self.ema_model is not None else None)
    objects = dict(step=self.step, model=self.model, optimizer=self.optimizer)
    if self.ema_model is not None:
      objects['ema_model'] = self.ema_model
    self.checkpoint = tf.train.Checkpoint(**objects)
    self._compiled_step = None

  def initialize(self, images, per_replica=False):
    """Data-dependent initialisation (all-reduced over replicas), once.

    Args:
      images: model-space images `[N, H, W, C]` (N divisible by the number
        of replicas), split between the replicas here; or, with
        `per_replica`, each replica's share (an element of a distributed
        dataset).
      per_replica: whether `images` is already distributed.

    Returns:
      True if the model was initialised now, False if it already was.
    """
    done = initialization.initialize(self.model, self.strategy, images,
                                     per_replica=per_replica)
    if done and self.ema is not None:
      with self.strategy.scope():
        self.ema.reset()
      initialization.check_replicas_agree(self.strategy,
                                          self.ema_model.variables)
    return done

  def restore(self, model_dir):
    """Restores the latest checkpoint of `model_dir`; returns its step (or 0).

    A checkpoint without `ema_model` (averaging newly turned on) restores the
    rest and starts the average at the restored weights.

    Raises:
      checkpoints.CheckpointError: the checkpoint named in `model_dir`'s
        index is missing, unreadable or does not match this model.
    """
    prefix = tf.train.latest_checkpoint(model_dir)
    state = tf.train.get_checkpoint_state(model_dir)
    if prefix is None:
      if state is not None and state.model_checkpoint_path:
        raise checkpoints.CheckpointError(
            f'The checkpoint index in {model_dir!r} names '
            f'{state.model_checkpoint_path!r} but its files are missing. '
            'Restore the files, or delete the `checkpoint` file to start '
            'over from scratch.')
      return 0
    try:
      names = {name for name, _ in tf.train.list_variables(prefix)}
    except (tf.errors.OpError, ValueError) as e:
      raise checkpoints.CheckpointError(
          f'Cannot read checkpoint {prefix!r} (corrupt or truncated?): {e}. '
          'Delete it (and point the `checkpoint` index at an older one) or '
          'use a fresh model_dir.') from e
    has_ema = any(name.startswith('ema_model/') for name in names)
    checkpoint = self.checkpoint
    if self.ema_model is not None and not has_ema:
      checkpoint = tf.train.Checkpoint(step=self.step, model=self.model,
                                       optimizer=self.optimizer)
    try:
      status = checkpoint.restore(prefix)
      status.assert_existing_objects_matched()
      if has_ema and self.ema_model is None:
        status.expect_partial()
    except (tf.errors.OpError, AssertionError, ValueError) as e:
      raise checkpoints.CheckpointError(
          f'Checkpoint {prefix!r} is corrupt or does not match this model '
          f'and optimizer: {e}') from e
    if self.ema_model is not None and not has_ema:
      with self.strategy.scope():
        self.ema.reset()
    return int(self.step.numpy())

  def _replica_gradients(self, batch):
    context = tf.distribute.get_replica_context()
    with tf.GradientTape() as tape:
      bpd = _bits_per_dim(self.model, batch,
                          self.train_config.memory_saving)
      loss = tf.nn.compute_average_loss(bpd)
    grads = tape.gradient(loss, self._variables)
    grads = [tf.zeros_like(v) if g is None else g
             for g, v in zip(grads, self._variables)]
    loss, grads = context.all_reduce(tf.distribute.ReduceOp.SUM,
                                     [loss, grads])
    grad_norm = tf.linalg.global_norm(grads)
    finite = tf.math.is_finite(loss) & tf.math.is_finite(grad_norm)
    if self.train_config.clip_grad_norm is not None:
      grads, _ = tf.clip_by_global_norm(
          grads, self.train_config.clip_grad_norm, use_norm=grad_norm)
    return loss, grads, grad_norm, finite

  def _apply(self, grads):
    self.optimizer.apply_gradients(zip(grads, self._variables),
                                   skip_gradients_aggregation=True)

  def _step(self, batch):
    strategy = self.strategy
    loss, grads, grad_norm, finite = strategy.run(self._replica_gradients,
                                                  args=(batch,))
    first = lambda value: strategy.experimental_local_results(value)[0]
    finite = first(finite)
    learning_rate = self.optimizer.learning_rate

    def update():
      strategy.run(self._apply, args=(grads,))
      if self.ema is not None:
        with strategy.scope():
          self.ema.update(self.optimizer.iterations)
      return tf.constant(True)

    tf.cond(finite, update, lambda: tf.constant(False))
    self.step.assign_add(1)
    return {'loss': first(loss), 'grad_norm': first(grad_norm),
            'finite': finite, 'learning_rate': learning_rate,
            'step': self.step.read_value()}

  def train_step(self, batch):
    """One update on a (distributed) batch `{'image', 'label'}`.

    The step is compiled on the first call, with that batch's type as its
    fixed input signature.

    Args:
      batch: an element of a distributed dataset (`glow_tf.data.distribute`)
        or a value from `initialization.distribute_batch`.

    Returns:
      A dict of scalar tensors: `loss` (mean bits/dim of the global batch),
      `grad_norm` (before clipping), `finite` (False: the update was
      skipped), `learning_rate` (of this update) and `step` (after it).
    """
    if self._compiled_step is None:
      self._compiled_step = tf.function(self._step,
                                        input_signature=[_spec_of(batch)])
    return self._compiled_step(batch)


def _check_or_save_config(model_dir, glow_config, chief):
  path = os.path.join(model_dir, checkpoints.CONFIG_FILE)
  if tf.io.gfile.exists(path):
    saved = checkpoints.load_config(model_dir)
    if saved != glow_config:
      saved_fields, fields = (dataclasses.asdict(saved),
                              dataclasses.asdict(glow_config))
      diffs = ', '.join(f'{k}: {saved_fields[k]!r} (saved) != {fields[k]!r}'
                        for k in fields if saved_fields[k] != fields[k])
      raise checkpoints.CheckpointError(
          f'model_dir {model_dir!r} holds a different model ({diffs}). '
          'Resume with the same model flags, or train into a new model_dir.')
  elif chief:
    checkpoints.save_config(model_dir, glow_config)


def _run_seed(seed, start_step):
  """A data seed for a run that starts at `start_step` (no replayed batches)."""
  state = np.random.SeedSequence([seed, start_step]).generate_state(1)
  return int(state[0] & 0x7FFFFFFF)


class _Checkpointer:
  """Saves on every worker (as MultiWorkerMirroredStrategy needs); only the
  chief's copy stays."""

  def __init__(self, trainer, model_dir, keep):
    self._chief = distribution.is_chief(trainer.strategy)
    self._dir = distribution.worker_write_dir(model_dir, trainer.strategy)
    self._manager = tf.train.CheckpointManager(
        trainer.checkpoint, self._dir, max_to_keep=keep, checkpoint_name='ckpt')
    self.last_saved_step = None

  def save(self, step):
    path = self._manager.save(checkpoint_number=step)
    if not self._chief:
      tf.io.gfile.rmtree(self._dir)
      path = None
    self.last_saved_step = step
    return path


class _Window:
  """Running means between two progress lines."""

  def __init__(self, step):
    self.reset(step)

  def reset(self, step):
    self.start_step, self.start_time = step, time.monotonic()
    self.total, self.count = 0.0, 0

  def restart_clock(self, step):
    """Measures images/s from `step` on (e.g. after compiling)."""
    self.start_step, self.start_time = step, time.monotonic()

  def add(self, loss):
    self.total += loss
    self.count += 1

  def mean(self):
    return self.total / self.count if self.count else float('nan')

  def images_per_sec(self, step, batch_size):
    if step <= self.start_step:
      return 0.0
    elapsed = time.monotonic() - self.start_time
    return (step - self.start_step) * batch_size / max(elapsed, 1e-9)


def train(glow_config, train_config, model_dir, dataset_fn, strategy=None,
          time_budget_s=None):
  """Trains Glow in `model_dir`, resuming from its latest checkpoint.

  ```
  config.json checked (or written) -> restore the latest checkpoint, if any
  -> data-dependent init on init_batch_size images (only at step 0)
  -> loop: train_step, progress line, summaries, checkpoint every N steps
  -> final checkpoint (at train_steps, or when the time budget runs out)
  ```

  Rerunning the same call after an interruption continues from the latest
  checkpoint with the step counter, optimizer state and average intact.

  Args:
    glow_config: a `glow_tf.GlowConfig`. Class-conditional models
      (`num_classes`) are trained on the data's labels.
    train_config: a `TrainConfig`.
    model_dir: the training directory (see `glow_tf.training.checkpoints`).
    dataset_fn: `input_context -> tf.data.Dataset` of unbatched
      `{'image': uint8 [H, W, C], 'label'}` (e.g. from
      `glow_tf.data.load_dataset`); it is shuffled, repeated, batched per
      replica and dequantised here (`glow_tf.data.distribute`).
    strategy: a `tf.distribute.Strategy`; default the current one.
    time_budget_s: stop (with a checkpoint) once this many seconds have
      passed since the call; None: no limit.

  Returns:
    A dict: `step` (reached), `start_step`, `bits_per_dim` (mean over the
    last progress window), `images_per_sec`, `nonfinite_steps` (skipped in
    this call), `stop_reason` ('train_steps' or 'time_budget') and
    `checkpoint` (the last one written by this process, or None).

  Raises:
    checkpoints.CheckpointError: a corrupt checkpoint, or a `config.json`
      that differs from `glow_config`.
    NonFiniteLossError: `max_consecutive_nonfinite` steps in a row had a
      non-finite loss or gradient; nothing was saved after the last good
      checkpoint.
    glow_tf.data.DatasetNotFoundError: from `dataset_fn`.

  #### Examples

  ```python
  metrics = train(
      glow_tf.preset('fashion_mnist'), TrainConfig(train_steps=20_000),
      '/tmp/glow', lambda ctx: glow_tf.data.load_dataset('fashion_mnist',
                                                         'train'))
  ```
  """
  start_time = time.monotonic()
  if time_budget_s is not None:
    _positive_float(time_budget_s, 'time_budget_s')
  if not callable(dataset_fn):
    raise ValueError('dataset_fn must be a callable input_context -> '
                     f'tf.data.Dataset, got {type(dataset_fn).__name__}.')
  strategy = strategy or tf.distribute.get_strategy()
  chief = distribution.is_chief(strategy)
  num_replicas = strategy.num_replicas_in_sync
  if train_config.batch_size % num_replicas:
    raise ValueError(
        f'batch_size {train_config.batch_size} must be divisible by the '
        f'number of replicas ({num_replicas}).')
  _check_or_save_config(model_dir, glow_config, chief)
  if chief:
    with tf.io.gfile.GFile(os.path.join(model_dir, TRAIN_CONFIG_FILE),
                           'w') as f:
      json.dump(dataclasses.asdict(train_config), f, indent=2, sort_keys=True)

  trainer = Trainer(glow_config, train_config, strategy)
  start_step = trainer.restore(model_dir)
  checkpointer = _Checkpointer(trainer, model_dir,
                               train_config.keep_checkpoints)
  metrics = {'step': start_step, 'start_step': start_step,
             'bits_per_dim': float('nan'), 'images_per_sec': 0.0,
             'nonfinite_steps': 0, 'stop_reason': 'train_steps',
             'checkpoint': None}
  if start_step:
    logging.info('Resuming from step %d (%s); data-dependent init skipped.',
                 start_step, tf.train.latest_checkpoint(model_dir))
  if start_step >= train_config.train_steps:
    logging.info('Already trained to step %d >= train_steps %d.', start_step,
                 train_config.train_steps)
    return metrics

  pipeline_kwargs = dict(n_bits=glow_config.n_bits,
                         shuffle_buffer=train_config.shuffle_buffer,
                         random_flip=train_config.random_flip,
                         dtype=glow_config.dtype)
  if start_step == 0 and not initialization.is_initialized(trainer.model):
    init_size = max(num_replicas, train_config.init_batch_size
                    // num_replicas * num_replicas)
    init_data = data_lib.distribute(
        strategy, dataset_fn, init_size,
        seed=_run_seed(train_config.seed, _INIT_DATA_TAG), **pipeline_kwargs)
    logging.info('Data-dependent initialisation on %d images.', init_size)
    trainer.initialize(next(iter(init_data))['image'], per_replica=True)
    del init_data
  dataset = data_lib.distribute(
      strategy, dataset_fn, train_config.batch_size,
      seed=_run_seed(train_config.seed, start_step), **pipeline_kwargs)

  summary_dir = os.path.join(model_dir, SUMMARY_DIR)
  writer = (tf.summary.create_file_writer(summary_dir) if chief
            else tf.summary.create_noop_writer())
  sample_model = trainer.ema_model or trainer.model
  sample_labels = (tf.range(train_config.num_samples) % glow_config.num_classes
                   if glow_config.num_classes else None)
  sample_fn = tf.function(lambda: images_lib.to_uint8(sample_model.sample(
      train_config.num_samples, seed=[train_config.seed, 7],
      temperature=train_config.sample_temperature, labels=sample_labels),
                                                      glow_config.n_bits))
  multi_worker = distribution.num_workers(strategy) > 1
  # Workers must agree on when to stop: any worker over budget stops all.
  any_worker = tf.function(lambda flag: strategy.reduce(
      tf.distribute.ReduceOp.SUM, strategy.run(lambda: flag), axis=None) > 0)

  step, consecutive, skipped = start_step, 0, 0
  window = _Window(step)
  iterator = iter(dataset)
  try:
    while step < train_config.train_steps:
      out = trainer.train_step(next(iterator))
      step = int(out['step'])
      loss = float(out['loss'])
      if step == start_step + 1:
        window.restart_clock(step)  # Leaves the compilation out of images/s.
      if bool(out['finite']):
        consecutive = 0
        window.add(loss)
      else:
        consecutive += 1
        skipped += 1
        logging.warning(
            'Step %d: non-finite loss (%s) or gradient norm (%s); update '
            'skipped (%d in a row, %d in this run).', step, loss,
            float(out['grad_norm']), consecutive, skipped)
        if consecutive >= train_config.max_consecutive_nonfinite:
          raise NonFiniteLossError(
              f'{consecutive} steps in a row (to step {step}) had a '
              'non-finite loss or gradient; training stopped without saving. '
              'The last good checkpoint is '
              f'{tf.train.latest_checkpoint(model_dir)!r}. Lower the '
              'learning rate, clip the gradients (clip_grad_norm) or check '
              'the data.')
      if (chief and train_config.summary_every and
          step % train_config.summary_every == 0):
        with writer.as_default(step=step):
          summaries.scalar('loss', loss)
          summaries.scalar('bits_per_dim', window.mean())
          summaries.scalar('learning_rate', out['learning_rate'])
          summaries.scalar('grad_norm', out['grad_norm'])
          summaries.scalar('images_per_sec', window.images_per_sec(
              step, train_config.batch_size))
          summaries.scalar('nonfinite_steps', skipped)
      if step % train_config.log_every == 0 or (
          step == train_config.train_steps):
        images_per_sec = window.images_per_sec(step, train_config.batch_size)
        metrics.update(bits_per_dim=window.mean(),
                       images_per_sec=images_per_sec)
        logging.info(
            'step %d/%d  bits/dim %.4f  %.1f images/s  lr %.3g  '
            'skipped %d', step, train_config.train_steps, window.mean(),
            images_per_sec, float(out['learning_rate']), skipped)
        window.reset(step)
      if (chief and train_config.sample_every and
          step % train_config.sample_every == 0):
        with writer.as_default(step=step):
          summaries.image('samples', summaries.image_grid(sample_fn()))
      if step % train_config.checkpoint_every == 0:
        metrics['checkpoint'] = checkpointer.save(step)
      if time_budget_s is not None:
        over = time.monotonic() - start_time > time_budget_s
        if multi_worker:
          over = bool(any_worker(tf.constant(int(over))))
        if over and step < train_config.train_steps:
          metrics['stop_reason'] = 'time_budget'
          logging.info('Time budget of %.0f s used up at step %d.',
                       time_budget_s, step)
          break
    if checkpointer.last_saved_step != step:
      metrics['checkpoint'] = checkpointer.save(step)
  finally:
    writer.flush()
    writer.close()
  metrics.update(step=step, nonfinite_steps=skipped)
  logging.info('Stopped at step %d (%s); checkpoint %s.', step,
               metrics['stop_reason'], metrics['checkpoint'])
  return metrics


def evaluate(model, dataset, batch_size=256, seed=0, max_examples=None,
             log_every=10):
  """Bits per dimension of a data split under a trained model.

  Every image is dequantised once with noise seeded by `seed`, so the figure
  is reproducible and, averaged over the noise, an upper bound on the
  discrete negative log-likelihood (see `glow_tf.images`).

  Args:
    model: a `glow_tf.Glow` (e.g. from `checkpoints.restore_model`).
    dataset: a `tf.data.Dataset` of unbatched `{'image': uint8 [H, W, C],
      'label'}`, e.g. `glow_tf.data.load_dataset('fashion_mnist', 'test')`.
    batch_size: images per batch.
    seed: seed of the dequantisation noise.
    max_examples: evaluate only the first this many images (None: all).
    log_every: a progress line every this many batches.

  Returns:
    A dict: `bits_per_dim` (mean over the images), `bits_per_dim_std`,
    `num_examples`.

  Raises:
    ValueError: if the images do not have the model's shape, or the data set
      is empty.

  #### Examples

  ```python
  glow, step = checkpoints.restore_model('/tmp/glow')
  evaluate(glow, glow_tf.data.load_dataset('fashion_mnist', 'test'))
  ```
  """
  config = model.config
  _positive_int(batch_size, 'batch_size')
  image_spec = dataset.element_spec['image'] if isinstance(
      dataset.element_spec, dict) and 'image' in dataset.element_spec else None
  if image_spec is not None and tuple(image_spec.shape) != tuple(
      config.image_shape):
    raise ValueError(
        f'The data set has images of shape {tuple(image_spec.shape)} but the '
        f'model was trained on {tuple(config.image_shape)}.')
  if max_examples is not None:
    dataset = dataset.take(_positive_int(max_examples, 'max_examples'))
  total = int(dataset.cardinality())
  batches = data_lib.make_pipeline(dataset, batch_size, config.n_bits,
                                   training=False, seed=seed,
                                   dtype=config.dtype)

  @tf.function
  def batch_bits_per_dim(batch):
    return _bits_per_dim(model, batch)

  values, count, start = [], 0, time.monotonic()
  for i, batch in enumerate(batches):
    values.append(batch_bits_per_dim(batch).numpy().astype(np.float64))
    count += len(values[-1])
    if log_every and (i + 1) % log_every == 0:
      logging.info('evaluated %d%s images: %.4f bits/dim so far, %.1f '
                   'images/s', count, f'/{total}' if total > 0 else '',
                   np.mean(np.concatenate(values)),
                   count / max(time.monotonic() - start, 1e-9))
  if not count:
    raise ValueError('The data set to evaluate is empty.')
  bpd = np.concatenate(values)
  return {'bits_per_dim': float(np.mean(bpd)),
          'bits_per_dim_std': float(np.std(bpd)),
          'num_examples': int(count)}
