"""Tests of glow_tf.training.callbacks: the loop's pieces, one at a time.

They run on a `RunState` with a clock the test moves, so each piece's rule
is checked at the step it applies; `tests/training/test_loop.py` checks
them together in real runs.
"""

import os
import types

import pytest
import tensorflow as tf

from glow_tf import training
from glow_tf.training import callbacks
from glow_tf.training import run_state
from tests import fixtures

_SECONDS = 'trained_seconds/.ATTRIBUTES/VARIABLE_VALUE'


class _Clock:

  def __init__(self):
    self.now = 1000.0

  def __call__(self):
    return self.now


def _config(**overrides):
  return training.TrainConfig(batch_size=4, **overrides)


def _step(state, pieces, step, clock, seconds=1.0, loss=3.0):
  """One step of `seconds`, then the pieces, as the loop runs them."""
  tick = clock.now
  clock.now += seconds
  state.end_step({'step': step, 'loss': loss, 'finite': True,
                  'grad_norm': 2.0, 'learning_rate': 1e-3}, tick)
  for piece in pieces:
    piece.on_step_end(None, step, loss, True)


def _fake_trainer():
  """What `CheckpointSaver` uses of a `Trainer`: its checkpoint and seconds."""
  trained_seconds = tf.Variable(0.0, dtype=tf.float64)
  return types.SimpleNamespace(
      trained_seconds=trained_seconds,
      checkpoint=tf.train.Checkpoint(trained_seconds=trained_seconds))


def test_time_budget_stops_and_the_last_checkpoint_records_the_whole_time(
    tmp_path):
  clock, lines = _Clock(), []
  config = _config(train_steps=100, time_budget_s=10.0, checkpoint_every=2)
  state = run_state.RunState(0, config, 0.0, None, clock=clock)
  budget = callbacks.TimeBudget(state, config, tf.distribute.get_strategy(),
                                lines.append)
  saver = callbacks.CheckpointSaver(state, _fake_trainer(), str(tmp_path),
                                tf.distribute.get_strategy(), config)
  _step(state, [budget, saver], 1, clock, seconds=30.0)  # Compiling: free.
  _step(state, [budget, saver], 2, clock, seconds=4.0)
  assert fixtures.checkpoint_steps(str(tmp_path)) == [2]
  assert budget.fraction_used() == pytest.approx(0.4)
  _step(state, [budget, saver], 3, clock, seconds=4.0)
  assert not state.stopped
  _step(state, [budget, saver], 4, clock, seconds=4.0)  # 12 s > 10 s.
  assert state.over_budget and state.stop_reason == 'time_budget'
  assert lines == ['Time budget of 10 s used up at step 4.']
  # No periodic checkpoint at an over-budget step: the last one has it all.
  assert fixtures.checkpoint_steps(str(tmp_path)) == [2]
  saver.save_last()
  saver.save_last()  # Saved already: nothing new.
  assert fixtures.checkpoint_steps(str(tmp_path)) == [2, 4]
  assert state.checkpoint == os.path.join(str(tmp_path), 'ckpt-4')
  assert tf.train.load_variable(state.checkpoint, _SECONDS) == (
      pytest.approx(12.0))


def test_a_budget_used_up_at_the_last_step_is_no_early_stop():
  clock = _Clock()
  config = _config(train_steps=3, time_budget_s=1.0)
  state = run_state.RunState(0, config, 0.0, None, clock=clock)
  budget = callbacks.TimeBudget(state, config, tf.distribute.get_strategy(),
                                print)
  for step, seconds in ((1, 2.0), (2, 0.5), (3, 2.0)):
    _step(state, [budget], step, clock, seconds=seconds)
    assert not state.stopped
  assert state.over_budget and state.stop_reason == 'train_steps'


def test_progress_log_writes_every_log_every_steps_and_at_the_end():
  clock, lines = _Clock(), []
  config = _config(train_steps=7, log_every=3)
  state = run_state.RunState(0, config, 0.0, None, clock=clock)
  log = callbacks.ProgressLog(state, config, lines.append)
  for step in range(1, 8):
    _step(state, [log], step, clock, loss=float(step))
  assert [line.split('  ')[0] for line in lines] == [
      'step 3/7', 'step 6/7', 'step 7/7']
  assert state.bits_per_dim == 7.0  # The last window: step 7 alone.
  assert 'bits/dim 5.0000' in lines[1]  # Steps 4, 5, 6.


def _scalar_tags(summary_dir):
  tags = []
  for name in sorted(os.listdir(summary_dir)):
    for record in tf.data.TFRecordDataset(os.path.join(summary_dir, name)):
      event = tf.compat.v1.Event.FromString(record.numpy())
      tags += [(event.step, value.tag) for value in event.summary.value]
  return tags


@pytest.mark.parametrize('chief', [True, False])
def test_summaries_write_scalars_every_summary_every_steps_on_the_chief(
    tmp_path, chief):
  clock = _Clock()
  config = _config(train_steps=5, summary_every=2, sample_every=0)
  state = run_state.RunState(0, config, 0.0, None, clock=clock)
  trainer = types.SimpleNamespace(
      train_config=config, glow_config=fixtures.tiny_config(),
      model=None, ema_model=None)
  summaries = callbacks.Summaries(state, trainer, str(tmp_path), chief)
  for step in range(1, 6):
    _step(state, [summaries], step, clock)
  summaries.close()
  summary_dir = os.path.join(str(tmp_path), callbacks.SUMMARY_DIR)
  if not chief:
    assert not os.path.exists(summary_dir)
    return
  tags = _scalar_tags(summary_dir)
  assert sorted({step for step, _ in tags}) == [2, 4]
  assert {tag for _, tag in tags} == {
      'loss', 'bits_per_dim', 'learning_rate', 'grad_norm', 'images_per_sec',
      'nonfinite_steps'}


def test_no_preemption_saver_on_one_worker(tmp_path):
  config = _config()
  state = run_state.RunState(0, config, 0.0, None)
  saver = callbacks.CheckpointSaver(state, _fake_trainer(), str(tmp_path),
                                tf.distribute.get_strategy(), config)
  assert callbacks.PreemptionSaver.make(
      state, tf.distribute.get_strategy(), saver.checkpointer,
      types.SimpleNamespace(restored_from=None), str(tmp_path), print) is None


def test_outlier_batch_log_names_a_spike_and_leaves_it_out_of_its_mean():
  clock, lines = _Clock(), []
  config = _config(train_steps=100)
  state = run_state.RunState(0, config, 0.0, None, clock=clock)
  outliers = callbacks.OutlierBatchLog(state, lines.append, min_steps=5)
  losses = [8.0, 6.0, 5.0, 4.0, 3.5]  # Falling fast: never an outlier.
  for step, loss in enumerate(losses, start=1):
    _step(state, [outliers], step, clock, loss=loss)
  assert not lines and state.outliers == 0
  mean = outliers.running_mean
  expected = 8.0
  for loss in losses[1:]:
    expected = 0.99 * expected + 0.01 * loss
  assert mean == pytest.approx(expected)
  _step(state, [outliers], 6, clock, loss=2.0 * mean)  # At the factor: kept.
  assert not lines
  mean = outliers.running_mean
  _step(state, [outliers], 7, clock, loss=4354.0)
  assert state.outliers == 1 and len(lines) == 1
  assert lines[0].startswith(
      f'Step 7: an outlier batch, 4354 bits/dim against a running mean of '
      f'{mean:.4f} (')
  assert 'gradient norm 2' in lines[0]
  assert outliers.running_mean == mean  # The spike is not averaged in.
  # The progress mean is the honest mean: the spike is in it.
  assert state.meter.mean() == pytest.approx(
      (sum(losses) + 2.0 * expected + 4354.0) / 7, rel=1e-3)


def test_outlier_batch_log_waits_for_min_steps_and_skips_nonfinite_steps():
  clock, lines = _Clock(), []
  state = run_state.RunState(0, _config(), 0.0, None, clock=clock)
  outliers = callbacks.OutlierBatchLog(state, lines.append, min_steps=3)
  for step, loss in enumerate([3.0, 30.0, 3.0], start=1):  # Too early.
    _step(state, [outliers], step, clock, loss=loss)
  assert not lines
  outliers.on_step_end(None, 4, float('nan'), False)
  assert outliers.running_mean == pytest.approx(
      0.99 * (0.99 * 3.0 + 0.01 * 30.0) + 0.01 * 3.0)
  with pytest.raises(ValueError, match='factor must be > 1'):
    callbacks.OutlierBatchLog(state, print, factor=1.0)
  # min_steps=0: the first step has no mean to be judged against.
  eager = callbacks.OutlierBatchLog(state, lines.append, min_steps=0)
  eager.on_step_end(None, 1, 3.0, True)
  assert eager.running_mean == 3.0 and not lines
