"""The `tf.distribute` strategies a training run can use, by name.

```
'default'       tf.distribute.get_strategy(): one device
'mirrored'      MirroredStrategy: every local GPU (or the CPU), one machine
'multi_worker'  MultiWorkerMirroredStrategy: the cluster described by the
                TF_CONFIG environment variable, one process per worker
```

Only the chief worker writes `config.json`, checkpoints and summaries into
the model directory; the other workers write their (identical) checkpoints
into a private folder that is deleted at once (`worker_write_dir`), as
`MultiWorkerMirroredStrategy` needs every worker to take part in a save.
"""

import json
import os

import tensorflow as tf

__all__ = ['STRATEGIES', 'make_strategy', 'task', 'is_chief',
           'worker_write_dir', 'num_workers']

STRATEGIES = ('default', 'mirrored', 'multi_worker')


def make_strategy(name, devices=None):
  """Builds the strategy called `name` (one of `STRATEGIES`).

  Call it first thing in a binary: `MultiWorkerMirroredStrategy` must be
  created before any other TensorFlow operation runs.

  Args:
    name: 'default', 'mirrored' or 'multi_worker'.
    devices: for 'mirrored', the devices (default: all GPUs, else the CPU).

  Returns:
    A `tf.distribute.Strategy`.

  Raises:
    ValueError: for an unknown name, or 'multi_worker' without a TF_CONFIG
      that describes a cluster.

  #### Examples

  ```python
  strategy = make_strategy('mirrored')
  with strategy.scope():
    glow = glow_tf.Glow(config)
  ```
  """
  if name not in STRATEGIES:
    raise ValueError(
        f'strategy must be one of {list(STRATEGIES)}, got {name!r}.')
  if name == 'default':
    return tf.distribute.get_strategy()
  if name == 'mirrored':
    return tf.distribute.MirroredStrategy(devices)
  if devices is not None:
    raise ValueError("devices can only be given for the 'mirrored' strategy.")
  config = os.environ.get('TF_CONFIG')
  if not config:
    raise ValueError(
        "strategy 'multi_worker' needs the TF_CONFIG environment variable, "
        'e.g. {"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
        '"task": {"type": "worker", "index": 0}}, set differently on each '
        'worker.')
  try:
    parsed = json.loads(config)
    parsed['cluster']  # pylint: disable=pointless-statement
    parsed['task']['type']  # pylint: disable=pointless-statement
  except (ValueError, KeyError, TypeError) as e:
    raise ValueError(
        f'TF_CONFIG must be JSON with "cluster" and "task" keys, got '
        f'{config!r}: {e}') from e
  return tf.distribute.MultiWorkerMirroredStrategy()


def task(strategy):
  """`(task_type, task_id)` of this process; `(None, 0)` on one machine."""
  resolver = getattr(strategy, 'cluster_resolver', None)
  if resolver is None or not resolver.cluster_spec().as_dict():
    return None, 0
  return resolver.task_type, resolver.task_id or 0


def num_workers(strategy):
  """The number of worker processes of `strategy` (1 on one machine)."""
  resolver = getattr(strategy, 'cluster_resolver', None)
  if resolver is None:
    return 1
  spec = resolver.cluster_spec().as_dict()
  return max(1, sum(len(tasks) for job, tasks in spec.items()
                    if job in ('chief', 'worker')))


def is_chief(strategy):
  """Whether this process writes the model directory (the chief worker)."""
  task_type, task_id = task(strategy)
  return (task_type in (None, 'chief') or
          (task_type == 'worker' and task_id == 0 and
           'chief' not in strategy.cluster_resolver.cluster_spec().as_dict()))


def worker_write_dir(model_dir, strategy):
  """Where this process writes checkpoints: `model_dir` for the chief."""
  if is_chief(strategy):
    return model_dir
  task_type, task_id = task(strategy)
  return os.path.join(model_dir, f'.{task_type}_{task_id}_tmp')
