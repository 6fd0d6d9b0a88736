"""Tests of glow_tf.analysis.ablation.report: the table and the seeds figure."""

import numpy as np
import pytest

from glow_tf import analysis
from tests import fixtures


def _summary(variant, finals):
  """An `AblationSummary` of `variant` whose seeds ended at `finals`."""
  results = tuple(
      analysis.AblationResult(history=((20, final),),
                              final_test_bits_per_dim=final,
                              wall_clock_seconds=1.0, steps=20)
      for final in finals)
  return analysis.AblationSummary(variant, tuple(range(len(finals))), results)


def test_the_table_claims_an_order_only_when_the_seeds_do_not_overlap():
  reverse, lu_conv, shuffle = analysis.ablation_variants(
      fixtures.tiny_config(), permutations=('reverse', 'lu_conv', 'shuffle'),
      couplings=('affine',))
  table = analysis.ablation_table([_summary(reverse, [3.5, 3.6]),
                                   _summary(lu_conv, [3.1, 3.2]),
                                   _summary(shuffle, [3.55, 3.7])])
  lines = table.splitlines()
  assert lines[0].startswith('| permutation | coupling | test bits/dim')
  assert lines[2] == ('| 1x1 conv (LU) | affine | 3.150 | 0.071 | '
                      '3.100 - 3.200 | 2 | 20 | yes |')
  assert lines[3].startswith('| reverse | affine | 3.550 |')
  assert lines[3].endswith('| no |')  # 3.5-3.6 overlaps 3.55-3.7
  assert lines[4].endswith('| - |')


def test_seeds_figure_from_records_draws_mean_and_sample_std(tmp_path):
  runs = [
      {'name': 'ablation-3seeds/reverse-additive', 'permutation': 'reverse',
       'coupling': 'additive', 'steps': [2000] * 3, 'num_test_images': 100,
       'per_seed_test_bits_per_dim': [6.2, 6.0, 5.9]},
      {'name': 'ablation-3seeds/lu_conv-affine', 'permutation': 'lu_conv',
       'coupling': 'affine', 'steps': [2000] * 3, 'num_test_images': 100,
       'per_seed_test_bits_per_dim': [4.9, 4.95, 5.0]},
      {'name': 'ablation/lu_conv-affine', 'permutation': 'lu_conv',
       'coupling': 'affine', 'per_seed_test_bits_per_dim': [1.0]},
      {'name': 'ablation-3seeds/no-seeds', 'test_bits_per_dim': 1.0},
  ]
  path = str(tmp_path / 'seeds.png')
  rows = analysis.ablation.seeds_figure_from_records(
      runs, 'ablation-3seeds/', path)
  fixtures.check_png(path)
  # Lowest mean first; only the prefix's records with per-seed results.
  assert [name for name, _, _ in rows] == ['1x1 conv (LU) / affine',
                                           'reverse / additive']
  np.testing.assert_allclose([mean for _, mean, _ in rows], [4.95, 18.1 / 3])
  np.testing.assert_allclose([std for _, _, std in rows],
                             [np.std([4.9, 4.95, 5.0], ddof=1),
                              np.std([6.2, 6.0, 5.9], ddof=1)])
  # One seed has no spread (rather than numpy's nan for ddof=1).
  assert analysis.figures.sample_std([4.9]) == 0.0
  with pytest.raises(ValueError, match="No record named 'other/'"):
    analysis.ablation.seeds_figure_from_records(runs, 'other/', path)
