"""Tests of glow_tf.main_job.record: metrics.json after every stage."""

import json

import pytest

from glow_tf.main_job import record as record_lib


def test_each_stage_is_recorded_and_written_and_a_failure_is_kept(tmp_path):
  path = str(tmp_path / 'metrics.json')
  lines = []
  record = record_lib.Record(path, {'step': None}, lines.append, start=0.0)

  def first(rec, value):
    rec.update(step=value)
    rec.add_file('model_dir', 'model')
    return value * 2

  def broken(rec):
    # What the first stage made is on disk before this one runs.
    with open(path) as f:
      saved = json.load(f)
    assert saved['step'] == 3 and saved['files'] == {'model_dir': 'model'}
    raise OSError('disk full')

  assert record.run('first', first, 3) == 6
  assert record.run('broken', broken) is None
  assert record.run('last', lambda rec: 'done') == 'done'
  assert lines == ["Stage 'broken' failed: OSError: disk full"]
  assert record.failed_stages() == ['broken']
  with open(path) as f:
    saved = json.load(f)
  assert list(record.metrics['stages']) == ['first', 'broken', 'last']
  assert saved['stages']['broken'] == {'status': 'failed',
                                       'error': 'OSError: disk full'}
  assert saved['stages']['last']['status'] == 'ok'
  assert saved['stages']['last']['seconds'] == pytest.approx(0.0, abs=0.1)
  assert saved['wall_clock_seconds'] > 1e9  # Since `start`, the epoch.
  assert saved == record.metrics


def test_no_failed_stage_when_all_went_well(tmp_path):
  record = record_lib.Record(str(tmp_path / 'm.json'), {}, print, start=0.0)
  record.run('only', lambda rec: None)
  assert record.failed_stages() == []
