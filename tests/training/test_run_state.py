"""Tests of glow_tf.training.run_state: the clock, the budget, the counters."""

import pytest

from glow_tf import training
from glow_tf.training import run_state


class _Clock:
  """A clock the test moves by hand."""

  def __init__(self):
    self.now = 1000.0

  def __call__(self):
    return self.now


def _outputs(step, loss=3.0, finite=True):
  return {'step': step, 'loss': loss, 'finite': finite, 'grad_norm': 1.0,
          'learning_rate': 1e-3}


def _state(clock, start_step=10, trained_before=30.0, time_budget_s=100.0):
  config = training.TrainConfig(batch_size=4, train_steps=1000,
                                time_budget_s=time_budget_s)
  return run_state.RunState(start_step, config, trained_before,
                            checkpoint='ckpt-10', clock=clock)


def test_the_clock_starts_after_the_first_step_and_counts_earlier_runs():
  clock = _Clock()
  state = _state(clock)
  assert state.trained_seconds() == 30.0 and state.budget_end is None
  clock.now += 50.0  # Setup and compilation: not counted.
  tick = clock.now
  clock.now += 20.0  # The first, compiling, step.
  state.end_step(_outputs(11), tick)
  assert state.trained_seconds() == 30.0
  assert state.first_step == 11 and state.step_seconds == 20.0
  # 100 s of budget, 30 used before: it runs out 70 s from now.
  assert state.budget_end == clock.now + 70.0
  assert state.meter.budget_seconds_left() == 70.0
  clock.now += 69.0
  assert state.trained_seconds() == pytest.approx(99.0)
  assert not state.budget_used_up()
  clock.now += 2.0
  assert state.budget_used_up()


def test_images_per_sec_leaves_out_the_first_step():
  clock = _Clock()
  state = _state(clock, time_budget_s=None)
  for step, seconds in ((11, 20.0), (12, 0.5), (13, 0.5)):
    tick = clock.now
    clock.now += seconds
    state.end_step(_outputs(step), tick)
  assert state.images_per_sec(batch_size=4) == pytest.approx(8.0)  # 2x4 in 1s
  # The window's mean has the first step's loss (only its time is left out).
  assert state.meter.count == 3
  assert state.budget_end is None and not state.budget_used_up()


def test_non_finite_steps_are_counted_in_a_row_and_in_all():
  clock = _Clock()
  state = _state(clock)
  for step, finite in ((11, True), (12, False), (13, False), (14, True),
                       (15, False)):
    state.end_step(_outputs(step, finite=finite), clock.now)
  assert state.skipped == 3 and state.consecutive == 1 and not state.finite
  assert state.meter.count == 2  # Steps 11 and 14.
  assert state.stop_reason == 'train_steps' and not state.stopped
