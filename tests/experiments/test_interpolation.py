"""experiments/interpolation.py end to end on a tiny model."""

import os

from tests.experiments import helpers


def test_writes_rows_and_ends_are_exact(tmp_path):
  model_dir = helpers.make_model_dir(str(tmp_path / 'model'))
  idx_dir = helpers.fake_idx_folder(str(tmp_path / 'idx'), num_test=12)
  out = tmp_path / 'figures'
  helpers.run_binary('interpolation', f'--model_dir={model_dir}',
                     f'--output_dir={out}', '--dataset=mnist_idx',
                     f'--idx_dir={idx_dir}', '--num_pairs=2',
                     '--num_points=5')
  helpers.check_png(os.path.join(out, 'interpolation.png'))
  summary = helpers.read_json(
      os.path.join(out, 'interpolation.json'),
      ['figure', 'pairs', 'alphas', 'end_points_reconstructed_exactly'])
  assert len(summary['pairs']) == 2
  assert summary['end_points_reconstructed_exactly']
