"""experiments/attributes.py end to end on a tiny model."""

import os

from tests import fixtures


def test_writes_manipulations(tmp_path):
  model_dir = fixtures.make_model_dir(str(tmp_path / 'model'))
  idx_dir = fixtures.fake_idx_folder(str(tmp_path / 'idx'), num_test=16)
  out = tmp_path / 'figures'
  fixtures.run_binary('attributes', f'--model_dir={model_dir}',
                     f'--output_dir={out}', '--dataset=mnist_idx',
                     f'--idx_dir={idx_dir}', '--source_class=0',
                     '--target_class=2', '--strengths=0,1', '--num_images=2')
  fixtures.check_png(os.path.join(out, 'attributes.png'))
  summary = fixtures.read_json(
      os.path.join(out, 'attributes.json'),
      ['figure', 'source_class', 'target_class', 'strengths',
       'direction_norm_per_level', 'images_per_class'])
  assert summary['images_per_class'] == {'0': 4, '2': 4}
  assert len(summary['direction_norm_per_level']) == 2


def test_the_pretrained_model_needs_no_training(tmp_path):
  out = tmp_path / 'figures'
  fixtures.run_binary('attributes', '--pretrained=fashion_mnist',
                      f'--output_dir={out}', '--dataset=mnist_idx',
                      f'--idx_dir={fixtures.FASHION_MNIST_IDX}',
                      '--strengths=0,1', '--num_images=1',
                      '--max_per_class=4')
  fixtures.check_png(os.path.join(out, 'attributes.png'))
  summary = fixtures.read_json(os.path.join(out, 'attributes.json'),
                               ['model', 'images_per_class'])
  assert summary['model']['pretrained'] == 'fashion_mnist'
  assert summary['images_per_class'] == {'0': 4, '3': 4}
