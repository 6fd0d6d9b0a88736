"""experiments/ablation.py end to end: two tiny variants, a few steps each."""

import os

import numpy as np
import pytest

from tests import fixtures


def test_ablation_writes_figure_table_and_records(tmp_path):
  idx_dir = fixtures.fake_idx_folder(str(tmp_path / 'idx'), num_test=16,
                                    num_train=32)
  out = tmp_path / 'ablation'
  results = tmp_path / 'results.json'
  args = [f'--output_dir={out}', '--dataset=mnist_idx',
          f'--idx_dir={idx_dir}', '--num_steps=1', '--hidden_channels=4',
          '--batch_size=8', '--train_steps=4', '--eval_every_steps=2',
          '--curve_examples=8', '--permutations=reverse,lu_conv', '--seeds=0,3',
          '--couplings=additive', f'--record_to={results}']
  fixtures.run_binary('ablation', *args)
  fixtures.check_png(os.path.join(out, 'ablation.png'))
  table = fixtures.read_json(os.path.join(out, 'ablation.json'),
                            ['runs', 'figure'])
  assert [(r['name'], r['seed']) for r in table['runs']] == [
      ('reverse-additive', 0), ('reverse-additive', 3),
      ('lu_conv-additive', 0), ('lu_conv-additive', 3)]
  for run in table['runs']:
    assert [s for s, _ in run['history']] == [0, 2, 4]
    assert run['steps'] == 4  # Equal steps: no time budget by default.
  # The seed is the run's: two seeds of one variant start differently.
  first, second = table['runs'][:2]
  assert first['history'][0][1] != second['history'][0][1]
  assert '| reverse | additive |' in open(os.path.join(out,
                                                       'ablation.md')).read()
  records = fixtures.read_json(results, ['runs'])['runs']
  assert {r['name'] for r in records} == {'ablation/reverse-additive',
                                          'ablation/lu_conv-additive'}
  for record in records:
    assert record['seeds'] == [0, 3] and record['steps'] == [4, 4]
    assert record['test_bits_per_dim'] == pytest.approx(
        np.mean(record['per_seed_test_bits_per_dim']), abs=1e-4)
    assert record['commands'][0].startswith('python -m experiments.ablation')
    assert '--permutations=reverse,lu_conv' in record['commands'][0]
    assert record['permutation'] in ('reverse', 'lu_conv')
  # The seeds figure, redrawn from the records alone.
  figure = tmp_path / 'seeds.png'
  printed = fixtures.run_binary('ablation_figure', f'--records={results}',
                                '--prefix=ablation/', f'--output={figure}')
  fixtures.check_png(str(figure))
  for record in records:
    seeds = record['per_seed_test_bits_per_dim']
    assert f'{np.mean(seeds):.4f} +- {np.std(seeds, ddof=1):.4f}' in printed
  missing = fixtures.run_binary('ablation_figure', f'--records={results}',
                                '--prefix=nothing/', f'--output={figure}',
                                check=False)
  assert missing.returncode != 0 and 'Traceback' not in missing.stderr
  assert "No record named 'nothing/'" in missing.stderr, missing.stderr
  # The same folder asked for another length: one clear error, nothing
  # reused (the stale-seed mistake of the 2026-12-03 ablation).
  longer = [a if not a.startswith('--train_steps=') else '--train_steps=6'
            for a in args]
  result = fixtures.run_binary('ablation', *longer, check=False)
  assert result.returncode == 1, result.stderr[-3000:]
  assert 'train_steps: 4 there, 6 here' in result.stderr, result.stderr
  assert 'Traceback' not in result.stderr, result.stderr
