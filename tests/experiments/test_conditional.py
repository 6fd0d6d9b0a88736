"""experiments/super_resolution.py and experiments/class_conditional.py end
to end: tiny models, a few seconds of training, one shared baseline."""

import os

import pytest

from glow_tf.training import checkpoints
from tests import fixtures

_TIMEOUT_S = 600  # Two trainings, a figure and two evaluations per binary.


def test_super_resolution_and_class_conditional_beside_one_baseline(tmp_path):
  idx_dir = fixtures.fake_idx_folder(str(tmp_path / 'idx'), num_test=60,
                                    num_train=128)
  baseline_dir = str(tmp_path / 'baseline')
  results = str(tmp_path / 'results.json')
  common = [f'--idx_dir={idx_dir}', f'--data_dir={tmp_path / "tfds"}',
            '--num_steps=1', '--hidden_channels=8', '--train_minutes=0.05',
            '--num_test_images=50', f'--baseline_dir={baseline_dir}']

  out_dir = str(tmp_path / 'sr')
  fixtures.run_binary('super_resolution', f'--output_dir={out_dir}',
                      '--num_images=4', f'--record_to={results}', *common,
                      timeout=_TIMEOUT_S)
  fixtures.check_png(os.path.join(out_dir, 'super_resolution.png'))
  metrics = fixtures.read_json(
      os.path.join(out_dir, 'metrics.json'),
      ['test_bits_per_dim', 'baseline_test_bits_per_dim', 'step',
       'baseline_step', 'num_test_images', 'figure', 'command',
       'train_minutes', 'wall_clock_seconds'])
  assert metrics['num_test_images'] == 50 and metrics['train_minutes'] == 0.05
  assert metrics['step'] > 0 and metrics['baseline_step'] > 0
  assert 0 < metrics['test_bits_per_dim'] < 9
  assert 0 < metrics['baseline_test_bits_per_dim'] < 9
  assert metrics['baseline_dir'] == baseline_dir
  assert metrics['figure'].endswith('super_resolution.png')
  assert '--num_steps=1' in metrics['command']
  config = checkpoints.load_config(os.path.join(out_dir, 'model'))
  assert config.context_shape == (14, 14, 1) and config.num_steps == 1
  assert not checkpoints.load_config(baseline_dir).conditional
  run = fixtures.read_json(results, ['runs'])['runs'][0]
  assert 'super_resolution' in run['name']
  assert run['test_bits_per_dim'] == round(metrics['test_bits_per_dim'], 4)
  assert run['baseline_test_bits_per_dim'] == (
      metrics['baseline_test_bits_per_dim'])
  assert run['wall_clock_seconds'] == metrics['wall_clock_seconds'] > 0
  assert run['dataset'] == 'fashion_mnist' and run['num_steps'] == 1

  # The baseline is already trained to the budget: only scored again.
  out_dir = str(tmp_path / 'cc')
  fixtures.run_binary('class_conditional', f'--output_dir={out_dir}',
                      '--per_class=2', *common, timeout=_TIMEOUT_S)
  fixtures.check_png(os.path.join(out_dir, 'class_samples.png'))
  cc_metrics = fixtures.read_json(
      os.path.join(out_dir, 'metrics.json'),
      ['test_bits_per_dim', 'baseline_test_bits_per_dim',
       'classifier_test_accuracy', 'figure', 'num_test_images'])
  assert cc_metrics['baseline_step'] == metrics['baseline_step']
  assert cc_metrics['baseline_test_bits_per_dim'] == pytest.approx(
      metrics['baseline_test_bits_per_dim'])
  assert 0 <= cc_metrics['classifier_test_accuracy'] <= 1
  assert cc_metrics['num_test_images'] == 50
  config = checkpoints.load_config(os.path.join(out_dir, 'model'))
  assert (config.num_classes, config.class_loss_weight) == (10, 0.01)
  assert not config.conditional
