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
  assert results['config_overrides'] == {'old': {'num_steps': 1},
                                         'new': {'num_steps': 1}}


def test_new_config_applies_to_the_new_side_only(tmp_path):
  output = tmp_path / 'ab.json'
  fixtures.run_binary('ab_speed', '--trees=.,.', '--task=train',
                      '--num_steps=1', '--widths=4', '--rounds=1',
                      '--calls=1', '--new_config=network_dtype=bfloat16',
                      f'--output={output}')
  results = json.loads(output.read_text())
  assert results['config_overrides'] == {
      'old': {'num_steps': 1},
      'new': {'num_steps': 1, 'network_dtype': 'bfloat16'}}
  assert results['widths']['4']['new_images_per_s'] > 0


def test_overrides_are_parsed_as_json_values():
  from experiments import ab_speed  # pylint: disable=g-import-not-at-top
  assert ab_speed.parse_overrides(
      ['network_dtype=bfloat16', 'num_steps=4', 'edge_padding=true']) == {
          'network_dtype': 'bfloat16', 'num_steps': 4, 'edge_padding': True}
  with pytest.raises(Exception, match='KEY=VALUE'):
    ab_speed.parse_overrides(['network_dtype'])
