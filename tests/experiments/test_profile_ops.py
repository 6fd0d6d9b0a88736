"""experiments/profile_ops.py end to end on a tiny model (no timing asserted)."""

import json

import pytest

from tests import fixtures


# Glow.sample's two halves (the default) run in the benchmark's own tests.
@pytest.mark.parametrize('task,extra', [('sample', ['--one_chain']),
                                        ('train', [])])
def test_profile_lists_the_matmuls_of_each_call(tmp_path, task, extra):
  output = tmp_path / 'new' / 'ops.json'  # the folder is created
  out = fixtures.run_binary('profile_ops', f'--task={task}', '--num_steps=1',
                            '--width=4', '--batch_size=2', '--calls=2',
                            *extra, f'--output={output}')
  assert 'wall-clock' in out and 'matmuls' in out
  profile = json.loads(output.read_text())
  assert profile['task'] == task and profile['one_chain'] == bool(extra)
  assert profile['command'].startswith('python -m experiments.profile_ops ')
  assert profile['wall_ms'] > 0 and profile['matmul_ms'] > 0
  assert 0 < profile['matmul_ms'] < profile['op_ms_per_call']
  # L=2, K=1 of the preset: per level one step (the 1x1 convolution and the
  # coupling's three convolutions), and the split prior's convolution.
  matmuls = sum(r['count_per_call'] for r in profile['ops']
                if 'MatMul' in r['op'])
  if task == 'sample':
    assert matmuls == 9
  else:
    assert matmuls > 9  # the forward's, and the gradients'


def test_one_chain_needs_sampling():
  result = fixtures.run_binary('profile_ops', '--task=train', '--one_chain',
                               check=False)
  assert result.returncode != 0
  assert '--one_chain needs --task=sample' in result.stderr
