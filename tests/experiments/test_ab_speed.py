"""experiments/ab_speed.py on a tiny width, the checkout against itself."""

import json

import pytest

from tests import fixtures


@pytest.mark.parametrize('task', ['sample', 'train'])
def test_ab_of_a_tree_against_itself_writes_both_figures(tmp_path, task):
  output = tmp_path / 'ab.json'
  fixtures.run_binary('ab_speed', f'--trees={fixtures.REPO_ROOT},.',
                      f'--task={task}', '--num_steps=1', '--widths=4',
                      '--rounds=1', '--calls=2', f'--output={output}')
  results = json.loads(output.read_text())
  row = results['widths']['4']
  assert len(row['seconds_per_call']['old']) == 1
  assert len(row['seconds_per_call']['new']) == 1
  assert row['old_images_per_s'] > 0 and row['new_images_per_s'] > 0
  assert row['new_speedup_vs_old'] > 0
  assert results['commits']['old'] == results['commits']['new']
  assert results['command'].startswith('python -m experiments.ab_speed ')
  assert results['task'] == task and results['num_steps'] == 1
