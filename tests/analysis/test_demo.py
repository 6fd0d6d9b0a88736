"""Tests of glow_tf.analysis.demo: the main job's stages keep what they made."""

import os

import pytest

from glow_tf import training
from glow_tf.analysis import demo
from tests import fixtures


def test_a_failing_stage_keeps_the_results_before_it(tmp_path, monkeypatch):
  """The export fails: metrics.json still has the test bits/dim, and says why."""
  def broken_export(*args, **kwargs):
    raise OSError('No space left on device')

  monkeypatch.setattr(demo.export_lib, 'export_from_model_dir', broken_export)
  idx_dir = fixtures.fake_idx_folder(str(tmp_path / 'idx'), num_test=24,
                                    num_train=32)
  out = str(tmp_path / 'demo')
  lines = []
  with pytest.raises(demo.DemoError, match='export'):
    demo.run_demo(
        out, fixtures.tiny_config(hidden_channels=4),
        training.TrainConfig(batch_size=8, train_steps=4, warmup_steps=0,
                             init_batch_size=16, summary_every=0,
                             sample_every=0, shuffle_buffer=32,
                             time_budget_s=120.0),
        data_dir=str(tmp_path / 'tfds'), idx_dir=idx_dir,
        eval_every_steps=2, curve_examples=8, log=lines.append,
        measure_peak=False)
  metrics = fixtures.read_json(os.path.join(out, 'metrics.json'),
                              ['test_bits_per_dim', 'stages', 'files'])
  assert metrics['step'] == 4 and metrics['num_test_images'] == 24
  assert 0 < metrics['test_bits_per_dim'] < 9
  assert (metrics['test_bits_per_dim'] <= metrics['test_bits_per_dim_p99'] <=
          metrics['test_bits_per_dim_max'])
  assert 0 <= metrics['test_worst_image'] < 24
  assert metrics['stages']['export'] == {
      'status': 'failed', 'error': 'OSError: No space left on device'}
  for name in ('train', 'evaluate', 'samples', 'curve'):
    assert metrics['stages'][name]['status'] == 'ok', metrics['stages']
  assert "Stage 'export' failed: OSError: No space left on device" in lines
  fixtures.check_png(os.path.join(out, 'samples.png'))
  assert 'export' not in metrics['files']
  assert 'peak' not in metrics['stages']
