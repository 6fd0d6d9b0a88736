"""The matmul floor: the time of a Glow's matmuls alone, each timed by itself.

glow_tf computes every convolution as a matmul over all pixels
(`glow_tf.networks`). A training step runs each of them forward and twice
backward (the gradients with respect to the weights and to the inputs), a
sampling call forward only. `matmul_floor` times every one of those matmuls
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

import collections
import time

import tensorflow as tf

from glow_tf.bijectors import multi_scale
from glow_tf.config import GlowConfig

__all__ = ['FORMS', 'fastest', 'matmul_floor', 'model_matmuls',
           'time_matmul']

# How a training step uses each `[m, k] @ [k, n]` of the forward pass: the
# product itself, the weights' gradient `A^T dY` and the inputs' gradient
# `dY B^T` (TensorFlow's MatMul gradients, with these transposes).
FORMS = ('forward', 'weights', 'inputs')


def _conv3x3(pixels, c_in, c_out):
  """The matmul of a 3x3 'SAME' convolution (see `conv3x3_as_matmul`)."""
  if c_in <= c_out:
    return (pixels, 9 * c_in, c_out)  # patches of the narrow input
  return (pixels, c_in, 9 * c_out)  # taps summed on the narrow output


def model_matmuls(config, batch_size=64):
  """Every matmul of one forward pass of `config`'s flow: `{(m, k, n): count}`.

  Per flow step at a level of `h x w` pixels and `c` channels (`m = N h w`):
  the 1x1 convolution `[m, c] @ [c, c]` (with an LU or plain permutation),
  and the coupling network's input 3x3, hidden 1x1 and output 3x3
  convolutions; per split, the split prior's 3x3 convolution. The same
  shapes as `glow_tf.benchmarking.forward_flops_per_image` counts.
  """
  if not isinstance(config, GlowConfig):
    raise ValueError(f'config must be a glow_tf.GlowConfig, got {config!r}.')
  if not isinstance(batch_size, int) or batch_size < 1:
    raise ValueError(f'batch_size must be a positive int, got {batch_size!r}.')
  width = config.hidden_channels
  counts = collections.Counter()
  shapes = multi_scale.level_shapes(config.image_shape, config.num_levels)
  for level, (h, w, c) in enumerate(shapes):
    pixels = batch_size * h * w
    half, rest = c // 2, c - c // 2
    out = rest if config.coupling == 'additive' else 2 * rest
    step = [_conv3x3(pixels, half, width), (pixels, width, width),
            _conv3x3(pixels, width, out)]
    if config.permutation in ('lu_conv', 'conv'):
      step.append((pixels, c, c))
    for shape in step:
      counts[shape] += config.num_steps
    if level < config.num_levels - 1:
      counts[_conv3x3(pixels, half, 2 * rest)] += 1
  return dict(counts)


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
  rows, train, sample = [], 0.0, 0.0
  for (m, k, n), count in sorted(model_matmuls(config, batch_size).items()):
    row = {'m': m, 'k': k, 'n': n, 'count': count}
    for form in FORMS:
      seconds = time_matmul(m, k, n, form, calls, repeats)
      row[f'{form}_us'] = seconds * 1e6
      train += count * seconds
      if form == 'forward':
        sample += count * seconds
    rows.append(row)
  return {'train_s': train, 'sample_s': sample, 'matmuls': rows}


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
  merged = [rows[k] for k in sorted(rows)]
  train = sum(r['count'] * sum(r[f'{f}_us'] for f in FORMS) for r in merged)
  sample = sum(r['count'] * r['forward_us'] for r in merged)
  return {'train_s': train / 1e6, 'sample_s': sample / 1e6, 'matmuls': merged}
