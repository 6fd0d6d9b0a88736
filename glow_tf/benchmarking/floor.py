"""The matmul floor: the time of a Glow's matmuls alone, each timed by itself.

glow_tf computes every convolution as a matmul over all pixels
(`glow_tf.networks`). A training step runs each of them forward and twice
backward (the gradients with respect to the weights and to the inputs), a
sampling call forward only (`flops.model_matmuls` lists them).
`matmul_floor` times every one of those matmuls
alone, in a loop inside one compiled function (its inputs in cache, no other
op around it), and adds them up. That sum is a floor under the step: the
other ops (taps, element-wise passes, the optimizer) can only add to it, and
the matmuls run no faster inside the step than alone. Divided into tfp's
measured step time it bounds the speed-up over `tfp.bijectors.Glow` that
glow_tf's float32 work allows on that machine, whatever else is rewritten.

#### Examples

```python
floor = matmul_floor(glow_tf.preset('fashion_mnist', num_steps=8))
print(floor['train_s'] * 1e3, 'ms of matmuls per training step')
```
"""

import time

import tensorflow as tf

from glow_tf.benchmarking.flops import model_matmuls

__all__ = ['FORMS', 'fastest', 'matmul_floor', 'time_matmul']

# How a training step uses each `[m, k] @ [k, n]` of the forward pass: the
# product itself, the weights' gradient `A^T dY` and the inputs' gradient
# `dY B^T` (TensorFlow's MatMul gradients, with these transposes).
FORMS = ('forward', 'weights', 'inputs')


def time_matmul(m, k, n, form='forward', calls=10, repeats=5,
                dtype=tf.float32):
  """Seconds of one `[m, k] @ [k, n]` in `form` (`FORMS`), best of `repeats`.

  `calls` matmuls run in a `tf.while_loop` inside one compiled function,
  each adding one element of its product to a sum so that none is pruned.
  """
  if form not in FORMS:
    raise ValueError(f'form must be one of {list(FORMS)}, got {form!r}.')
  operands = {'forward': ([m, k], [k, n]), 'weights': ([m, k], [m, n]),
              'inputs': ([m, n], [k, n])}[form]
  a = tf.random.stateless_normal(operands[0], seed=[0, 1], dtype=dtype)
  b = tf.random.stateless_normal(operands[1], seed=[0, 2], dtype=dtype)
  product = {'forward': lambda: tf.matmul(a, b),
             'weights': lambda: tf.matmul(a, b, transpose_a=True),
             'inputs': lambda: tf.matmul(a, b, transpose_b=True)}[form]

  @tf.function
  def loop():
    def body(i, total):
      return i + 1, total + product()[0, 0]
    return tf.while_loop(lambda i, _: i < calls, body,
                         (tf.constant(0), tf.zeros([], dtype)))[1]

  loop()  # compiles
  best = float('inf')
  for _ in range(repeats):
    start = time.perf_counter()
    loop().numpy()
    best = min(best, time.perf_counter() - start)
  return best / calls


def matmul_floor(config, batch_size=64, calls=10, repeats=5):
  """The summed time of a training step's and a sampling call's matmuls.

  Args:
    config: a `GlowConfig`.
    batch_size: images per step.
    calls, repeats: see `time_matmul`.

  Returns:
    `{'train_s', 'sample_s', 'matmuls'}`: seconds per training step (every
    matmul in all three `FORMS`) and per sampling call of `batch_size`
    images (forward only), and one row per shape with its `count` per
    forward pass and the microseconds of each form.
  """
  rows = []
  for (m, k, n), count in sorted(model_matmuls(config, batch_size).items()):
    row = {'m': m, 'k': k, 'n': n, 'count': count}
    for form in FORMS:
      row[f'{form}_us'] = time_matmul(m, k, n, form, calls, repeats) * 1e6
    rows.append(row)
  return _summed(rows)


def _summed(rows):
  """`{'train_s', 'sample_s', 'matmuls': rows}`: the rows' times, summed."""
  train = sum(r['count'] * sum(r[f'{f}_us'] for f in FORMS) for r in rows)
  sample = sum(r['count'] * r['forward_us'] for r in rows)
  return {'train_s': train / 1e6, 'sample_s': sample / 1e6, 'matmuls': rows}


def fastest(*floors):
  """The floor from several `matmul_floor` results: each matmul's best time.

  A disturbance of the machine while one of them ran (another process, a
  noisy neighbour) raises only that one's times; the benchmark measures
  the floor before and after its rounds and keeps the faster of each.
  """
  if not floors:
    raise ValueError('fastest() needs at least one matmul_floor result.')
  key = lambda row: (row['m'], row['k'], row['n'])
  rows = {}
  for floor in floors:
    for row in floor['matmuls']:
      best = rows.setdefault(key(row), dict(row))
      for form in FORMS:
        best[f'{form}_us'] = min(best[f'{form}_us'], row[f'{form}_us'])
  return _summed([rows[k] for k in sorted(rows)])
