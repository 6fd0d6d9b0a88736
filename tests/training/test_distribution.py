"""Tests of glow_tf.training.distribution."""

import json

import pytest
import tensorflow as tf

from glow_tf.training import distribution


def test_default_strategy_is_the_chief():
  strategy = distribution.make_strategy('default')
  assert strategy is tf.distribute.get_strategy()
  assert distribution.is_chief(strategy)
  assert distribution.task(strategy) == (None, 0)
  assert distribution.num_workers(strategy) == 1
  assert distribution.worker_write_dir('/m', strategy) == '/m'


def test_unknown_strategy_and_missing_tf_config(monkeypatch):
  with pytest.raises(ValueError, match="strategy must be one of"):
    distribution.make_strategy('tpu')
  monkeypatch.delenv('TF_CONFIG', raising=False)
  with pytest.raises(ValueError, match='needs the TF_CONFIG'):
    distribution.make_strategy('multi_worker')
  monkeypatch.setenv('TF_CONFIG', json.dumps({'task': {}}))
  with pytest.raises(ValueError, match='"cluster" and "task"'):
    distribution.make_strategy('multi_worker')
  with pytest.raises(ValueError, match='only be given'):
    monkeypatch.setenv('TF_CONFIG', json.dumps(
        {'cluster': {'worker': ['localhost:1']},
         'task': {'type': 'worker', 'index': 0}}))
    distribution.make_strategy('multi_worker', devices=['/cpu:0'])


class _FakeResolver:

  def __init__(self, task_type, task_id, spec):
    self.task_type, self.task_id, self._spec = task_type, task_id, spec

  def cluster_spec(self):
    return tf.train.ClusterSpec(self._spec)


class _FakeStrategy:

  def __init__(self, task_type, task_id, spec):
    self.cluster_resolver = _FakeResolver(task_type, task_id, spec)


@pytest.mark.parametrize('task_type, task_id, spec, chief', [
    ('worker', 0, {'worker': ['a:1', 'b:1']}, True),
    ('worker', 1, {'worker': ['a:1', 'b:1']}, False),
    ('worker', 0, {'chief': ['c:1'], 'worker': ['a:1']}, False),
    ('chief', 0, {'chief': ['c:1'], 'worker': ['a:1']}, True),
])
def test_chief_and_write_dirs(task_type, task_id, spec, chief):
  strategy = _FakeStrategy(task_type, task_id, spec)
  assert distribution.is_chief(strategy) == chief
  assert distribution.num_workers(strategy) == sum(map(len, spec.values()))
  write_dir = distribution.worker_write_dir('/m', strategy)
  assert (write_dir == '/m') == chief
  if not chief:
    assert write_dir == f'/m/.{task_type}_{task_id}_tmp'
