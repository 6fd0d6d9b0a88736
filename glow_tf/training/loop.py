"""`train`: the one training loop of glow_tf, under any `tf.distribute` strategy.

```
config.json checked (or written) -> restore the newest intact checkpoint
-> data-dependent init on init_batch_size images, or the weights of
   train_config.init_from (only at step 0)
-> callbacks.on_train_begin
-> loop: train_step, then after every step the pieces, in order
         (glow_tf.training.callbacks): PreemptionSaver, the caller's
         callbacks, Summaries, OutlierBatchLog, ProgressLog, TimeBudget
         (whose clock starts after the first, compiling, step),
         CheckpointSaver;
         until train_steps or the time budget
-> final checkpoint, callbacks.on_train_end
```
Rerunning the same call after an interruption continues from the newest
intact checkpoint with the step counter, optimizer state and average intact.
`experiments/train.py`, the demo, the ablation and the benchmarks' training
runs all go through it; a curve measured during training is a callback
(`glow_tf.training.CurveEvaluation`).
"""

import collections
import os
import time

from absl import logging
import tensorflow as tf

from glow_tf import _files
from glow_tf import _seeds
from glow_tf import data as data_lib
from glow_tf import pretrained_models
from glow_tf.training import callbacks as callbacks_lib
from glow_tf.training import checkpoints
from glow_tf.training import distribution
from glow_tf.training import initialization
from glow_tf.training import workers
from glow_tf.training.run_state import RunState
from glow_tf.training.trainer import NonFiniteLossError
from glow_tf.training.trainer import Trainer

__all__ = ['train']

_INIT_DATA_TAG = 2**31 - 1  # Seeds the initialisation batch's pipeline.


def train(glow_config, train_config, model_dir, dataset_fn, strategy=None,
          callbacks=(), log=None):
  """Trains Glow in `model_dir`, resuming from its newest intact checkpoint.

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
    callbacks: `Callback`s (e.g. `CurveEvaluation`), run after every step
      between the preemption saver and the summaries (module docstring).
    log: callable taking a progress line (default absl's `logging.info`).

  Returns:
    A dict: `step` (reached), `start_step`, `bits_per_dim` (mean training
    loss over the last progress window; None if no step ran), `images_per_sec`
    (over the steps of this call, compilation left out; None if fewer than
    two steps ran), `train_step_seconds` (spent in training steps),
    `seconds` (the whole call), `setup_seconds` (from the call to the end
    of its first step: building, initialisation, compilation; absent if no
    step ran), `nonfinite_steps` (skipped in this call), `outlier_steps`
    (batches whose loss dwarfed the running mean: `OutlierBatchLog`),
    `stop_reason` ('train_steps', 'time_budget' or 'already_trained') and
    `checkpoint` (the last one written by this process, or None).

  Raises:
    checkpoints.CheckpointError: no intact checkpoint, or a `config.json`
      that differs from `glow_config`.
    NonFiniteLossError: `max_consecutive_nonfinite` steps in a row had a
      non-finite loss or gradient; nothing was saved after the last good
      checkpoint.
    WorkerLostError: a worker of a multi-worker cluster was lost.
    glow_tf.data.DatasetNotFoundError: from `dataset_fn`.

  #### Examples

  ```python
  metrics = train(
      glow_tf.preset('fashion_mnist'), TrainConfig(train_steps=20_000),
      '/tmp/glow', lambda ctx: glow_tf.data.load_dataset('fashion_mnist',
                                                         'train'),
      log=print)
  ```
  """
  start_time = time.monotonic()
  log = log or logging.info
  strategy = strategy or tf.distribute.get_strategy()
  changes = _prepare_model_dir(model_dir, glow_config, train_config,
                               dataset_fn, strategy)
  trainer = Trainer(glow_config, train_config, strategy)
  start_step = trainer.restore(model_dir)
  state = RunState(start_step, train_config,
                   float(trainer.trained_seconds.numpy()),
                   trainer.restored_from)
  if start_step:
    _log_resume(log, state, model_dir, changes)
  if _already_trained(state, train_config, log):
    state.stop_reason = 'already_trained'
    return _metrics(state, train_config, start_time)
  dataset = _training_data(trainer, dataset_fn, start_step, log)
  for callback in callbacks:
    callback.on_train_begin(trainer, model_dir, start_step)
  pieces = _make_pieces(trainer, state, model_dir, callbacks, log)
  _run(trainer, dataset, state, pieces, model_dir)
  for callback in callbacks:
    callback.on_train_end(trainer, state.step)
  metrics = _metrics(state, train_config, start_time)
  log(f'Stopped at step {state.step} ({state.stop_reason}); checkpoint '
      f'{state.checkpoint}.')
  return metrics


def _prepare_model_dir(model_dir, glow_config, train_config, dataset_fn,
                       strategy):
  """Checks the arguments, checks or writes the configs; returns the changes.

  The changes are the `TrainConfig` fields that differ from the last run's
  (`checkpoints.train_config_changes`).
  """
  if not callable(dataset_fn):
    raise ValueError('dataset_fn must be a callable input_context -> '
                     f'tf.data.Dataset, got {type(dataset_fn).__name__}.')
  num_replicas = strategy.num_replicas_in_sync
  if train_config.batch_size % num_replicas:
    raise ValueError(
        f'batch_size {train_config.batch_size} must be divisible by the '
        f'number of replicas ({num_replicas}).')
  chief = distribution.is_chief(strategy)
  _files.make_dirs(model_dir, 'model_dir')
  checkpoints.check_or_save_config(model_dir, glow_config, chief)
  changes = checkpoints.train_config_changes(model_dir, train_config)
  if chief:
    checkpoints.write_json(
        os.path.join(model_dir, checkpoints.TRAIN_CONFIG_FILE), train_config)
  return changes


def _log_resume(log, state, model_dir, changes):
  log(f'Resuming from step {state.start_step} ({state.checkpoint}).')
  if changes:
    # Allowed (a longer run, another time budget), but a changed batch
    # size or learning rate changes the run: say so.
    log(f'Note: the training settings differ from the last run in '
        f'{model_dir}: {", ".join(changes)}.')


def _already_trained(state, train_config, log):
  """Whether the run is over before it starts (steps or budget); says so."""
  time_budget_s = train_config.time_budget_s
  done_by_time = (time_budget_s is not None and
                  state.trained_before >= time_budget_s)
  if state.start_step < train_config.train_steps and not done_by_time:
    return False
  limit = (f'time_budget_s is {time_budget_s:g}, {state.trained_before:.0f} s '
           'trained' if done_by_time else
           f'train_steps is {train_config.train_steps}')
  log(f'Already trained to step {state.start_step} ({limit}): nothing to do.')
  return True


def _training_data(trainer, dataset_fn, start_step, log):
  """Initialises a new model; returns the distributed training data.

  A new model starts from `train_config.init_from`'s weights, or else from
  the data-dependent initialisation on its own batch.

  The data's order is seeded by the step it starts at, so a resumed run
  does not see the same images again first.
  """
  glow_config, train_config = trainer.glow_config, trainer.train_config
  strategy = trainer.strategy
  pipeline_kwargs = dict(n_bits=glow_config.n_bits,
                         shuffle_buffer=train_config.shuffle_buffer,
                         random_flip=train_config.random_flip,
                         dtype=glow_config.dtype)
  fresh = start_step == 0 and not initialization.is_initialized(trainer.model)
  if fresh and train_config.init_from is not None:
    log(f'Starting from the weights of {train_config.init_from!r} (no '
        'data-dependent initialisation).')
    trainer.warm_start(
        pretrained_models.load_named_or_saved(train_config.init_from))
  elif fresh:
    num_replicas = strategy.num_replicas_in_sync
    init_size = max(num_replicas, train_config.init_batch_size
                    // num_replicas * num_replicas)
    init_data = data_lib.distribute(
        strategy, dataset_fn, init_size,
        seed=_seeds.derive_seed(train_config.seed, _INIT_DATA_TAG),
        **pipeline_kwargs)
    log(f'Data-dependent initialisation on {init_size} images.')
    init_batch = next(iter(init_data))
    trainer.initialize(init_batch['image'], per_replica=True,
                       context=init_batch.get('context'))
    del init_data
  return data_lib.distribute(
      strategy, dataset_fn, train_config.batch_size,
      seed=_seeds.derive_seed(train_config.seed, start_step),
      **pipeline_kwargs)


# The pieces run after every step, in order (`on_step_end`), and the three
# the loop also calls itself: the checkpoints (the final one), the
# summaries (closed in the end) and the budget (the learning-rate decay).
_Pieces = collections.namedtuple(
    '_Pieces', ['in_order', 'checkpoints', 'summaries', 'budget'])


def _make_pieces(trainer, state, model_dir, callbacks, log):
  train_config, strategy = trainer.train_config, trainer.strategy
  saver = callbacks_lib.CheckpointSaver(state, trainer, model_dir, strategy,
                                    train_config)
  preemption = callbacks_lib.PreemptionSaver.make(
      state, strategy, saver.checkpointer, trainer, model_dir, log)
  summaries = callbacks_lib.Summaries(state, trainer, model_dir,
                                      distribution.is_chief(strategy))
  budget = (callbacks_lib.TimeBudget(state, train_config, strategy, log)
            if train_config.time_budget_s is not None else None)
  in_order = [preemption, *callbacks, summaries,
              callbacks_lib.OutlierBatchLog(state, log),
              callbacks_lib.ProgressLog(state, train_config, log), budget,
              saver]
  return _Pieces([piece for piece in in_order if piece is not None], saver,
                 summaries, budget)


class _LearningRateProgress:
  """Sets `trainer.progress`, the run's progress in [0, 1], before a step.

  The learning-rate decay reads it: the larger of `step / train_steps` and
  the time budget's share used. Workers agree on it: its mean over them.
  """

  def __init__(self, trainer, state, budget):
    self._trainer, self._state, self._budget = trainer, state, budget
    self._steps = trainer.train_config.train_steps
    strategy = trainer.strategy
    self._mean_over_workers = None
    if (distribution.num_workers(strategy) > 1 and
        trainer.train_config.lr_decay != 'none'):
      self._mean_over_workers = tf.function(lambda value: strategy.reduce(
          tf.distribute.ReduceOp.MEAN, strategy.run(lambda: value),
          axis=None))

  def update(self):
    progress = self._state.step / self._steps
    if self._budget is not None:
      progress = max(progress, self._budget.fraction_used())
    if self._mean_over_workers is not None:
      progress = float(self._mean_over_workers(
          tf.constant(progress, tf.float32)))
    self._trainer.progress.assign(min(progress, 1.0))


def _run(trainer, dataset, state, pieces, model_dir):
  """The steps and the final checkpoint; a lost worker is named."""
  try:
    _train_steps(trainer, dataset, state, pieces)
    if state.meter.mean() is not None:
      state.bits_per_dim = state.meter.mean()
    pieces.checkpoints.save_last()
  except tf.errors.OpError as e:
    if (distribution.num_workers(trainer.strategy) > 1 and
        workers.is_lost_worker(e)):
      raise workers.worker_lost_error(e, model_dir) from e
    raise
  finally:
    pieces.summaries.close()


def _train_steps(trainer, dataset, state, pieces):
  """Steps until `train_steps`, or until a piece stops the run."""
  train_config = trainer.train_config
  learning_rate_progress = _LearningRateProgress(trainer, state, pieces.budget)
  iterator = iter(dataset)
  while state.step < train_config.train_steps and not state.stopped:
    learning_rate_progress.update()
    tick = state.clock()
    outputs = trainer.train_step(next(iterator))
    state.end_step(outputs, tick)
    if not state.finite:
      _skipped_update(state, train_config)
    for piece in pieces.in_order:
      piece.on_step_end(trainer, state.step, state.loss, state.finite)


def _skipped_update(state, train_config):
  """Warns of a skipped update; raises after too many in a row."""
  logging.warning(
      'Step %d: non-finite loss (%s) or gradient norm (%s); update skipped '
      '(%d in a row, %d in this run).', state.step, state.loss,
      float(state.outputs['grad_norm']), state.consecutive, state.skipped)
  if state.consecutive >= train_config.max_consecutive_nonfinite:
    raise NonFiniteLossError(
        f'{state.consecutive} steps in a row (to step {state.step}) had a '
        'non-finite loss or gradient; training stopped without saving. '
        f'The last good checkpoint is {state.checkpoint!r}. Lower the '
        'learning rate, clip the gradients (clip_grad_norm) or check the '
        'data.')


def _metrics(state, train_config, start_time):
  """The dict `train` returns (see its docstring)."""
  metrics = {'step': state.step, 'start_step': state.start_step,
             'bits_per_dim': state.bits_per_dim,
             'images_per_sec': state.images_per_sec(train_config.batch_size),
             'train_step_seconds': state.step_seconds,
             'seconds': time.monotonic() - start_time,
             'nonfinite_steps': state.skipped,
             'outlier_steps': state.outliers,
             'stop_reason': state.stop_reason,
             'checkpoint': state.checkpoint}
  if state.clock_start is not None:
    metrics['setup_seconds'] = state.clock_start - start_time
  return metrics
