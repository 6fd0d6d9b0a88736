"""Faults of a multi-worker cluster: a lost worker, a preempted worker.

* `is_lost_worker(error)`: whether an op failed because a peer went away
  (the collective ops raise Unavailable, Cancelled, Aborted or
  DeadlineExceeded, or a gRPC "connection reset" text);
* `worker_lost_error(error, model_dir)`: the one-line `WorkerLostError` that
  names the lost task and says how to resume;
* `preemption_handler(...)`: TensorFlow's public
  `tf.distribute.experimental.PreemptionCheckpointHandler`, which saves a
  checkpoint when any worker gets SIGTERM.
"""

import re

from absl import logging
import tensorflow as tf

__all__ = ['WorkerLostError', 'is_lost_worker', 'worker_lost_error',
           'preemption_handler']

_LOST_TYPES = (tf.errors.UnavailableError, tf.errors.CancelledError,
               tf.errors.AbortedError, tf.errors.DeadlineExceededError)
_LOST_WORDS = ('connection reset', 'socket closed', 'connection refused',
               'peer')


class WorkerLostError(RuntimeError):
  """A worker of a multi-worker cluster stopped answering."""


def is_lost_worker(error):
  """Whether a collective op failed because a peer went away."""
  if isinstance(error, _LOST_TYPES):
    return True
  text = str(error).lower()
  return any(word in text for word in _LOST_WORDS)


def worker_lost_error(error, model_dir):
  """A `WorkerLostError` naming the task(s) in `error` and how to resume.

  >>> str(worker_lost_error(ValueError('/job:worker/replica:0/task:1 gone'),
  ...                       'm'))[:49]
  'Lost contact with /job:worker/replica:0/task:1 of'
  """
  tasks = sorted(set(re.findall(r'/job:\w+/replica:\d+/task:\d+', str(error))))
  who = ', '.join(tasks) if tasks else 'a worker'
  return WorkerLostError(
      f'Lost contact with {who} of the cluster ({type(error).__name__}). '
      'Restart every worker with the same command: training resumes from '
      f'the newest checkpoint in {model_dir!r}.')


def preemption_handler(strategy, manager, restored_from, model_dir, log):
  """TensorFlow's handler that saves a checkpoint when any worker gets SIGTERM.

  Args:
    strategy: the multi-worker strategy (its `cluster_resolver` is used).
    manager: the `tf.train.CheckpointManager` that saves.
    restored_from: the checkpoint training resumed from (or None).
    model_dir: the training directory.
    log: callable taking a line.

  Returns:
    The handler, or None when the newest checkpoint named in the index is
    not the one training resumed from (it was found damaged): the handler
    restores that one when made, so it is left out, with a warning.
  """
  named = tf.train.latest_checkpoint(model_dir)
  if named is not None and named != restored_from:
    logging.warning('The newest checkpoint %s is damaged: preemption '
                    'checkpoints are off until the next one is saved.', named)
    return None
  handler = tf.distribute.experimental.PreemptionCheckpointHandler(
      strategy.cluster_resolver, manager)
  log('Preemption checkpoints on: a SIGTERM on any worker saves a checkpoint '
      'before the cluster exits.')
  return handler
