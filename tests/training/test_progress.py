"""Tests of glow_tf.training.progress: the means, rates and the line."""

import pytest

from glow_tf.training import progress


class _Clock:
  """A clock the test moves by hand."""

  def __init__(self):
    self.now = 100.0

  def __call__(self):
    return self.now


@pytest.mark.parametrize('seconds, text', [
    (0, '0:00'), (59.4, '0:59'), (59.6, '1:00'), (75, '1:15'),
    (3599, '59:59'), (3600, '1:00:00'), (3725, '1:02:05'), (-3, '0:00')])
def test_format_duration(seconds, text):
  assert progress.format_duration(seconds) == text


def test_means_and_rate_cover_the_window_since_the_reset():
  clock = _Clock()
  meter = progress.ProgressMeter(10, 1000, batch_size=64, budget_end=None,
                                 clock=clock)
  assert meter.mean() is None and meter.images_per_sec(10) is None
  for loss in (4.0, 3.0, 2.0):
    meter.add(loss)
  clock.now += 2.0
  assert meter.mean() == pytest.approx(3.0)
  # 3 steps of 64 images in 2 s.
  assert meter.images_per_sec(13) == pytest.approx(96.0)
  # 987 steps left at 1.5 steps/s.
  assert meter.seconds_left(13) == pytest.approx(987 * 64 / 96.0)
  meter.reset(13)
  assert meter.mean() is None and meter.images_per_sec(13) is None


def test_time_left_is_capped_by_the_budget():
  clock = _Clock()
  meter = progress.ProgressMeter(0, 10**6, batch_size=1, budget_end=130.0,
                                 clock=clock)
  clock.now += 10.0
  assert meter.seconds_left(10) == pytest.approx(20.0)
  clock.now += 30.0  # Past the end of the budget: nothing left, not < 0.
  assert meter.seconds_left(10) == 0.0


def test_the_line_has_no_field_without_a_value():
  clock = _Clock()
  meter = progress.ProgressMeter(0, 100, batch_size=8, budget_end=None,
                                 clock=clock)
  first = meter.line(0, 1e-3, skipped=0)
  assert first == 'step 0/100  lr 0.001'
  meter.add(3.25)
  clock.now += 1.0
  line = meter.line(4, 5e-4, skipped=2)
  assert line == ('step 4/100  bits/dim 3.2500  32.0 images/s  0:24 left  '
                  'lr 0.0005  2 skipped')
  assert 'nan' not in line


def test_a_run_bounded_by_its_budget_shows_the_budget_left_not_a_total():
  # The demo's case: a million steps that the budget never lets it reach.
  clock = _Clock()
  meter = progress.ProgressMeter(0, 1_000_000, batch_size=64,
                                 budget_end=clock.now + 810.0, clock=clock)
  meter.add(3.5)
  clock.now += 10.0  # 100 steps of 64 images in 10 s: 640 images/s.
  line = meter.line(100, 1e-3, skipped=0)
  assert line == ('step 100  bits/dim 3.5000  640.0 images/s  '
                  '13:20 of budget left  lr 0.001')
  assert '/1000000' not in line


def test_a_run_bounded_by_its_steps_shows_the_total_within_a_budget():
  # 10 steps left at 10 steps/s: 1 s, well within the 800 s of budget left.
  clock = _Clock()
  meter = progress.ProgressMeter(0, 110, batch_size=64,
                                 budget_end=clock.now + 810.0, clock=clock)
  meter.add(3.5)
  clock.now += 10.0
  assert not meter.budget_bounds(100)
  assert meter.line(100, 1e-3, skipped=0) == (
      'step 100/110  bits/dim 3.5000  640.0 images/s  0:01 left  lr 0.001')
