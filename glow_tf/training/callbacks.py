"""`Callback`, and the pieces of `train` written as callbacks.

```
Callback         what train calls: on_train_begin, on_step_end, on_train_end
PreemptionSaver  multi-worker: a SIGTERM on any worker saves a checkpoint
Summaries        TensorBoard scalars and sample grids in model_dir/train/
OutlierBatchLog  names a step whose batch loss dwarfs the running mean
ProgressLog      the progress line every log_every steps
TimeBudget       stops the run once the time budget is used up
CheckpointSaver  a checkpoint every checkpoint_every steps, and at the end
```
`train` runs them after every step in this order, the caller's callbacks
after `PreemptionSaver`; they share the run's `RunState`
(`glow_tf.training.run_state`).
"""

import os

import tensorflow as tf

from glow_tf import images as images_lib
from glow_tf.training import checkpoints
from glow_tf.training import distribution
from glow_tf.training import summaries as summaries_lib
from glow_tf.training import workers

__all__ = ['Callback', 'PreemptionSaver', 'Summaries', 'OutlierBatchLog',
           'ProgressLog', 'TimeBudget', 'CheckpointSaver', 'SUMMARY_DIR']

SUMMARY_DIR = 'train'  # TensorBoard's folder in model_dir.


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


class CheckpointSaver(Callback):
  """Saves `ckpt-<step>` every `checkpoint_every` steps, and at the end.

  Each save first stores the seconds trained so far in the checkpoint (the
  time budget counts across restarts). No periodic save at a step where the
  budget is used up: the final one, after the loop, records the whole time.
  """

  def __init__(self, state, trainer, model_dir, strategy, train_config):
    self._state, self._trainer = state, trainer
    self._every = train_config.checkpoint_every
    self.checkpointer = checkpoints.Checkpointer(
        trainer.checkpoint, model_dir, strategy, train_config.keep_checkpoints)

  def save(self, step):
    """Saves the checkpoint of `step` (and the run's `state.checkpoint`)."""
    self._trainer.trained_seconds.assign(self._state.trained_seconds())
    self._state.checkpoint = self.checkpointer.save(step)

  def on_step_end(self, trainer, step, loss, finite):
    if step % self._every == 0 and not self._state.over_budget:
      self.save(step)

  def save_last(self):
    """Saves the step reached unless it was just saved."""
    if self.checkpointer.last_saved_step != self._state.step:
      self.save(self._state.step)


class PreemptionSaver(Callback):
  """Multi-worker: TensorFlow's preemption handler, asked after every step.

  A SIGTERM on any worker makes every worker save a checkpoint (with the
  seconds trained so far) and exit (`workers.preemption_handler`).
  """

  def __init__(self, state, handler):
    self._state, self._handler = state, handler

  @classmethod
  def make(cls, state, strategy, checkpointer, trainer, model_dir, log):
    """The saver of a multi-worker run, or None (one worker, or no handler)."""
    if distribution.num_workers(strategy) <= 1:
      return None
    handler = workers.preemption_handler(
        strategy, checkpointer.manager, trainer.restored_from, model_dir, log)
    return cls(state, handler) if handler is not None else None

  def on_step_end(self, trainer, step, loss, finite):
    trainer.trained_seconds.assign(self._state.trained_seconds())
    self._handler.save_checkpoint_if_preempted(checkpoint_number=step)


class Summaries(Callback):
  """TensorBoard scalars every `summary_every` steps, samples every `sample_every`.

  Scalars: `loss` (the step's), `bits_per_dim` (the progress window's mean),
  `learning_rate`, `grad_norm`, `images_per_sec`, `nonfinite_steps`; images:
  `samples`, a grid of `num_samples` samples of the averaged model (else the
  model) at `sample_temperature`. Only the chief writes, to
  `model_dir/train/`. `close()` flushes and closes the writer.
  """

  def __init__(self, state, trainer, model_dir, chief):
    self._state, self._chief = state, chief
    self._config = config = trainer.train_config
    self._writer = (
        tf.summary.create_file_writer(os.path.join(model_dir, SUMMARY_DIR))
        if chief else tf.summary.create_noop_writer())
    glow_config = trainer.glow_config
    sample_model = trainer.ema_model or trainer.model
    labels = (tf.range(config.num_samples) % glow_config.num_classes
              if glow_config.num_classes else None)
    # A conditional model's samples need contexts, which the training
    # data has and this callback does not: it writes no sample grid.
    self._sample = None if glow_config.conditional else tf.function(
        lambda: images_lib.to_uint8(sample_model.sample(
            config.num_samples, seed=[config.seed, 7],
            temperature=config.sample_temperature, labels=labels),
                                    glow_config.n_bits))

  def on_step_end(self, trainer, step, loss, finite):
    if not self._chief:
      return
    if self._config.summary_every and step % self._config.summary_every == 0:
      self._write_scalars(step, loss)
    if (self._sample is not None and self._config.sample_every and
        step % self._config.sample_every == 0):
      with self._writer.as_default(step=step):
        summaries_lib.image('samples',
                            summaries_lib.image_grid(self._sample()))

  def _write_scalars(self, step, loss):
    state, outputs = self._state, self._state.outputs
    with self._writer.as_default(step=step):
      summaries_lib.scalar('loss', loss)
      if state.meter.mean() is not None:
        summaries_lib.scalar('bits_per_dim', state.meter.mean())
      summaries_lib.scalar('learning_rate', outputs['learning_rate'])
      summaries_lib.scalar('grad_norm', outputs['grad_norm'])
      summaries_lib.scalar('images_per_sec',
                           state.meter.images_per_sec(step) or 0.0)
      summaries_lib.scalar('nonfinite_steps', state.skipped)

  def close(self):
    self._writer.flush()
    self._writer.close()


class OutlierBatchLog(Callback):
  """Names a step whose batch loss is far above the running loss.

  A batch can hold an image to which the model gives almost no density:
  under the Fashion-MNIST model shipped on 2026-12-07, a few training
  images with fine checkerboard patterns scored tens to thousands of
  bits/dim where the rest scored about 3. Such a batch's mean loss dwarfs
  the others', and one step turns the next progress line's mean into a
  figure that looks like a divergence. This piece logs the step instead,
  with its loss, the running mean and the gradient norm, and counts it in
  `state.outliers`; the run goes on (with `clip_grad_norm`, the update of
  that step stays bounded).

  The running mean is an exponential moving average of the finite steps'
  losses that leaves the outliers out.

  Args:
    state: the run's `RunState`.
    log: callable taking a line.
    factor: a loss above `factor` times the running mean is an outlier.
    min_steps: steps counted before any step is judged.
    decay: the moving average's decay per step.
  """

  def __init__(self, state, log, factor=2.0, min_steps=20, decay=0.99):
    if not factor > 1:
      raise ValueError(f'factor must be > 1, got {factor!r}.')
    self._state, self._log = state, log
    self._factor, self._min_steps, self._decay = factor, min_steps, decay
    self._mean, self._count = None, 0

  @property
  def running_mean(self):
    """The moving average of the losses so far (None before any)."""
    return self._mean

  def on_step_end(self, trainer, step, loss, finite):
    if not finite:
      return
    mean = self._mean
    if (mean is not None and mean > 0 and self._count >= self._min_steps
        and loss > self._factor * mean):
      self._state.outliers += 1
      grad_norm = self._state.outputs.get('grad_norm')
      self._log(
          f'Step {step}: an outlier batch, {loss:.6g} bits/dim against a '
          f'running mean of {mean:.4f} ({loss / mean:.3g} times'
          + ('' if grad_norm is None else
             f'; gradient norm {float(grad_norm):.3g}') +
          '). Some image in it has almost no density under the model; '
          'experiments/evaluate.py --split=train lists the worst-fitted '
          'images.')
      return
    self._mean = loss if mean is None else (
        self._decay * mean + (1.0 - self._decay) * loss)
    self._count += 1


class ProgressLog(Callback):
  """The progress line (`glow_tf.training.progress`) every `log_every` steps.

  Also at `train_steps`; each line starts a new window of the meter, whose
  mean becomes `state.bits_per_dim`.
  """

  def __init__(self, state, train_config, log):
    self._state, self._log = state, log
    self._every, self._last = train_config.log_every, train_config.train_steps

  def on_step_end(self, trainer, step, loss, finite):
    if step % self._every and step != self._last:
      return
    meter = self._state.meter
    self._log(meter.line(step, float(self._state.outputs['learning_rate']),
                         self._state.skipped))
    if meter.mean() is not None:
      self._state.bits_per_dim = meter.mean()
    meter.reset(step)


class TimeBudget(Callback):
  """Stops the run once `time_budget_s` seconds of training are used up.

  The seconds count across restarts of the same model_dir, from the end of
  each run's first (compiling) step (`RunState.trained_seconds`). On several
  workers, the workers agree at every step: any worker over the budget stops
  all. `fraction_used()` is the budget's share of the run's progress, which
  sets the learning-rate decay.
  """

  def __init__(self, state, train_config, strategy, log):
    self._state, self._log = state, log
    self._budget_s = train_config.time_budget_s
    self._last = train_config.train_steps
    self._any_worker = None
    if distribution.num_workers(strategy) > 1:
      self._any_worker = tf.function(lambda flag: strategy.reduce(
          tf.distribute.ReduceOp.SUM, strategy.run(lambda: flag),
          axis=None) > 0)

  def fraction_used(self):
    """The share of the budget used so far (above 1 once it is over)."""
    return self._state.trained_seconds() / self._budget_s

  def on_step_end(self, trainer, step, loss, finite):
    state = self._state
    if state.budget_end is None or step <= state.first_step:
      return
    over = state.budget_used_up()
    if self._any_worker is not None:
      over = bool(self._any_worker(tf.constant(int(over))))
    state.over_budget = over
    if over and step < self._last:
      state.stop_reason = 'time_budget'
      self._log(f'Time budget of {self._budget_s:g} s used up at step {step}.')

