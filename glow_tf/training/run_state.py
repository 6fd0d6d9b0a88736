"""`RunState`: what one call of `train` and its pieces share about the run.

```
step              the step reached, and the last step's outputs
trained_seconds   seconds trained in model_dir: the earlier runs' (from the
                  checkpoint) plus this run's, whose clock starts at the end
                  of its first (compiling) step
budget_end        when the time budget runs out (a clock value), once known
meter             the progress line's window (means, images/s)
skipped           updates skipped (non-finite loss or gradient), in a row too
checkpoint        the last checkpoint written (or the one resumed from)
stop_reason       'train_steps', or 'time_budget' when a piece stopped the run
```
The loop (`glow_tf.training.loop`) updates it after every step; the pieces
(`glow_tf.training.callbacks`) read it and set `checkpoint`, `bits_per_dim`,
`over_budget` and `stop_reason`.
"""

import time

from glow_tf.training import progress as progress_lib

__all__ = ['RunState']


class RunState:
  """The state of one call of `train`, shared by the loop and its pieces.

  Args:
    start_step: the step the call resumed at (0 for a new run).
    train_config: the run's `TrainConfig`.
    trained_before: seconds trained in earlier runs (saved in the checkpoint).
    checkpoint: the checkpoint resumed from, or None.
    clock: the time source (`time.monotonic`).
  """

  def __init__(self, start_step, train_config, trained_before, checkpoint,
               clock=time.monotonic):
    self.start_step = self.step = start_step
    self.time_budget_s = train_config.time_budget_s
    self.trained_before = trained_before
    self.checkpoint = checkpoint
    self.meter = progress_lib.ProgressMeter(
        start_step, train_config.train_steps, train_config.batch_size,
        budget_end=None, clock=clock)  # Known after the first step.
    self.outputs = {}  # The last `Trainer.train_step` values.
    self.loss, self.finite = None, True
    self.skipped = self.consecutive = 0
    self.outliers = 0  # Outlier batches (`callbacks.OutlierBatchLog`).
    self.step_seconds = 0.0  # Spent in training steps.
    self.clock_start = self.budget_end = None
    self.first_step = self.first_step_seconds = None
    self.bits_per_dim = None  # Mean loss of the last progress window.
    self.over_budget = False
    self.stop_reason = 'train_steps'
    self.clock = clock  # The time source of every time above.

  @property
  def stopped(self):
    """Whether a piece ended the run before `train_steps`."""
    return self.stop_reason != 'train_steps'

  def trained_seconds(self):
    """Seconds trained in the model_dir, this run's up to now included."""
    if self.clock_start is None:
      return self.trained_before
    return self.trained_before + self.clock() - self.clock_start

  def budget_used_up(self):
    """Whether the time budget has run out (False before the clock starts)."""
    return self.budget_end is not None and self.clock() > self.budget_end

  def end_step(self, outputs, tick):
    """Records one `train_step`'s outputs; it started at clock value `tick`."""
    self.outputs = outputs
    self.step, self.loss = int(outputs['step']), float(outputs['loss'])
    self.step_seconds += self.clock() - tick
    self.finite = bool(outputs['finite'])
    if self.clock_start is None:
      self._start_clock()
    if self.finite:
      self.consecutive = 0
      self.meter.add(self.loss)
    else:
      self.consecutive += 1
      self.skipped += 1

  def _start_clock(self):
    # The budget's clock starts once the first step of this run is done:
    # building, the data-dependent initialisation and compiling the step are
    # not counted (they cost minutes for a deep model on a slow machine).
    self.clock_start = self.clock()
    self.first_step, self.first_step_seconds = self.step, self.step_seconds
    if self.time_budget_s is not None:
      self.budget_end = (self.clock_start + self.time_budget_s -
                         self.trained_before)
      self.meter.set_budget_end(self.budget_end)
    self.meter.reset(self.step)  # Leaves the compilation out of images/s.

  def images_per_sec(self, batch_size):
    """Images per second of the steps after the first, None without any."""
    if self.first_step is None or self.step <= self.first_step:
      return None
    return ((self.step - self.first_step) * batch_size /
            max(self.step_seconds - self.first_step_seconds, 1e-9))
