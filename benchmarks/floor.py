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

A training step also has passes that no TensorFlow kernel folds into a
matmul: the gradient of each coupling network's hidden layer (a matmul
fused with its bias and ReLU) is, besides its two matmuls, a `ReluGrad`
(the ReLU's mask applied to the product's gradient, a pass that reads two
`[m, width]` tensors and writes one) and a `BiasAddGrad` (the gradient's sum
over the pixels). `PASSES` times those alone too, the same way; matmuls and
passes together are a tighter floor under a training step with TensorFlow's
kernels. Sampling has no such pass: the forward bias and ReLU run inside the
matmul.

#### Examples

```python
floor = matmul_floor(glow_tf.preset('fashion_mnist', num_steps=8))
print(floor['train_s'] * 1e3, 'ms of matmuls per training step')
print(floor['passes_s'] * 1e3, 'ms of the hidden layers\' gradient passes')
```
"""

import time

import tensorflow as tf

from benchmarks.flops import hidden_activations
from benchmarks.flops import model_matmuls

__all__ = ['FORMS', 'PASSES', 'fastest', 'matmul_floor', 'time_matmul',
           'time_pass']

# How a training step uses each `[m, k] @ [k, n]` of the forward pass: the
# product itself, the weights' gradient `A^T dY` and the inputs' gradient
# `dY B^T` (TensorFlow's MatMul gradients, with these transposes).
FORMS = ('forward', 'weights', 'inputs')

# The gradient passes of a hidden layer `relu(x @ w + b)` of `[m, n]` that
# are not matmuls: TensorFlow's `ReluGrad` and `BiasAddGrad`.
PASSES = ('relu_grad', 'bias_grad')


def _loop_seconds(op, calls, repeats, dtype):
  """Seconds of one `op()` (a tensor), `calls` of them in a compiled loop.

  Each call adds one element of its result to a sum so that none is
  pruned; the best of `repeats` loops.
  """
  @tf.function
  def loop():
    def body(i, total):
      return i + 1, total + tf.reshape(op(), [-1])[0]
    return tf.while_loop(lambda i, _: i < calls, body,
                         (tf.constant(0), tf.zeros([], dtype)))[1]

  loop()  # compiles
  best = float('inf')
  for _ in range(repeats):
    start = time.perf_counter()
    loop().numpy()
    best = min(best, time.perf_counter() - start)
  return best / calls


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
  return _loop_seconds(product, calls, repeats, dtype)


def time_pass(m, n, kind='relu_grad', calls=10, repeats=5, dtype=tf.float32):
  """Seconds of one gradient pass (`PASSES`) of a `[m, n]` ReLU layer.

  `relu_grad`: `ReluGrad` of an `[m, n]` gradient by the layer's output;
  `bias_grad`: `BiasAddGrad`, the `[m, n]` gradient summed over its rows.
  Best of `repeats` compiled loops of `calls`, as `time_matmul`.
  """
  if kind not in PASSES:
    raise ValueError(f'kind must be one of {list(PASSES)}, got {kind!r}.')
  grad = tf.random.stateless_normal([m, n], seed=[0, 3], dtype=dtype)
  output = tf.nn.relu(tf.random.stateless_normal([m, n], seed=[0, 4],
                                                 dtype=dtype))
  op = {'relu_grad': lambda: tf.raw_ops.ReluGrad(gradients=grad,
                                                 features=output),
        'bias_grad': lambda: tf.raw_ops.BiasAddGrad(out_backprop=grad)}[kind]
  return _loop_seconds(op, calls, repeats, dtype)


def matmul_floor(config, batch_size=64, calls=10, repeats=5):
  """The summed time of a training step's and a sampling call's matmuls.

  Args:
    config: a `GlowConfig`.
    batch_size: images per step.
    calls, repeats: see `time_matmul`.

  Returns:
    `{'train_s', 'sample_s', 'matmuls', 'passes_s', 'passes'}`: seconds per
    training step (every matmul in all three `FORMS`) and per sampling call
    of `batch_size` images (forward only), one row per shape with its
    `count` per forward pass and the microseconds of each form; and the
    seconds of a training step's hidden-layer gradient passes (`PASSES`,
    not in `train_s`), one row per `[m, n]` layer shape with its `count`
    and the microseconds of each pass.
  """
  matmuls = []
  for (m, k, n), count in sorted(model_matmuls(config, batch_size).items()):
    row = {'m': m, 'k': k, 'n': n, 'count': count}
    for form in FORMS:
      row[f'{form}_us'] = time_matmul(m, k, n, form, calls, repeats) * 1e6
    matmuls.append(row)
  passes = []
  for (m, n), count in sorted(hidden_activations(config, batch_size).items()):
    row = {'m': m, 'n': n, 'count': count}
    for kind in PASSES:
      row[f'{kind}_us'] = time_pass(m, n, kind, calls, repeats) * 1e6
    passes.append(row)
  return _summed(matmuls, passes)


def _total_us(rows, columns):
  return sum(r['count'] * sum(r[f'{c}_us'] for c in columns) for r in rows)


def _summed(matmuls, passes):
  """The floor's dict (see `matmul_floor`): its rows' times, summed."""
  return {'train_s': _total_us(matmuls, FORMS) / 1e6,
          'sample_s': _total_us(matmuls, ('forward',)) / 1e6,
          'matmuls': matmuls,
          'passes_s': _total_us(passes, PASSES) / 1e6,
          'passes': passes}


def _fastest_rows(tables, shape, columns):
  """Each shape's row, with the best time of every column over `tables`."""
  rows = {}
  for table in tables:
    for row in table:
      key = tuple(row[name] for name in shape)
      best = rows.setdefault(key, dict(row))
      for column in columns:
        best[f'{column}_us'] = min(best[f'{column}_us'], row[f'{column}_us'])
  return [rows[key] for key in sorted(rows)]


def fastest(*floors):
  """The floor from several `matmul_floor` results: each shape's best time.

  A disturbance of the machine while one of them ran (another process, a
  noisy neighbour) raises only that one's times; the benchmark measures
  the floor before and after its rounds and keeps the faster of each
  matmul and pass.
  """
  if not floors:
    raise ValueError('fastest() needs at least one matmul_floor result.')
  return _summed(
      _fastest_rows([f['matmuls'] for f in floors], ('m', 'k', 'n'), FORMS),
      _fastest_rows([f.get('passes', []) for f in floors], ('m', 'n'),
                    PASSES))
