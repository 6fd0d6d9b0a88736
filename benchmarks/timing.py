"""Interleaved timing rounds: every contender in turn, so drift hits all alike."""

import time

import numpy as np
import tensorflow as tf

__all__ = ['fetch', 'rate_and_speedup', 'speedup_range', 'time_interleaved']


def time_interleaved(contenders, rounds=5, calls_per_round=3, warmup=1):
  """Seconds per call of each contender, measured in interleaved rounds.

  Args:
    contenders: dict `name -> callable()` returning a tensor (or structure).
    rounds: number of rounds; in each, every contender makes
      `calls_per_round` calls in turn.
    calls_per_round: calls timed together (the result of the last is fetched).
    warmup: untimed calls of each contender first (compilation).

  Returns:
    dict `name -> [seconds per call, one per round]`.
  """
  for fn in contenders.values():
    for _ in range(warmup):
      fetch(fn())
  times = {name: [] for name in contenders}
  for _ in range(rounds):
    for name, fn in contenders.items():
      start = time.perf_counter()
      for _ in range(calls_per_round):
        out = fn()
      fetch(out)
      times[name].append((time.perf_counter() - start) / calls_per_round)
  return times


def fetch(structure):
  """Waits for every tensor of a call's result (its `numpy()` value)."""
  for t in tf.nest.flatten(structure):
    if hasattr(t, 'numpy'):
      t.numpy()


def rate_and_speedup(glow_tf_seconds, contender_seconds, batch_size):
  """Median images/s of both, and the median of the per-round ratios.

  `glow_tf_seconds` and `contender_seconds` are the seconds per call of
  each round (`time_interleaved`); the ratio is the contender's time over
  glow_tf's, glow_tf's speed-up.
  """
  glow_tf_seconds = np.asarray(glow_tf_seconds)
  contender_seconds = np.asarray(contender_seconds)
  return (float(np.median(batch_size / glow_tf_seconds)),
          float(np.median(batch_size / contender_seconds)),
          float(np.median(contender_seconds / glow_tf_seconds)))


def speedup_range(glow_tf_seconds, contender_seconds):
  """The lowest and highest per-round speed-up, as floats.

  The speed-up of a round is `contender_seconds / glow_tf_seconds`.

  The median (`rate_and_speedup`) is the figure; the range shows how far
  single rounds of the same run strayed from it, e.g. when the shared
  machine slowed down for the rounds of one contender only.
  """
  ratios = np.asarray(contender_seconds) / np.asarray(glow_tf_seconds)
  return float(ratios.min()), float(ratios.max())
