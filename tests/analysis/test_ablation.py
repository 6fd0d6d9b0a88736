"""Tests of glow_tf.analysis.ablation: the grid, resumable."""

import os

from glow_tf import analysis
from tests import fixtures


def test_run_ablation_resumes_and_writes(tmp_path):
  variants = analysis.ablation_variants(fixtures.tiny_config())
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
  fixtures.check_png(str(tmp_path / 'ablation.png'))
  table = fixtures.read_json(str(tmp_path / 'ablation.json'), ['runs'])
  assert [r['name'] for r in table['runs']] == [v.name for v in variants[:3]]
  assert '| reverse | additive | 3.100 |' in open(tmp_path / 'ablation.md').read()
