"""experiments/demo.py end to end: a tiny model, a few seconds of training."""

import os


from tests import fixtures


def test_demo_writes_its_folder(tmp_path):
  idx_dir = fixtures.fake_idx_folder(str(tmp_path / 'idx'), num_test=24,
                                    num_train=32)
  out = tmp_path / 'demo'
  results = tmp_path / 'results.json'
  fixtures.run_binary(
      'demo', f'--output_dir={out}', f'--idx_dir={idx_dir}',
      f'--data_dir={tmp_path / "tfds"}', '--num_steps=1',
      '--hidden_channels=4', '--batch_size=8', '--train_steps=6',
      '--train_minutes=2', '--eval_every_steps=3', '--curve_examples=8',
      '--clip_grad_norm=50',
      f'--record_to={results}')
  for name in ('samples.png', 'training_curve.png'):
    fixtures.check_png(os.path.join(out, name))
  metrics = fixtures.read_json(
      os.path.join(out, 'metrics.json'),
      ['test_bits_per_dim', 'step', 'history', 'machine', 'glow_config',
       'wall_clock_seconds', 'files', 'published_reference'])
  assert metrics['step'] == 6
  assert metrics['train_config']['clip_grad_norm'] == 50  # default 20, 0 off
  assert metrics['train_config']['learning_rate'] == 5e-3  # the demo's peak
  assert metrics['num_test_images'] == 24
  assert [p['step'] for p in metrics['history']] == [0, 3, 6]
  # The first grid point is always scored, the end too: nothing skipped.
  assert metrics['curve_points_skipped'] == 0
  assert metrics['training_setup_seconds'] > 0  # Not in the budget.
  export = metrics['files']['export']
  assert export == os.path.join('export', '6')
  assert os.path.exists(os.path.join(out, export, 'saved_model.pb'))
  run = fixtures.read_json(results, ['runs'])['runs'][0]
  assert run['name'] == 'demo' and run['steps'] == 6
  assert '--train_steps=6' in run['commands'][0]
  assert run['test_bits_per_dim'] == round(metrics['test_bits_per_dim'], 4)
  # The machine's speed and the curve's cost go with the result.
  assert metrics['matmul_peak_gflops'] > 1
  assert metrics['stages']['peak']['status'] == 'ok'
  assert run['matmul_peak_gflops'] == metrics['matmul_peak_gflops']
  assert 0 < metrics['curve_evaluation_seconds'] < (
      metrics['training_wall_clock_seconds'])
  assert run['curve_evaluation_seconds'] == metrics['curve_evaluation_seconds']
