"""Tests of glow_tf.analysis.ablation.runs: the grid over seeds, resumable."""

import json
import os

import numpy as np
import pytest

from glow_tf import analysis
from tests import fixtures


def _fake_train_fn(calls, finals):
  """A train_fn whose final figure is `finals[(name, seed)]`."""

  def train_fn(variant, model_dir, seed):
    calls.append((variant.name, seed))
    os.makedirs(model_dir, exist_ok=True)
    value = finals[variant.name, seed]
    return analysis.AblationResult(
        history=((0, 5.0 + seed), (10, value + 0.5), (20, value)),
        final_test_bits_per_dim=value, wall_clock_seconds=1.0, steps=20)

  return train_fn


def test_run_ablation_over_seeds_resumes_and_writes(tmp_path):
  variants = analysis.ablation_variants(fixtures.tiny_config())
  assert [v.name for v in variants] == [
      'reverse-additive', 'reverse-affine', 'shuffle-additive',
      'shuffle-affine', 'lu_conv-additive', 'lu_conv-affine']
  finals = {('reverse-additive', 0): 3.4, ('reverse-additive', 1): 3.6,
            ('reverse-affine', 0): 3.0, ('reverse-affine', 1): 3.2,
            ('shuffle-additive', 0): 3.5, ('shuffle-additive', 1): 3.1}
  calls = []
  train_fn = _fake_train_fn(calls, finals)
  analysis.run_ablation(variants[:1], train_fn, str(tmp_path), seeds=(0, 1),
                        log=lambda line: None)
  summaries = analysis.run_ablation(variants[:3], train_fn, str(tmp_path),
                                    seeds=(0, 1), log=lambda line: None)
  # The first variant's two runs were not trained again.
  assert calls == [('reverse-additive', 0), ('reverse-additive', 1),
                   ('reverse-affine', 0), ('reverse-affine', 1),
                   ('shuffle-additive', 0), ('shuffle-additive', 1)]
  assert os.path.isdir(tmp_path / 'runs' / 'reverse-affine' / 'seed_1')
  first = summaries[0]
  assert first.mean == pytest.approx(3.5)
  assert first.std == pytest.approx(np.std([3.4, 3.6], ddof=1))
  assert (first.low, first.high) == (3.4, 3.6)
  steps, mean, low, high = first.mean_curve()
  np.testing.assert_allclose(steps, [0, 10, 20])
  np.testing.assert_allclose(mean, [5.5, 4.0, 3.5])
  np.testing.assert_allclose(low, [5.0, 3.9, 3.4])
  np.testing.assert_allclose(high, [6.0, 4.1, 3.6])

  fixtures.check_png(str(tmp_path / 'ablation.png'))
  table = json.loads((tmp_path / 'ablation.json').read_text())
  assert [v['name'] for v in table['variants']] == [
      'reverse-additive', 'reverse-affine', 'shuffle-additive']
  assert len(table['runs']) == 6 and table['runs'][1]['seed'] == 1
  lines = (tmp_path / 'ablation.md').read_text().splitlines()
  # Best mean first. reverse-affine (3.0-3.2) is ahead of shuffle-additive
  # (3.1-3.5)? No: their seeds overlap. shuffle-additive (mean 3.3) is not
  # ahead of reverse-additive (3.4-3.6) either: its worst seed is 3.5.
  assert lines[2].startswith('| reverse | affine | 3.100 | 0.141 | '
                             '3.000 - 3.200 | 2 | 20 | no |')
  assert lines[3].startswith('| shuffle | additive | 3.300 |')
  assert lines[3].endswith('| no |')
  assert lines[4].endswith('| - |')


def test_bad_seeds_are_refused(tmp_path):
  variants = analysis.ablation_variants(fixtures.tiny_config())
  for seeds in ((), (1, 1)):
    with pytest.raises(ValueError, match='seeds must be distinct'):
      analysis.run_ablation(variants, _fake_train_fn([], {}), str(tmp_path),
                            seeds=seeds)


def test_a_finished_run_of_other_settings_is_refused_not_reused(tmp_path):
  variants = analysis.ablation_variants(fixtures.tiny_config(),
                                        permutations=('reverse',),
                                        couplings=('additive',))
  finals = {('reverse-additive', 0): 3.4}
  calls = []
  train_fn = _fake_train_fn(calls, finals)
  quiet = lambda line: None
  analysis.run_ablation(variants, train_fn, str(tmp_path), seeds=(0,),
                        log=quiet, settings={'train_steps': 1000})
  # The same settings: reused, not trained again.
  analysis.run_ablation(variants, train_fn, str(tmp_path), seeds=(0,),
                        log=quiet, settings={'train_steps': 1000})
  assert calls == [('reverse-additive', 0)]
  # Another length: refused, the stale figure does not enter the table.
  with pytest.raises(ValueError, match='train_steps: 1000 there, 2000 here'):
    analysis.run_ablation(variants, train_fn, str(tmp_path), seeds=(0,),
                          log=quiet, settings={'train_steps': 2000})
  # The same name with another architecture: refused too.
  wider = [analysis.AblationVariant(
      v.name, v.config.replace(hidden_channels=v.config.hidden_channels + 1))
           for v in variants]
  with pytest.raises(ValueError, match='trained with other settings'):
    analysis.run_ablation(wider, train_fn, str(tmp_path), seeds=(0,),
                          log=quiet, settings={'train_steps': 1000})
  # A result written before settings were stored cannot be checked: refused.
  done = tmp_path / 'runs' / 'reverse-additive' / 'seed_0' / 'result.json'
  stored = json.loads(done.read_text())
  del stored['settings']
  done.write_text(json.dumps(stored))
  with pytest.raises(ValueError, match='stores no settings'):
    analysis.run_ablation(variants, train_fn, str(tmp_path), seeds=(0,),
                          log=quiet, settings={'train_steps': 1000})
  assert calls == [('reverse-additive', 0)]


def test_a_run_stored_before_a_config_field_existed_is_reused(tmp_path):
  variants = analysis.ablation_variants(fixtures.tiny_config(),
                                        permutations=('reverse',),
                                        couplings=('additive',))
  calls = []
  train_fn = _fake_train_fn(calls, {('reverse-additive', 0): 3.4})
  quiet = lambda line: None
  analysis.run_ablation(variants, train_fn, str(tmp_path), seeds=(0,),
                        log=quiet, settings={'train_steps': 1000})
  done = tmp_path / 'runs' / 'reverse-additive' / 'seed_0' / 'result.json'
  stored = json.loads(done.read_text())
  del stored['settings']['config']['act_norm_log_scale_factor']  # default
  done.write_text(json.dumps(stored))
  [summary] = analysis.run_ablation(variants, train_fn, str(tmp_path),
                                    seeds=(0,), log=quiet,
                                    settings={'train_steps': 1000})
  assert calls == [('reverse-additive', 0)]
  assert summary.mean == pytest.approx(3.4)
  # A field it stores with another value than asked for is still refused.
  with pytest.raises(ValueError, match='trained with other settings'):
    analysis.run_ablation(
        [analysis.AblationVariant(v.name, v.config.replace(
            act_norm_log_scale_factor=3.0)) for v in variants],
        train_fn, str(tmp_path), seeds=(0,), log=quiet,
        settings={'train_steps': 1000})
