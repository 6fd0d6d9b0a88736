"""Tests of glow_tf.training.workers: which errors mean a lost worker.

The cluster behaviour itself (SIGKILL and SIGTERM of a local worker) is
tested in tests/training/test_distributed.py.
"""

import pytest
import tensorflow as tf

from glow_tf.training import workers


@pytest.mark.parametrize('error', [
    tf.errors.UnavailableError(None, None, 'socket closed'),
    tf.errors.CancelledError(None, None, 'cancelled'),
    tf.errors.AbortedError(None, None, 'aborted'),
    tf.errors.DeadlineExceededError(None, None, 'deadline'),
    tf.errors.InternalError(None, None, 'Connection reset by peer'),
    tf.errors.UnknownError(None, None, 'failed to connect: connection refused'),
])
def test_collective_failures_mean_a_lost_worker(error):
  assert workers.is_lost_worker(error)


@pytest.mark.parametrize('error', [
    tf.errors.InvalidArgumentError(None, None, 'Incompatible shapes'),
    tf.errors.ResourceExhaustedError(None, None, 'OOM when allocating'),
    ValueError('bad value'),
])
def test_other_failures_do_not(error):
  assert not workers.is_lost_worker(error)


def test_the_error_names_each_lost_task_once_and_how_to_resume():
  error = tf.errors.UnavailableError(
      None, None, 'from /job:worker/replica:0/task:1 and again '
      '/job:worker/replica:0/task:1; also /job:worker/replica:0/task:2')
  lost = workers.worker_lost_error(error, '/models/glow')
  assert isinstance(lost, workers.WorkerLostError)
  text = str(lost)
  assert text.startswith('Lost contact with /job:worker/replica:0/task:1, '
                         '/job:worker/replica:0/task:2 of the cluster '
                         '(UnavailableError).')
  assert "resumes from the newest checkpoint in '/models/glow'" in text
  assert '\n' not in text


def test_an_error_without_a_task_names_a_worker():
  text = str(workers.worker_lost_error(RuntimeError('gone'), 'm'))
  assert text.startswith('Lost contact with a worker of the cluster')
