"""experiments/temperature_grid.py end to end on a tiny model."""

import os

import glow_tf
from tests import fixtures


def test_writes_grid_and_json(tmp_path):
  model_dir = fixtures.make_model_dir(str(tmp_path / 'model'))
  out = tmp_path / 'figures'
  fixtures.run_binary('temperature_grid', f'--model_dir={model_dir}',
                     f'--output_dir={out}', '--num_samples=3',
                     '--temperatures=0,0.7,1')
  fixtures.check_png(os.path.join(out, 'temperature_grid.png'))
  summary = fixtures.read_json(
      os.path.join(out, 'temperature_grid.json'),
      ['figure', 'temperatures', 'num_samples', 'model', 'mean_pixel'])
  assert summary['temperatures'] == [0.0, 0.7, 1.0]
  assert summary['model']['step'] == 7


def test_the_pretrained_model_needs_no_training(tmp_path):
  out = tmp_path / 'figures'
  text = fixtures.run_binary('temperature_grid', '--pretrained=fashion_mnist',
                             f'--output_dir={out}', '--num_samples=2',
                             '--temperatures=0,1')
  step = glow_tf.pretrained_info('fashion_mnist')['step']
  assert f"(glow_tf.pretrained('fashion_mnist'), step {step})" in text
  fixtures.check_png(os.path.join(out, 'temperature_grid.png'))
  model = fixtures.read_json(os.path.join(out, 'temperature_grid.json'),
                             ['model'])['model']
  assert model['pretrained'] == 'fashion_mnist' and model['step'] == step
  assert 'test_bits_per_dim' in model['pretrained_info']


def test_both_model_sources_is_a_usage_error(tmp_path):
  result = fixtures.run_binary(
      'temperature_grid', f'--model_dir={tmp_path}',
      '--pretrained=fashion_mnist', f'--output_dir={tmp_path}', check=False)
  assert result.returncode == 2, result.stderr
  assert result.stderr.strip() == (
      'temperature_grid: usage error: Give --model_dir or --pretrained, not '
      f"both (got --model_dir='{tmp_path}' and --pretrained='fashion_mnist').")
