"""The machine's float32 matmul peak, for the fraction of it a model reaches.

One matmul shape is not enough to find the peak: on the 2-core benchmark
machine a 4096-square matmul ran at 441 GFLOP/s and a 1024-square one at
319, while the model's own level-0 hidden matmul (`[12544, 400] @ [400,
400]`) ran at 382. So `matmul_probes` times several shapes, squares and the
model's own (`model_matmul_shapes`), and `peak_matmul_gflops` is the best of
them. TensorFlow's intra-op thread pool is fixed when the runtime starts, so
every probe runs with the threads the models run with.

#### Examples

```python
probes = matmul_probes(model_matmul_shapes(glow_tf.preset('fashion_mnist')))
peak = max(probes.values())
```
"""

import time

import tensorflow as tf

from glow_tf.benchmarking.flops import conv3x3_matmul
from glow_tf.bijectors import multi_scale
from glow_tf.config import GlowConfig

__all__ = ['SQUARE_SHAPES', 'matmul_gflops', 'matmul_probes',
           'model_matmul_shapes', 'peak_matmul_gflops', 'shape_name']

SQUARE_SHAPES = ((1024, 1024, 1024), (2048, 2048, 2048), (4096, 4096, 4096))


def shape_name(shape):
  """`(m, k, n) -> 'MxKxN'`, the key of a probe."""
  return 'x'.join(str(d) for d in shape)


def matmul_gflops(m, k, n, repeats=5, dtype=tf.float32):
  """Best GFLOP/s of a compiled `[m, k] @ [k, n]` over `repeats` timed calls."""
  a = tf.random.stateless_normal([m, k], seed=[0, 1], dtype=dtype)
  b = tf.random.stateless_normal([k, n], seed=[0, 2], dtype=dtype)
  matmul = tf.function(tf.matmul)
  product = matmul(a, b)  # compiles; CPU calls return once computed
  best = float('inf')
  for _ in range(repeats):
    start = time.perf_counter()
    product = matmul(a, b)
    best = min(best, time.perf_counter() - start)
  del product
  return 2.0 * m * k * n / best / 1e9


def model_matmul_shapes(config, batch_size=64):
  """The two largest matmuls of a Glow's coupling networks, `(m, k, n)`.

  At level 0 (`h x w` pixels after the squeeze, `c` channels, width `W`):
  the input 3x3 convolution, as patches `[N h w, 9 c/2] @ [9 c/2, W]` for
  every width but the narrowest (`flops.conv3x3_matmul`), and the hidden
  1x1 convolution, `[N h w, W] @ [W, W]`.
  """
  if not isinstance(config, GlowConfig):
    raise ValueError(f'config must be a glow_tf.GlowConfig, got {config!r}.')
  h, w, c = multi_scale.level_shapes(config.image_shape, config.num_levels)[0]
  pixels = batch_size * h * w
  width = config.hidden_channels
  return (conv3x3_matmul(pixels, c // 2, width), (pixels, width, width))


def matmul_probes(shapes=(), repeats=5, dtype=tf.float32):
  """GFLOP/s of every shape in `SQUARE_SHAPES + shapes`, keyed by `shape_name`."""
  probes = {}
  for shape in tuple(SQUARE_SHAPES) + tuple(shapes):
    name = shape_name(shape)
    probes[name] = max(probes.get(name, 0.0),
                       matmul_gflops(*shape, repeats=repeats, dtype=dtype))
  return probes


def peak_matmul_gflops(shapes=(), repeats=5, dtype=tf.float32):
  """The best GFLOP/s of `matmul_probes(shapes)`: the machine's matmul peak."""
  return max(matmul_probes(shapes, repeats, dtype).values())
