"""experiments/ood.py end to end on a tiny model."""

import os

import pytest

from glow_tf import analysis
from glow_tf.data import idx
from glow_tf.training import checkpoints
from tests import fixtures


def test_writes_histogram_and_summary(tmp_path):
  model_dir = fixtures.make_model_dir(str(tmp_path / 'model'))
  in_dir = fixtures.fake_idx_folder(str(tmp_path / 'in'), num_test=20,
                                   num_train=24)
  out_dir = fixtures.fake_idx_folder(str(tmp_path / 'out'), num_test=30,
                                    invert=True)
  out = tmp_path / 'figures'
  fixtures.run_binary('ood', f'--model_dir={model_dir}', f'--output_dir={out}',
                     '--dataset=mnist_idx', f'--idx_dir={in_dir}',
                     f'--ood_idx_dir={out_dir}', '--batch_size=8',
                     '--in_name=in', '--ood_name=out')
  fixtures.check_png(os.path.join(out, 'ood_histogram.png'))
  summary = fixtures.read_json(os.path.join(out, 'ood.json'),
                              ['in', 'out', 'auroc', 'figure'])
  assert summary['in']['count'] == 20 and summary['out']['count'] == 30
  # The AUROC of the very scores the library gives the two image sets.
  glow, _ = checkpoints.restore_model(model_dir)
  in_images, _ = idx.load_idx_split(in_dir, 't10k')
  out_images, _ = idx.load_idx_split(out_dir, 't10k')
  expected = analysis.auroc(
      analysis.dataset_bits_per_dim(glow, in_images, batch_size=8),
      analysis.dataset_bits_per_dim(glow, out_images, batch_size=8))
  assert summary['auroc'] == pytest.approx(expected, abs=1e-9)
  baseline = summary['histogram_baseline']
  assert baseline['num_train_images'] == 24
  assert baseline['in']['count'] == 20


def test_the_pretrained_model_needs_no_training(tmp_path):
  out_dir = fixtures.fake_idx_folder(str(tmp_path / 'out'), num_test=8)
  out = tmp_path / 'figures'
  fixtures.run_binary('ood', '--pretrained=fashion_mnist',
                      f'--output_dir={out}', '--dataset=mnist_idx',
                      f'--idx_dir={fixtures.FASHION_MNIST_IDX}',
                      f'--ood_idx_dir={out_dir}', '--max_examples=8',
                      '--batch_size=8', '--nohistogram_baseline',
                      '--in_name=in', '--ood_name=out')
  fixtures.check_png(os.path.join(out, 'ood_histogram.png'))
  summary = fixtures.read_json(os.path.join(out, 'ood.json'),
                               ['in', 'out', 'model'])
  assert summary['in']['count'] == summary['out']['count'] == 8
  assert summary['model']['pretrained'] == 'fashion_mnist'
