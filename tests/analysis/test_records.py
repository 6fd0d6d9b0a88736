"""Tests of glow_tf.analysis.records: docs/results.json entries."""

import json
import os
import re

from glow_tf import analysis
from tests import fixtures


def test_records_replace_by_name_and_carry_commands_and_commit(tmp_path):
  path = str(tmp_path / 'results.json')
  config = fixtures.tiny_config()
  analysis.record_runs(path, [analysis.run_record('a', 'cmd', 1.0, 3.5,
                                                  config)])
  analysis.record_runs(path, [analysis.run_record('b', 'cmd', 2.0, None,
                                                  config, note='x')])
  analysis.record_runs(path, [analysis.run_record('a', 'cmd2', 3.0, 3.4,
                                                  config)])
  runs = fixtures.read_json(path, ['runs'])['runs']
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
  for key in ('network_dtype', 'edge_padding', 'act_norm_log_scale_factor'):
    assert key not in resumed
  mixed = analysis.run_record(
      'd', 'cmd', 1.0, 3.0,
      config.replace(dtype='float32', network_dtype='bfloat16',
                     edge_padding=True, act_norm_log_scale_factor=3))
  assert mixed['network_dtype'] == 'bfloat16' and mixed['edge_padding']
  assert mixed['act_norm_log_scale_factor'] == 3.0


def test_results_file_records_commands_and_commits_without_tmp_paths():
  path = os.path.join(fixtures.REPO_ROOT, 'docs', 'results.json')
  with open(path) as f:
    text = f.read()
  assert '/tmp' not in text
  for run in json.loads(text)['runs']:
    assert run['commands'] and all(isinstance(c, str) for c in run['commands'])
    assert re.fullmatch(r'[0-9a-f]{40}(\+dirty)?', run['commit']), run
