"""Tests of glow_tf.main_job.demo: the main job's stages keep what they made."""

import os

import pytest

from glow_tf import main_job
from glow_tf import training
from glow_tf.main_job import stages
from tests import fixtures


def test_a_failing_stage_keeps_the_results_before_it(tmp_path, monkeypatch):
  """The export fails: metrics.json still has the test bits/dim, and says why.

  Then a rerun, with training done, whose first restore fails: the stages
  that need the model get it from the `restore` stage, and the curve is the
  one the first run left in the model_dir.
  """
  def broken_export(*args, **kwargs):
    raise OSError('No space left on device')

  monkeypatch.setattr(stages.export_lib, 'export_from_model_dir',
                      broken_export)
  idx_dir = fixtures.fake_idx_folder(str(tmp_path / 'idx'), num_test=24,
                                    num_train=32)
  out = str(tmp_path / 'demo')
  lines = []
  train_config = training.TrainConfig(
      batch_size=8, train_steps=4, warmup_steps=0, init_batch_size=16,
      summary_every=0, sample_every=0, shuffle_buffer=32, time_budget_s=120.0)
  run = lambda **kwargs: main_job.run_demo(
      out, fixtures.tiny_config(hidden_channels=4), train_config,
      data_dir=str(tmp_path / 'tfds'), idx_dir=idx_dir, eval_every_steps=2,
      curve_examples=8, log=lines.append, measure_peak=False, **kwargs)
  with pytest.raises(main_job.DemoError, match='export'):
    run()
  metrics = fixtures.read_json(os.path.join(out, 'metrics.json'),
                              ['test_bits_per_dim', 'stages', 'files'])
  assert metrics['step'] == 4 and metrics['num_test_images'] == 24
  assert 0 < metrics['test_bits_per_dim'] < 9
  assert (metrics['test_bits_per_dim'] <= metrics['test_bits_per_dim_p99'] <=
          metrics['test_bits_per_dim_max'])
  assert 0 <= metrics['test_worst_image'] < 24
  assert metrics['stages']['export'] == {
      'status': 'failed', 'error': 'OSError: No space left on device'}
  assert set(metrics['stages']) == {'train', 'evaluate', 'samples', 'curve',
                                    'export'}
  for name in ('train', 'evaluate', 'samples', 'curve'):
    assert metrics['stages'][name]['status'] == 'ok', metrics['stages']
  assert "Stage 'export' failed: OSError: No space left on device" in lines
  fixtures.check_png(os.path.join(out, 'samples.png'))
  assert 'export' not in metrics['files']
  assert 'peak' not in metrics['stages']
  assert [p['step'] for p in metrics['history']] == [0, 2, 4]

  original_restore = training.restore_model
  calls = []

  def restore_fails_once(*args, **kwargs):
    calls.append(args)
    if len(calls) == 1:
      raise training.CheckpointError('busy disk')
    return original_restore(*args, **kwargs)

  monkeypatch.setattr(stages.training, 'restore_model', restore_fails_once)
  os.remove(os.path.join(out, 'samples.png'))
  with pytest.raises(main_job.DemoError, match='evaluate'):
    run(export=False)
  again = fixtures.read_json(os.path.join(out, 'metrics.json'))
  assert again['stop_reason'] == 'already_trained' and again['step'] == 4
  assert again['stages']['evaluate'] == {
      'status': 'failed', 'error': 'CheckpointError: busy disk'}
  assert set(again['stages']) == {'train', 'evaluate', 'restore', 'samples',
                                  'curve'}
  for name in ('train', 'restore', 'samples', 'curve'):
    assert again['stages'][name]['status'] == 'ok', again['stages']
  fixtures.check_png(os.path.join(out, 'samples.png'))
  assert again['history'] == metrics['history']
