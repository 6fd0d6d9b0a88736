"""The machine a figure was measured on: its CPU and its float32 matmul peak.

```
machine_info()         {'cpu_model', 'nproc', 'avx512', 'memory_gib', 'system',
                        'python', 'tensorflow', 'tensorflow_probability'}
machine_description()  '2 CPU cores (AMD EPYC ...), 23.4 GiB RAM, Linux x86_64,
                        AVX-512, no GPU'
peak_matmul_gflops(model_matmul_shapes(config))   the matmul peak, GFLOP/s
```

One matmul shape is not enough to find the peak: on the 2-core benchmark
machine a 4096-square matmul ran at 441 GFLOP/s and a 1024-square one at
319, while the model's own level-0 hidden matmul (`[12544, 400] @ [400,
400]`) ran at 382. So `matmul_probes` times several shapes, squares and the
model's own (`model_matmul_shapes`), and `peak_matmul_gflops` is the best of
them: the limit the fraction of the peak that a model reaches (the demo's
metrics, `benchmarks/`) is measured against. TensorFlow's intra-op thread
pool is fixed when the runtime starts, so every probe runs with the threads
the models run with.

#### Examples

```python
probes = matmul_probes(model_matmul_shapes(glow_tf.preset('fashion_mnist')))
peak = max(probes.values())
```
"""

import os
import platform
import re
import time

import tensorflow as tf

from glow_tf.bijectors import multi_scale
from glow_tf.config import GlowConfig
from glow_tf.kernels import taps_on_output

__all__ = ['SQUARE_SHAPES', 'conv3x3_matmul', 'machine_description',
           'machine_info', 'matmul_gflops', 'matmul_probes',
           'model_matmul_shapes', 'peak_matmul_gflops', 'shape_name']

SQUARE_SHAPES = ((1024, 1024, 1024), (2048, 2048, 2048), (4096, 4096, 4096))


def _read(path):
  try:
    with open(path) as f:
      return f.read()
  except OSError:
    return ''


def machine_info():
  """The CPU, its usable cores, memory and library versions, as a dict."""
  import tensorflow_probability as tfp  # pylint: disable=g-import-not-at-top
  cpuinfo = _read('/proc/cpuinfo')
  found = re.search(r'model name\s*:\s*(.*)', cpuinfo)
  model = found.group(1).strip() if found else (platform.processor() or
                                                 platform.machine())
  try:
    cores = len(os.sched_getaffinity(0))
  except AttributeError:
    cores = os.cpu_count() or 0
  memory = re.search(r'MemTotal:\s*(\d+)', _read('/proc/meminfo'))
  return {'cpu_model': model, 'nproc': cores,
          'avx512': bool(re.search(r'\bavx512f\b', cpuinfo)),
          'memory_gib': (round(int(memory.group(1)) / 2**20, 1)
                         if memory else None),
          'system': f'{platform.system()} {platform.machine()}',
          'python': platform.python_version(), 'tensorflow': tf.__version__,
          'tensorflow_probability': tfp.__version__}


def machine_description():
  """One line: cores, CPU, memory, system and vector extensions."""
  info = machine_info()
  memory = (f', {info["memory_gib"]:.1f} GiB RAM' if info['memory_gib']
            else '')
  vector = ', AVX-512' if info['avx512'] else ', no AVX-512'
  return (f'{info["nproc"]} CPU cores ({info["cpu_model"]}){memory}, '
          f'{info["system"]}{vector}, no GPU')


def shape_name(shape):
  """`(m, k, n) -> 'MxKxN'`, the key of a probe."""
  return 'x'.join(str(d) for d in shape)


def conv3x3_matmul(pixels, c_in, c_out):
  """`(m, k, n)` of a 3x3 'SAME' convolution's matmul (`glow_tf.kernels.taps.conv_as_matmul`)."""
  if taps_on_output(c_in, c_out):
    return (pixels, c_in, 9 * c_out)  # taps summed on the narrow output
  return (pixels, 9 * c_in, c_out)  # patches of the narrow input


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
  every width but the narrowest (`conv3x3_matmul`), and the hidden 1x1
  convolution, `[N h w, W] @ [W, W]`.
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
