"""experiments/ood.py end to end on a tiny model."""

import os

from tests.experiments import helpers


def test_writes_histogram_and_summary(tmp_path):
  model_dir = helpers.make_model_dir(str(tmp_path / 'model'))
  in_dir = helpers.fake_idx_folder(str(tmp_path / 'in'), num_test=20,
                                   num_train=24)
  out_dir = helpers.fake_idx_folder(str(tmp_path / 'out'), num_test=30,
                                    invert=True)
  out = tmp_path / 'figures'
  helpers.run_binary('ood', f'--model_dir={model_dir}', f'--output_dir={out}',
                     '--dataset=mnist_idx', f'--idx_dir={in_dir}',
                     f'--ood_idx_dir={out_dir}', '--batch_size=8',
                     '--in_name=in', '--ood_name=out')
  helpers.check_png(os.path.join(out, 'ood_histogram.png'))
  summary = helpers.read_json(os.path.join(out, 'ood.json'),
                              ['in', 'out', 'auroc', 'figure'])
  assert summary['in']['count'] == 20 and summary['out']['count'] == 30
  assert 0.0 <= summary['auroc'] <= 1.0
  baseline = summary['histogram_baseline']
  assert baseline['num_train_images'] == 24
  assert baseline['in']['count'] == 20
