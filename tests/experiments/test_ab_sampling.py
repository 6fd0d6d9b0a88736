"""experiments/ab_sampling.py on a tiny width, the checkout against itself."""

import json

from tests import fixtures


def test_ab_of_a_tree_against_itself_writes_both_figures(tmp_path):
  output = tmp_path / 'ab.json'
  fixtures.run_binary('ab_sampling', f'--trees={fixtures.REPO_ROOT},.',
                      '--widths=4', '--rounds=1', '--calls=2',
                      f'--output={output}')
  results = json.loads(output.read_text())
  row = results['widths']['4']
  assert len(row['seconds_per_call']['old']) == 1
  assert len(row['seconds_per_call']['new']) == 1
  assert row['old_images_per_s'] > 0 and row['new_images_per_s'] > 0
  assert row['new_speedup_vs_old'] > 0
  assert results['commits']['old'] == results['commits']['new']
  assert results['command'].startswith('python -m experiments.ab_sampling ')
