"""The progress line of `train`: step, bits/dim, images/s, time left, lr.

When `train_steps` ends the run, the step and the time to reach it:
```
step 1200/20000  bits/dim 3.9120  512.3 images/s  39:10 left  lr 0.001
```
When a time budget ends it first (at the current rate), the step alone and
the time left of the budget:
```
step 1200  bits/dim 3.9120  512.3 images/s  13:20 of budget left  lr 0.001
```
Means cover the steps since the last line; the first, compiling, step is
left out of images/s by a `reset` after it. No field is printed that has no
value yet (never `nan`).
"""

import time

__all__ = ['ProgressMeter', 'format_duration']


def format_duration(seconds):
  """`'M:SS'`, or `'H:MM:SS'` from an hour on.

  >>> format_duration(75), format_duration(3725)
  ('1:15', '1:02:05')
  """
  minutes, seconds = divmod(int(round(max(0.0, seconds))), 60)
  hours, minutes = divmod(minutes, 60)
  return f'{hours}:{minutes:02d}:{seconds:02d}' if hours else (
      f'{minutes}:{seconds:02d}')


class ProgressMeter:
  """Running means between two progress lines, and the line itself.

  Args:
    step: the step the meter starts at.
    train_steps: the step training stops at.
    batch_size: images per step (global).
    budget_end: `time.monotonic()` value at which the time budget runs out,
      or None; the time left is the smaller of the steps' and the budget's.
    clock: the time source (tests pass a fake one).

  #### Examples

  ```python
  meter = ProgressMeter(step=0, train_steps=100, batch_size=64,
                        budget_end=None)
  meter.add(4.2)
  print(meter.line(step=1, learning_rate=1e-3, skipped=0))
  ```
  """

  def __init__(self, step, train_steps, batch_size, budget_end,
               clock=time.monotonic):
    self._train_steps, self._batch_size = train_steps, batch_size
    self._budget_end, self._clock = budget_end, clock
    self.reset(step)

  def set_budget_end(self, budget_end):
    """Sets when the time budget runs out (a `clock()` value, or None)."""
    self._budget_end = budget_end

  def reset(self, step):
    """Starts a new window at `step` (means and images/s restart)."""
    self.start_step, self.start_time = step, self._clock()
    self.total, self.count = 0.0, 0

  def add(self, loss):
    """Counts one finite step's loss (bits/dim)."""
    self.total += loss
    self.count += 1

  def mean(self):
    """Mean loss of the window, None before the first `add`."""
    return self.total / self.count if self.count else None

  def images_per_sec(self, step):
    """Images per second since the window began, None before any step."""
    elapsed = self._clock() - self.start_time
    if step <= self.start_step or elapsed <= 0:
      return None
    return (step - self.start_step) * self._batch_size / elapsed

  def budget_seconds_left(self):
    """Time left of the budget (never < 0), None without a budget."""
    if self._budget_end is None:
      return None
    return max(0.0, self._budget_end - self._clock())

  def _seconds_to_last_step(self, step):
    rate = self.images_per_sec(step)
    if not rate:
      return None
    return (self._train_steps - step) * self._batch_size / rate

  def seconds_left(self, step):
    """Time to `train_steps` at the window's rate, capped by the budget."""
    left = self._seconds_to_last_step(step)
    budget_left = self.budget_seconds_left()
    if left is None or budget_left is None:
      return left
    return min(left, budget_left)

  def budget_bounds(self, step):
    """Whether the budget runs out before `train_steps` at the window's rate."""
    to_last_step = self._seconds_to_last_step(step)
    budget_left = self.budget_seconds_left()
    return (to_last_step is not None and budget_left is not None and
            budget_left < to_last_step)

  def line(self, step, learning_rate, skipped):
    """The progress line at `step` (see the module docstring)."""
    by_budget = self.budget_bounds(step)
    parts = [f'step {step}' if by_budget else
             f'step {step}/{self._train_steps}']
    mean, rate = self.mean(), self.images_per_sec(step)
    if mean is not None:
      parts.append(f'bits/dim {mean:.4f}')
    if rate:
      parts.append(f'{rate:.1f} images/s')
      if by_budget:
        parts.append(
            f'{format_duration(self.budget_seconds_left())} of budget left')
      else:
        parts.append(f'{format_duration(self.seconds_left(step))} left')
    parts.append(f'lr {learning_rate:.3g}')
    if skipped:
      parts.append(f'{skipped} skipped')
    return '  '.join(parts)
