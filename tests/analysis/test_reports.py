"""Tests of glow_tf.analysis.reports: the experiments' PNGs and JSONs."""

import gzip
import json
import os

import numpy as np
import pytest

from glow_tf import analysis
from glow_tf.analysis import reports
from tests import fixtures

_MODEL = {'image_shape': [8, 8, 1], 'num_levels': 2, 'num_steps': 1,
          'coupling': 'affine', 'permutation': 'lu_conv', 'n_bits': 8}


def _as_json(value):
  """`value` as it reads back from a JSON file (tuples become lists)."""
  return json.loads(json.dumps(value))


def _read_idx(path, header_bytes):
  with gzip.open(path, 'rb') as f:
    return np.frombuffer(f.read()[header_bytes:], np.uint8)


def test_temperature_grid_json_describes_the_grid(tmp_path):
  glow = fixtures.small_glow()
  temperatures = (0.0, 0.5, 1.0)
  summary = reports.write_temperature_grid(
      glow, str(tmp_path), temperatures=temperatures, num_samples=3, seed=2,
      step=5)
  fixtures.check_png(tmp_path / 'temperature_grid.png')
  written = fixtures.read_json(tmp_path / 'temperature_grid.json')
  assert written == _as_json(summary)
  assert written['figure'] == 'temperature_grid.png'
  assert (written['temperatures'], written['num_samples'],
          written['seed']) == ([0.0, 0.5, 1.0], 3, 2)
  assert written['model'] == dict(_MODEL, step=5)
  # The statistics are those of the grid drawn with the same seed.
  grid = analysis.temperature_grid(glow, temperatures, 3, seed=2)
  assert written['mean_pixel'] == [float(row.mean()) for row in grid]
  assert written['saturated_fraction'] == [
      float(np.mean((row == 0) | (row == 255))) for row in grid]


def test_model_source_joins_the_model_description(tmp_path):
  summary = reports.write_temperature_grid(
      fixtures.small_glow(), str(tmp_path), temperatures=(0.0,),
      num_samples=1, step=3, model_source={'pretrained': 'fashion_mnist'})
  assert summary['model'] == dict(_MODEL, step=3, pretrained='fashion_mnist')


def test_temperature_grid_seed_moves_all_rows_but_temperature_zero(tmp_path):
  glow = fixtures.small_glow()
  runs = {}
  for name, seed in (('a', 0), ('again', 0), ('b', 1)):
    runs[name] = reports.write_temperature_grid(
        glow, str(tmp_path), temperatures=(0.0, 1.0), num_samples=4,
        seed=seed, name=name)
    fixtures.check_png(tmp_path / f'{name}.png')
  assert runs['again']['mean_pixel'] == runs['a']['mean_pixel']
  # T = 0 decodes the prior means, whatever the latents; T = 1 does not.
  assert runs['b']['mean_pixel'][0] == runs['a']['mean_pixel'][0]
  assert runs['b']['mean_pixel'][1] != runs['a']['mean_pixel'][1]
  assert runs['a']['model'] == _MODEL  # no step given


def test_interpolations_json_and_exact_end_points(tmp_path):
  glow, images = fixtures.small_glow(), fixtures.random_images()
  summary = reports.write_interpolations(glow, images, str(tmp_path),
                                         num_pairs=2, num_points=4, seed=1)
  fixtures.check_png(tmp_path / 'interpolation.png')
  written = fixtures.read_json(tmp_path / 'interpolation.json')
  assert written == _as_json(summary)
  order = np.random.default_rng(1).permutation(len(images))
  assert written['pairs'] == [[int(order[0]), int(order[1])],
                              [int(order[2]), int(order[3])]]
  assert written['alphas'] == pytest.approx([0.0, 1 / 3, 2 / 3, 1.0])
  assert written['num_points'] == 4 and written['model'] == _MODEL
  # Glow is invertible: the rows start and end at the input images.
  assert written['end_points_reconstructed_exactly'] is True


def test_interpolations_report_ends_that_do_not_come_back(tmp_path,
                                                          monkeypatch):
  rows_of = analysis.interpolation_rows

  def off_by_one_at_the_end(*args, **kwargs):
    rows = rows_of(*args, **kwargs)
    rows[:, -1] ^= 1
    return rows

  monkeypatch.setattr(reports.interpolation, 'interpolation_rows',
                      off_by_one_at_the_end)
  summary = reports.write_interpolations(
      fixtures.small_glow(), fixtures.random_images(), str(tmp_path),
      num_pairs=2, num_points=3)
  assert summary['end_points_reconstructed_exactly'] is False


def test_interpolations_need_two_images_per_pair(tmp_path):
  with pytest.raises(ValueError, match='7 pairs need 14 images, got 12'):
    reports.write_interpolations(fixtures.small_glow(),
                                 fixtures.random_images(12), str(tmp_path),
                                 num_pairs=7)


def test_load_arrays_reads_the_idx_files_in_order(tmp_path):
  folder = fixtures.fake_idx_folder(str(tmp_path / 'idx'), num_test=10)
  images = _read_idx(os.path.join(folder, 't10k-images-idx3-ubyte.gz'),
                     16).reshape(10, 28, 28, 1)
  labels = _read_idx(os.path.join(folder, 't10k-labels-idx1-ubyte.gz'), 8)
  np.testing.assert_array_equal(labels, np.arange(10) % 4)
  got_images, got_labels = reports.load_arrays('mnist_idx', 'test',
                                               idx_dir=folder)
  np.testing.assert_array_equal(got_images, images)
  np.testing.assert_array_equal(got_labels, labels)
  got_images, got_labels = reports.load_arrays('mnist_idx', 'test',
                                               idx_dir=folder, max_examples=3)
  np.testing.assert_array_equal(got_images, images[:3])
  np.testing.assert_array_equal(got_labels, labels[:3])


@pytest.mark.parametrize('source, target, message', [
    (0, 42, r'class 42 has no image among the 4 given \(labels present: '
            r'\[0, 1\]\)'),
    (1, 1, 'must differ')])
def test_attribute_manipulation_names_the_class_that_cannot_work(
    tmp_path, source, target, message):
  # Checked on every label before any filtering, and before the model runs.
  images = np.zeros([4, 8, 8, 1], np.uint8)
  labels = np.array([0, 1, 0, 1])
  with pytest.raises(ValueError, match=message):
    reports.write_attribute_manipulation(None, images, labels, str(tmp_path),
                                         source, target)
