"""experiments/interpolation.py end to end on a tiny model."""

import os

from tests import fixtures


def test_writes_rows_and_ends_are_exact(tmp_path):
  model_dir = fixtures.make_model_dir(str(tmp_path / 'model'))
  idx_dir = fixtures.fake_idx_folder(str(tmp_path / 'idx'), num_test=12)
  out = tmp_path / 'figures'
  fixtures.run_binary('interpolation', f'--model_dir={model_dir}',
                     f'--output_dir={out}', '--dataset=mnist_idx',
                     f'--idx_dir={idx_dir}', '--num_pairs=2',
                     '--num_points=5')
  fixtures.check_png(os.path.join(out, 'interpolation.png'))
  summary = fixtures.read_json(
      os.path.join(out, 'interpolation.json'),
      ['figure', 'pairs', 'alphas', 'end_points_reconstructed_exactly'])
  assert len(summary['pairs']) == 2
  assert summary['end_points_reconstructed_exactly']


def test_the_pretrained_model_needs_no_training(tmp_path):
  out = tmp_path / 'figures'
  fixtures.run_binary('interpolation', '--pretrained=fashion_mnist',
                      f'--output_dir={out}', '--dataset=mnist_idx',
                      f'--idx_dir={fixtures.FASHION_MNIST_IDX}',
                      '--num_pairs=1', '--num_points=3')
  fixtures.check_png(os.path.join(out, 'interpolation.png'))
  summary = fixtures.read_json(os.path.join(out, 'interpolation.json'),
                               ['model'])
  assert summary['model']['pretrained'] == 'fashion_mnist'
  assert summary['end_points_reconstructed_exactly']
