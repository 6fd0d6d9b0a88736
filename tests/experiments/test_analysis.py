"""Unit tests of glow_tf.analysis (fast, no subprocess)."""

import json
import os
import re

import numpy as np
import pytest
import tensorflow as tf

import glow_tf
from glow_tf import analysis
from tests.experiments import helpers


def _glow(seed=0):
  config = glow_tf.GlowConfig(image_shape=(8, 8, 1), num_levels=2,
                              num_steps=1, hidden_channels=4)
  glow = glow_tf.Glow(config, seed=seed)
  glow.initialize(tf.random.stateless_uniform([16, 8, 8, 1], [seed, 1]) - 0.5)
  return glow


def _images(n=12, seed=0):
  return np.random.default_rng(seed).integers(0, 256, (n, 8, 8, 1),
                                              dtype=np.uint8)


def test_temperature_grid_shares_latents_across_rows():
  glow = _glow()
  grid = analysis.temperature_grid(glow, [0.0, 0.0, 1.0], num_samples=3)
  assert grid.shape == (3, 3, 8, 8, 1) and grid.dtype == np.uint8
  np.testing.assert_array_equal(grid[0], grid[1])
  with pytest.raises(ValueError, match='temperatures'):
    analysis.temperature_grid(glow, [-1.0], num_samples=3)


def test_interpolation_ends_are_the_images():
  glow, images = _glow(), _images()
  rows = analysis.interpolation_rows(glow, images, [(0, 1), (2, 3)], 4)
  assert rows.shape == (2, 4, 8, 8, 1)
  np.testing.assert_array_equal(rows[:, 0], images[[0, 2]])
  np.testing.assert_array_equal(rows[:, -1], images[[1, 3]])
  with pytest.raises(ValueError, match='num_points'):
    analysis.interpolate(glow, images[0], images[1], 1)


def test_attribute_direction_and_zero_strength():
  glow, images = _glow(), _images()
  labels = np.arange(12) % 3
  means = analysis.class_mean_latents(glow, images, labels, [0, 1],
                                      batch_size=3)
  direction = analysis.attribute_direction(means, 0, 1)
  assert [d.shape for d in direction] == [tuple(s)
                                          for s in glow.latent_shapes]
  rows = analysis.manipulate(glow, images[:2], direction, [0.0, 1.0])
  np.testing.assert_array_equal(rows[:, 0], images[:2])
  with pytest.raises(ValueError, match='no image'):
    analysis.class_mean_latents(glow, images, labels, [5])


def test_auroc_and_histogram_baseline():
  assert analysis.auroc([1, 2], [3, 4]) == 1.0
  assert analysis.auroc([3, 4], [1, 2]) == 0.0
  assert analysis.auroc([1, 2], [1, 2]) == 0.5
  train = np.zeros((10, 2, 2, 1), np.uint8)
  bpd = analysis.histogram_baseline_bits_per_dim(train, train[:3],
                                                 alpha=1e-9)
  np.testing.assert_allclose(bpd, 0.0, atol=1e-6)
  uniform = analysis.histogram_baseline_bits_per_dim(train, train[:1] + 7,
                                                     alpha=1e9)
  np.testing.assert_allclose(uniform, 8.0, atol=1e-6)


def test_dataset_bits_per_dim_is_seeded_and_batch_free():
  glow, images = _glow(), _images()
  a = analysis.dataset_bits_per_dim(glow, images, batch_size=12)
  b = analysis.dataset_bits_per_dim(glow, images, batch_size=12)
  np.testing.assert_array_equal(a, b)
  assert a.shape == (12,) and np.all(np.isfinite(a))


def test_figures_are_pngs(tmp_path):
  rows = np.zeros((2, 3, 8, 8, 1), np.uint8)
  assert analysis.image_mosaic(rows).shape == (2 * 9 + 1, 3 * 9 + 1, 1)
  helpers.check_png(analysis.save_image_grid(
      tmp_path / 'g.png', rows, ['a', 'b'], ['1', '2', '3'], title='t'))
  helpers.check_png(analysis.save_curves(
      tmp_path / 'c.png', {'x': ([0, 1], [2.0, 1.0])}, 'step', 'bpd',
      references={'ref': 1.5}))
  helpers.check_png(analysis.save_histograms(
      tmp_path / 'h.png', {'a': [1.0, 2.0], 'b': [2.0, 3.0]}, 'bpd'))
  with pytest.raises(ValueError, match='row_labels'):
    analysis.save_image_grid(tmp_path / 'x.png', rows, ['a'])
  with pytest.raises(ValueError, match='.png'):
    analysis.save_curves(tmp_path / 'x.jpg', {'x': ([0], [1])}, 'a', 'b')


def test_run_ablation_resumes_and_writes(tmp_path):
  variants = analysis.ablation_variants(helpers.tiny_config())
  assert [v.name for v in variants] == [
      'reverse-additive', 'reverse-affine', 'shuffle-additive',
      'shuffle-affine', 'lu_conv-additive', 'lu_conv-affine']
  calls = []

  def train_fn(variant, model_dir):
    calls.append(variant.name)
    os.makedirs(model_dir, exist_ok=True)
    value = 3.0 + len(calls) / 10
    return analysis.AblationResult(history=((0, 5.0), (10, value)),
                                   final_test_bits_per_dim=value,
                                   wall_clock_seconds=1.0, steps=10)

  analysis.run_ablation(variants[:2], train_fn, str(tmp_path),
                        log=lambda line: None)
  results = analysis.run_ablation(variants[:3], train_fn, str(tmp_path),
                                  log=lambda line: None)
  assert calls == ['reverse-additive', 'reverse-affine', 'shuffle-additive']
  assert [r.final_test_bits_per_dim for r in results] == [3.1, 3.2, 3.3]
  helpers.check_png(str(tmp_path / 'ablation.png'))
  table = helpers.read_json(str(tmp_path / 'ablation.json'), ['runs'])
  assert [r['name'] for r in table['runs']] == [v.name for v in variants[:3]]
  assert '| reverse | additive | 3.100 |' in open(tmp_path / 'ablation.md').read()


def test_read_scalars_and_records(tmp_path):
  writer = tf.summary.create_file_writer(str(tmp_path / 'logs' / 'eval'))
  with writer.as_default():
    for step in (0, 5):
      tf.summary.write('bits_per_dim', 4.0 - step / 10, step=step)
  writer.flush()
  curves = analysis.read_scalars(str(tmp_path / 'logs'),
                                 prefix_with_subdir=True)
  steps, values = zip(*curves['eval/bits_per_dim'])
  assert steps == (0, 5)
  np.testing.assert_allclose(values, [4.0, 3.5], rtol=1e-6)
  assert analysis.read_scalars(str(tmp_path / 'nothing')) == {}
  path = str(tmp_path / 'results.json')
  config = helpers.tiny_config()
  analysis.record_runs(path, [analysis.run_record('a', 'cmd', 1.0, 3.5,
                                                  config)])
  analysis.record_runs(path, [analysis.run_record('b', 'cmd', 2.0, None,
                                                  config, note='x')])
  analysis.record_runs(path, [analysis.run_record('a', 'cmd2', 3.0, 3.4,
                                                  config)])
  runs = helpers.read_json(path, ['runs'])['runs']
  assert [r['name'] for r in runs] == ['b', 'a']
  for key in ('name', 'commands', 'commit', 'wall_clock_seconds',
              'test_bits_per_dim',
              'permutation', 'coupling', 'machine'):
    assert key in runs[1]
  assert runs[1]['commands'] == ['cmd2']
  # The repository is a git checkout: the record names its commit.
  assert re.fullmatch(r'[0-9a-f]{40}(\+dirty)?', runs[1]['commit']), runs[1]
  resumed = analysis.run_record('c', ['cmd1 --a', 'cmd1 --b'], 1.0, 3.0, config)
  assert resumed['commands'] == ['cmd1 --a', 'cmd1 --b']


def test_results_file_records_commands_and_commits_without_tmp_paths():
  path = os.path.join(helpers.REPO_ROOT, 'docs', 'results.json')
  with open(path) as f:
    text = f.read()
  assert '/tmp' not in text
  for run in json.loads(text)['runs']:
    assert run['commands'] and all(isinstance(c, str) for c in run['commands'])
    assert re.fullmatch(r'[0-9a-f]{40}(\+dirty)?', run['commit']), run
