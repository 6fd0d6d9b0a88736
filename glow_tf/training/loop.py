"""`train`: the one training loop of glow_tf, under any `tf.distribute` strategy.

```
config.json checked (or written) -> restore the newest intact checkpoint
-> data-dependent init on init_batch_size images (only at step 0)
-> callbacks.on_train_begin
-> loop: train_step, callbacks.on_step_end, progress line, summaries,
         checkpoint every N steps, stop at train_steps or the time budget
         (whose clock starts after the first, compiling, step)
-> final checkpoint, callbacks.on_train_end
```
Rerunning the same call after an interruption continues from the newest
intact checkpoint with the step counter, optimizer state and average intact.
`experiments/train.py`, the demo, the ablation and the benchmarks' training
runs all go through it; a curve measured during training is a callback
(`glow_tf.training.CurveEvaluation`).
"""

import os
import time

from absl import logging
import tensorflow as tf

from glow_tf import _checks
from glow_tf import _seeds
from glow_tf import data as data_lib
from glow_tf import images as images_lib
from glow_tf.training import checkpoints
from glow_tf.training import distribution
from glow_tf.training import initialization
from glow_tf.training import progress as progress_lib
from glow_tf.training import summaries
from glow_tf.training import workers
from glow_tf.training.trainer import NonFiniteLossError
from glow_tf.training.trainer import Trainer
from glow_tf.training.workers import WorkerLostError

__all__ = ['train', 'Callback', 'WorkerLostError', 'SUMMARY_DIR']

SUMMARY_DIR = 'train'
_INIT_DATA_TAG = 2**31 - 1  # Seeds the initialisation batch's pipeline.


class Callback:
  """What `train` calls along the way; subclass and override what you need.

  `on_train_begin(trainer, model_dir, step)` after the restore and the
  initialisation; `on_step_end(trainer, step, loss, finite)` after every
  step (`loss` a float, `finite` False when the update was skipped);
  `on_train_end(trainer, step)` after the final checkpoint.
  """

  def on_train_begin(self, trainer, model_dir, step):
    pass

  def on_step_end(self, trainer, step, loss, finite):
    pass

  def on_train_end(self, trainer, step):
    pass


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
    callbacks: `Callback`s (e.g. `CurveEvaluation`).
    log: callable taking a progress line (default absl's `logging.info`).

  Returns:
    A dict: `step` (reached), `start_step`, `bits_per_dim` (mean training
    loss over the last progress window; None if no step ran), `images_per_sec`
    (over the steps of this call, compilation left out; None if fewer than
    two steps ran), `train_step_seconds` (spent in training steps),
    `seconds` (the whole call), `setup_seconds` (from the call to the end
    of its first step: building, initialisation, compilation; absent if no
    step ran), `nonfinite_steps` (skipped in this call),
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
  time_budget_s = train_config.time_budget_s
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
  _checks.make_dirs(model_dir, 'model_dir')
  checkpoints.check_or_save_config(model_dir, glow_config, chief)
  changes = checkpoints.train_config_changes(model_dir, train_config)
  if chief:
    checkpoints.write_json(
        os.path.join(model_dir, checkpoints.TRAIN_CONFIG_FILE), train_config)

  trainer = Trainer(glow_config, train_config, strategy)
  start_step = trainer.restore(model_dir)
  checkpointer = checkpoints.Checkpointer(
      trainer.checkpoint, model_dir, strategy, train_config.keep_checkpoints)
  metrics = {'step': start_step, 'start_step': start_step,
             'bits_per_dim': None, 'images_per_sec': None,
             'train_step_seconds': 0.0, 'seconds': 0.0,
             'nonfinite_steps': 0, 'stop_reason': 'train_steps',
             'checkpoint': trainer.restored_from}
  if start_step:
    log(f'Resuming from step {start_step} ({trainer.restored_from}).')
    if changes:
      # Allowed (a longer run, another time budget), but a changed batch
      # size or learning rate changes the run: say so.
      log(f'Note: the training settings differ from the last run in '
          f'{model_dir}: {", ".join(changes)}.')
  trained_before = float(trainer.trained_seconds.numpy())
  done_by_time = (time_budget_s is not None and
                  trained_before >= time_budget_s)
  if start_step >= train_config.train_steps or done_by_time:
    limit = (f'time_budget_s is {time_budget_s:g}, {trained_before:.0f} s '
             'trained' if done_by_time else
             f'train_steps is {train_config.train_steps}')
    log(f'Already trained to step {start_step} ({limit}): nothing to do.')
    metrics.update(stop_reason='already_trained',
                   seconds=time.monotonic() - start_time)
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
        seed=_seeds.derive_seed(train_config.seed, _INIT_DATA_TAG),
        **pipeline_kwargs)
    log(f'Data-dependent initialisation on {init_size} images.')
    trainer.initialize(next(iter(init_data))['image'], per_replica=True)
    del init_data
  dataset = data_lib.distribute(
      strategy, dataset_fn, train_config.batch_size,
      seed=_seeds.derive_seed(train_config.seed, start_step),
      **pipeline_kwargs)
  for callback in callbacks:
    callback.on_train_begin(trainer, model_dir, start_step)

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
  preemption = workers.preemption_handler(
      strategy, checkpointer.manager, trainer.restored_from, model_dir,
      log) if multi_worker else None
  # Workers must agree on when to stop: any worker over budget stops all.
  any_worker = tf.function(lambda flag: strategy.reduce(
      tf.distribute.ReduceOp.SUM, strategy.run(lambda: flag), axis=None) > 0)
  # The budget's clock starts once the first step of this run is done:
  # building, the data-dependent initialisation and compiling the step are
  # not counted (they cost minutes for a deep model on a slow machine).
  clock_start = None
  budget_end = None
  # Workers agree on the progress that sets the learning rate: its mean.
  mean_over_workers = tf.function(lambda value: strategy.reduce(
      tf.distribute.ReduceOp.MEAN, strategy.run(lambda: value), axis=None))

  def trained_seconds():
    if clock_start is None:
      return trained_before
    return trained_before + time.monotonic() - clock_start

  def set_progress(step):
    progress = step / train_config.train_steps
    if time_budget_s is not None:
      progress = max(progress, trained_seconds() / time_budget_s)
    if multi_worker and train_config.lr_decay != 'none':
      progress = float(mean_over_workers(tf.constant(progress, tf.float32)))
    trainer.progress.assign(min(progress, 1.0))

  def save(step):
    trainer.trained_seconds.assign(trained_seconds())
    return checkpointer.save(step)

  step, consecutive, skipped = start_step, 0, 0
  progress = progress_lib.ProgressMeter(
      step, train_config.train_steps, train_config.batch_size,
      budget_end=None)  # Known after the first step (set_budget_end).
  rate_start = None  # (step, time) after the first, compiling, step.
  step_seconds = 0.0
  iterator = iter(dataset)
  try:
    while step < train_config.train_steps:
      set_progress(step)
      tick = time.monotonic()
      out = trainer.train_step(next(iterator))
      step, loss = int(out['step']), float(out['loss'])
      step_seconds += time.monotonic() - tick
      if rate_start is None:
        clock_start = time.monotonic()
        rate_start = (step, clock_start, step_seconds)
        if time_budget_s is not None:
          budget_end = clock_start + time_budget_s - trained_before
          progress.set_budget_end(budget_end)
        metrics['setup_seconds'] = clock_start - start_time
        progress.reset(step)  # Leaves the compilation out of images/s.
      finite = bool(out['finite'])
      if finite:
        consecutive = 0
        progress.add(loss)
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
              f'The last good checkpoint is {metrics["checkpoint"]!r}. Lower '
              'the learning rate, clip the gradients (clip_grad_norm) or '
              'check the data.')
      if preemption is not None:  # A SIGTERM on any worker: save, then exit.
        trainer.trained_seconds.assign(trained_seconds())
        preemption.save_checkpoint_if_preempted(checkpoint_number=step)
      for callback in callbacks:
        callback.on_step_end(trainer, step, loss, finite)
      if (chief and train_config.summary_every and
          step % train_config.summary_every == 0):
        with writer.as_default(step=step):
          summaries.scalar('loss', loss)
          if progress.mean() is not None:
            summaries.scalar('bits_per_dim', progress.mean())
          summaries.scalar('learning_rate', out['learning_rate'])
          summaries.scalar('grad_norm', out['grad_norm'])
          summaries.scalar('images_per_sec',
                           progress.images_per_sec(step) or 0.0)
          summaries.scalar('nonfinite_steps', skipped)
      if step % train_config.log_every == 0 or (
          step == train_config.train_steps):
        log(progress.line(step, float(out['learning_rate']), skipped))
        if progress.mean() is not None:
          metrics['bits_per_dim'] = progress.mean()
        progress.reset(step)
      if (chief and train_config.sample_every and
          step % train_config.sample_every == 0):
        with writer.as_default(step=step):
          summaries.image('samples', summaries.image_grid(sample_fn()))
      over = False
      if budget_end is not None and step > rate_start[0]:
        over = time.monotonic() > budget_end
        if multi_worker:
          over = bool(any_worker(tf.constant(int(over))))
      # Over budget, the checkpoint after the loop records the whole time.
      if step % train_config.checkpoint_every == 0 and not over:
        metrics['checkpoint'] = save(step)
      if over and step < train_config.train_steps:
        metrics['stop_reason'] = 'time_budget'
        log(f'Time budget of {time_budget_s:g} s used up at step {step}.')
        break
    if progress.mean() is not None:
      metrics['bits_per_dim'] = progress.mean()
    if checkpointer.last_saved_step != step:
      metrics['checkpoint'] = save(step)
  except tf.errors.OpError as e:
    if multi_worker and workers.is_lost_worker(e):
      raise workers.worker_lost_error(e, model_dir) from e
    raise
  finally:
    writer.flush()
    writer.close()
  for callback in callbacks:
    callback.on_train_end(trainer, step)
  if rate_start is not None and step > rate_start[0]:
    metrics['images_per_sec'] = ((step - rate_start[0]) *
                                 train_config.batch_size /
                                 max(step_seconds - rate_start[2], 1e-9))
  metrics.update(step=step, nonfinite_steps=skipped,
                 train_step_seconds=step_seconds,
                 seconds=time.monotonic() - start_time)
  log(f'Stopped at step {step} ({metrics["stop_reason"]}); checkpoint '
      f'{metrics["checkpoint"]}.')
  return metrics
