"""experiments/demo.py end to end: a tiny model, a few seconds of training."""

import os

import pytest

from tests.experiments import helpers


def test_demo_writes_its_folder(tmp_path):
  idx_dir = helpers.fake_idx_folder(str(tmp_path / 'idx'), num_test=24,
                                    num_train=32)
  out = tmp_path / 'demo'
  results = tmp_path / 'results.json'
  helpers.run_binary(
      'demo', f'--output_dir={out}', f'--idx_dir={idx_dir}',
      f'--data_dir={tmp_path / "tfds"}', '--num_steps=1',
      '--hidden_channels=4', '--batch_size=8', '--train_steps=6',
      '--train_minutes=2', '--eval_every_steps=3', '--curve_examples=8',
      f'--record_to={results}')
  for name in ('samples.png', 'training_curve.png'):
    helpers.check_png(os.path.join(out, name))
  metrics = helpers.read_json(
      os.path.join(out, 'metrics.json'),
      ['test_bits_per_dim', 'step', 'history', 'machine', 'glow_config',
       'wall_clock_seconds', 'files', 'published_reference'])
  assert metrics['step'] == 6
  assert metrics['num_test_images'] == 24
  assert [p['step'] for p in metrics['history']] == [0, 3, 6]
  export = metrics['files']['export']
  assert export == os.path.join('export', '6')
  assert os.path.exists(os.path.join(out, export, 'saved_model.pb'))
  run = helpers.read_json(results, ['runs'])['runs'][0]
  assert run['name'] == 'demo' and run['steps'] == 6
  assert '--train_steps=6' in run['commands'][0]
  assert run['test_bits_per_dim'] == round(metrics['test_bits_per_dim'], 4)


def test_a_failing_stage_keeps_the_results_before_it(tmp_path, monkeypatch):
  """The export fails: metrics.json still has the test bits/dim, and says why."""
  from glow_tf import training  # pylint: disable=g-import-not-at-top
  from glow_tf.analysis import demo  # pylint: disable=g-import-not-at-top

  def broken_export(*args, **kwargs):
    raise OSError('No space left on device')

  monkeypatch.setattr(demo.export_lib, 'export_from_model_dir', broken_export)
  idx_dir = helpers.fake_idx_folder(str(tmp_path / 'idx'), num_test=24,
                                    num_train=32)
  out = str(tmp_path / 'demo')
  lines = []
  with pytest.raises(demo.DemoError, match='export'):
    demo.run_demo(
        out, helpers.tiny_config(hidden_channels=4),
        training.TrainConfig(batch_size=8, train_steps=4, warmup_steps=0,
                             init_batch_size=16, summary_every=0,
                             sample_every=0, shuffle_buffer=32),
        train_seconds=120, data_dir=str(tmp_path / 'tfds'), idx_dir=idx_dir,
        eval_every_steps=2, curve_examples=8, log=lines.append)
  metrics = helpers.read_json(os.path.join(out, 'metrics.json'),
                              ['test_bits_per_dim', 'stages', 'files'])
  assert metrics['step'] == 4 and metrics['num_test_images'] == 24
  assert 0 < metrics['test_bits_per_dim'] < 9
  assert metrics['stages']['export'] == {
      'status': 'failed', 'error': 'OSError: No space left on device'}
  for name in ('train', 'evaluate', 'samples', 'curve'):
    assert metrics['stages'][name]['status'] == 'ok', metrics['stages']
  assert "Stage 'export' failed: OSError: No space left on device" in lines
  helpers.check_png(os.path.join(out, 'samples.png'))
  assert 'export' not in metrics['files']
