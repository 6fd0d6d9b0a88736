"""Tests of benchmarks.timing: interleaved rounds and their medians.

The clock is a fake one that only the contenders move, so the seconds are
exact; no real timing is asserted.
"""

import types

import pytest

from benchmarks import timing


class _Clock:
  """A `perf_counter` that stands still until someone spends time."""

  def __init__(self):
    self.now = 0.0

  def perf_counter(self):
    return self.now


class _Output:
  """A contender's result; fetching it (`.numpy()`) costs `fetch_seconds`."""

  def __init__(self, log, clock, label, fetch_seconds):
    self._log, self._clock = log, clock
    self._label, self._fetch_seconds = label, fetch_seconds

  def numpy(self):
    self._log.append(('fetch', self._label))
    self._clock.now += self._fetch_seconds


def _contender(name, seconds, log, clock, fetch_seconds=0.0,
               structure=False):
  """A callable that logs `(name, call number)` and takes `seconds`."""
  calls = []

  def call():
    calls.append(None)
    label = f'{name}{len(calls)}'
    log.append(('call', label))
    clock.now += seconds
    out = _Output(log, clock, label, fetch_seconds)
    # A structure: every tensor-like leaf is fetched, other leaves skipped.
    return {'loss': out, 'step': 3} if structure else out

  return call


@pytest.fixture
def clock(monkeypatch):
  fake = _Clock()
  monkeypatch.setattr(timing, 'time',
                      types.SimpleNamespace(perf_counter=fake.perf_counter))
  return fake


def test_rounds_interleave_the_contenders(clock):
  log = []
  contenders = {'a': _contender('a', 0.5, log, clock),
                'b': _contender('b', 2.0, log, clock, structure=True)}
  times = timing.time_interleaved(contenders, rounds=3, calls_per_round=2,
                                  warmup=1)
  assert list(times) == ['a', 'b']
  assert times == {'a': [0.5, 0.5, 0.5], 'b': [2.0, 2.0, 2.0]}
  # Warm-up calls first, each fetched; then in each round every contender
  # makes its calls in turn, and only a round's last result is fetched.
  expected = [('call', 'a1'), ('fetch', 'a1'), ('call', 'b1'), ('fetch', 'b1')]
  count = {'a': 1, 'b': 1}
  for _ in range(3):
    for name in ('a', 'b'):
      for _ in range(2):
        count[name] += 1
        expected.append(('call', f'{name}{count[name]}'))
      expected.append(('fetch', f'{name}{count[name]}'))
  assert log == expected


def test_the_fetch_is_timed_and_shared_by_the_calls_of_a_round(clock):
  log = []
  contenders = {'slow_fetch': _contender('s', 1.0, log, clock,
                                         fetch_seconds=2.0)}
  times = timing.time_interleaved(contenders, rounds=2, calls_per_round=4,
                                  warmup=0)
  # (4 calls of 1 s + one fetch of 2 s) / 4 calls.
  assert times == {'slow_fetch': [1.5, 1.5]}
  assert [entry for entry in log if entry[0] == 'fetch'] == [
      ('fetch', 's4'), ('fetch', 's8')]


def test_warmup_calls_are_not_timed(clock):
  log = []
  contenders = {'a': _contender('a', 1.0, log, clock)}
  times = timing.time_interleaved(contenders, rounds=1, calls_per_round=1,
                                  warmup=3)
  assert times == {'a': [1.0]}
  assert [entry for entry in log if entry[0] == 'call'] == [
      ('call', f'a{i}') for i in range(1, 5)]


def test_rate_and_speedup_take_medians_per_round():
  # Per-round rates at batch 4: glow_tf [4, 4, 1], the contender [4/3, 4, 2].
  glow_tf_rate, contender_rate, speedup = timing.rate_and_speedup(
      [1.0, 1.0, 4.0], [3.0, 1.0, 2.0], 4)
  assert (glow_tf_rate, contender_rate) == (4.0, 2.0)
  # The median of the per-round ratios of the contender's time to
  # glow_tf's, [3, 1, 0.5], not the ratio of the median rates (2).
  assert speedup == 1.0
  assert all(type(v) is float
             for v in (glow_tf_rate, contender_rate, speedup))
  # An even number of rounds: the mean of the middle two.
  assert timing.rate_and_speedup([1.0, 2.0, 4.0, 8.0], [2.0] * 4, 4) == (
      1.5, 2.0, 0.75)


def test_speedup_range_is_the_lowest_and_highest_round():
  # Per-round ratios of the contender's time to glow_tf's: [3, 1, 0.5].
  low, high = timing.speedup_range([1.0, 1.0, 4.0], [3.0, 1.0, 2.0])
  assert (low, high) == (0.5, 3.0)
  assert type(low) is float and type(high) is float
