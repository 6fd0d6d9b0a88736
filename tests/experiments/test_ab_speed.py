"""experiments/ab_speed.py on a tiny width, the checkout against itself."""

import json

import pytest

from tests import fixtures


# The training run also shows that --new_config changes the new side only
# (one run of the binary fewer).
@pytest.mark.parametrize('task,new_config', [
    ('sample', {}), ('train', {'network_dtype': 'bfloat16'})])
def test_ab_of_a_tree_against_itself_writes_both_figures(tmp_path, task,
                                                         new_config):
  output = tmp_path / 'ab.json'
  extra = [f'--new_config={k}={v}' for k, v in new_config.items()]
  fixtures.run_binary('ab_speed', f'--trees={fixtures.REPO_ROOT},.',
                      f'--task={task}', '--num_steps=1', '--widths=4',
                      '--rounds=1', '--calls=2', *extra, f'--output={output}')
  results = json.loads(output.read_text())
  row = results['widths']['4']
  assert len(row['seconds_per_call']['old']) == 1
  assert len(row['seconds_per_call']['new']) == 1
  assert row['old_images_per_s'] > 0 and row['new_images_per_s'] > 0
  assert row['new_speedup_vs_old'] > 0
  assert results['commits']['old'] == results['commits']['new']
  assert results['command'].startswith('python -m experiments.ab_speed ')
  assert results['task'] == task and results['num_steps'] == 1
  assert results['config_overrides'] == {
      'old': {'num_steps': 1}, 'new': {'num_steps': 1, **new_config}}


def test_overrides_are_parsed_as_json_values():
  from experiments import ab_speed  # pylint: disable=g-import-not-at-top
  assert ab_speed.parse_overrides(
      ['network_dtype=bfloat16', 'num_steps=4', 'edge_padding=true']) == {
          'network_dtype': 'bfloat16', 'num_steps': 4, 'edge_padding': True}
  with pytest.raises(Exception, match='KEY=VALUE'):
    ab_speed.parse_overrides(['network_dtype'])
