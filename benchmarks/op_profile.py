"""Where a compiled call's time goes: `tf.profiler`'s op events, summed by type.

`profile_ops(fn)` runs `fn` under `tf.profiler.experimental` and adds up the
duration of every TensorFlow op that the executor ran on the CPU, by op type
(`_MklNativeFusedMatMul`, `Mul`, `ConcatV2`, ...), per call. Each XLA
computation that a graph calls is one asynchronous op; its time is the row
`XLA call` (the launch included), and `XLA execution` is the part spent
inside XLA's own code. The figures are op time: two ops running at once
on two threads both count, so on a multi-core machine the rows add up to
more than the wall-clock time of a call (`wall_ms`, timed without the
profiler before it starts). The profiler adds a little to every op, so
read the shares, not the last microsecond.

#### Examples

```python
sampler = benchmarks.make_sampler(glow, 64)
profile = profile_ops(sampler, calls=10)
for row in profile['ops'][:5]:
  print(row['op'], row['ms_per_call'], row['count_per_call'])
```
"""

import collections
import glob
import os
import tempfile
import time

import numpy as np
import tensorflow as tf

from benchmarks.timing import fetch

__all__ = ['MATMUL_OPS', 'profile_ops', 'summarize_xspace']

# The op types that are a matmul (plain, or fused with a bias and ReLU).
MATMUL_OPS = ('MatMul', '_MklMatMul', '_MklNativeFusedMatMul', '_FusedMatMul',
              'BatchMatMulV2', '_MklBatchMatMulV2')

# Host events of an XLA call: the asynchronous op (whose name ends in
# '::Start') and XLA's execution of the compiled computation inside it.
_XLA_CALL = 'ExecutorState::ProcessAsync::Start'
_XLA_EXECUTION = 'CpuExecutable::ExecuteAsyncOnStream'


def _op_type(event_name):
  """The row of one host event: an op type, an XLA row, or None (skipped).

  TensorFlow names an op's event `<scope>/<name>:<type>`; the executor's
  own events (`ExecutorState::Process`, the whole run of a graph) and the
  thread pool's contain `::` and are skipped, except the two XLA ones.
  """
  if event_name == _XLA_CALL:
    return 'XLA call'
  if event_name == _XLA_EXECUTION:
    return 'XLA execution'
  if '::' in event_name or ':' not in event_name:
    return None
  return event_name.rsplit(':', 1)[1] or None


def summarize_xspace(xspace, calls):
  """Per-call op time by type from a profile (an `XSpace` proto).

  Args:
    xspace: `tensorflow.tsl.profiler.protobuf.xplane_pb2.XSpace`.
    calls: how many calls the profile covers.

  Returns:
    A list of dicts `{'op', 'ms_per_call', 'count_per_call'}`, slowest
    first, over the CPU threads that run TensorFlow ops (`tf_Compute...`).
  """
  if calls < 1:
    raise ValueError(f'calls must be >= 1, got {calls}.')
  total = collections.Counter()
  count = collections.Counter()
  for plane in xspace.planes:
    names = plane.event_metadata
    for line in plane.lines:
      if not line.name.startswith('tf_Compute'):
        continue
      for event in line.events:
        op = _op_type(names[event.metadata_id].name)
        if op is not None:
          total[op] += event.duration_ps
          count[op] += 1
  return [{'op': op, 'ms_per_call': ps / 1e9 / calls,
           'count_per_call': count[op] / calls}
          for op, ps in total.most_common()]


def profile_ops(fn, calls=10, warmup=3, timed_calls=20):
  """Profiles `calls` calls of `fn` (no arguments); op time by type.

  Args:
    fn: a callable, typically a compiled `tf.function` with its inputs
      bound (`make_sampler`, or a `make_train_step` with its batch).
    calls: calls under the profiler.
    warmup: untimed calls first (tracing, compilation).
    timed_calls: calls timed without the profiler, for `wall_ms`.

  Returns:
    A dict: `wall_ms` (the median of the timed calls), `op_ms_per_call`
    (the sum of every op's time, XLA calls counted once), `matmul_ms` (the
    `MATMUL_OPS` rows) and `ops` (`summarize_xspace`'s rows).
  """
  from tensorflow.tsl.profiler.protobuf import xplane_pb2  # pylint: disable=g-import-not-at-top
  for name, value, low in (('calls', calls, 1), ('warmup', warmup, 0),
                           ('timed_calls', timed_calls, 1)):
    if not isinstance(value, int) or value < low:
      raise ValueError(f'{name} must be an int >= {low}, got {value!r}.')
  for _ in range(warmup):
    fetch(fn())
  seconds = []
  for _ in range(timed_calls):
    start = time.perf_counter()
    fetch(fn())
    seconds.append(time.perf_counter() - start)
  with tempfile.TemporaryDirectory() as logdir:
    tf.profiler.experimental.start(logdir)
    try:
      for _ in range(calls):
        fetch(fn())
    finally:
      tf.profiler.experimental.stop()
    paths = glob.glob(os.path.join(logdir, '**', '*.xplane.pb'),
                      recursive=True)
    if not paths:
      raise RuntimeError(f'tf.profiler wrote no profile under {logdir}.')
    xspace = xplane_pb2.XSpace()
    with open(max(paths, key=os.path.getmtime), 'rb') as f:
      xspace.ParseFromString(f.read())
  rows = summarize_xspace(xspace, calls)
  return {
      'wall_ms': float(np.median(seconds)) * 1e3,
      'op_ms_per_call': sum(r['ms_per_call'] for r in rows
                            if r['op'] != 'XLA execution'),
      'matmul_ms': sum(r['ms_per_call'] for r in rows
                       if r['op'] in MATMUL_OPS),
      'ops': rows,
  }
