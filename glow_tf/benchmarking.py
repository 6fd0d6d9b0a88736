"""Speed and memory of glow_tf against `tfp.bijectors.Glow` and the machine's peak.

The library behind `experiments/benchmark.py`:

* `peak_matmul_gflops`: the machine's float32 limit, a large compiled matmul;
* `forward_flops_per_image`, `train_flops_per_image`: the analytic
  multiply-adds (2 FLOPs each) of every convolution and matmul of a Glow;
* `build_tfp_glow`: the same architecture as `tfp.bijectors.Glow`;
* `make_train_step`, `make_sampler`: one compiled function each, with a fixed
  input signature, for either model;
* `time_interleaved`: rounds in which every contender runs in turn, so that
  drift of a shared machine hits all of them alike;
* `peak_step_memory`: the peak memory of one training step, measured in a
  fresh process (Linux `VmHWM`);
* `run_benchmark`: all of it, as one JSON-ready dict.

#### Examples

```python
results = glow_tf.benchmarking.run_benchmark(widths=(128,), rounds=3)
print(glow_tf.benchmarking.format_table(results))
```
"""

import functools
import json
import os
import platform
import re
import subprocess
import sys
import time

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras

from glow_tf import memory
from glow_tf.bijectors import multi_scale
from glow_tf.config import GlowConfig
from glow_tf.config import preset
from glow_tf.glow import Glow

tfb = tfp.bijectors
tfd = tfp.distributions

__all__ = [
    'build_tfp_glow', 'count_parameters', 'format_table',
    'forward_flops_per_image', 'machine_description', 'make_sampler',
    'make_train_step', 'peak_matmul_gflops', 'peak_step_memory',
    'run_benchmark', 'time_interleaved', 'train_flops_per_image',
]

_MIB = 2.0**20


def peak_matmul_gflops(size=4096, repeats=5, dtype=tf.float32):
  """Best GFLOP/s of a compiled `[size, size] @ [size, size]` matmul."""
  a = tf.random.stateless_normal([size, size], seed=[0, 1], dtype=dtype)
  b = tf.random.stateless_normal([size, size], seed=[0, 2], dtype=dtype)
  matmul = tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b)[0]))
  matmul(a, b).numpy()
  best = float('inf')
  for _ in range(repeats):
    start = time.perf_counter()
    matmul(a, b).numpy()
    best = min(best, time.perf_counter() - start)
  return 2.0 * size**3 / best / 1e9


def forward_flops_per_image(config):
  """FLOPs of one image through the flow: 2 per multiply-add of every matmul.

  Counts the coupling networks (3x3, 1x1, 3x3 convolutions), the invertible
  1x1 convolutions and the split priors' 3x3 convolutions; the per-pixel
  element-wise work (ActNorm, ReLU, the coupling's affine map) is left out.
  """
  if not isinstance(config, GlowConfig):
    raise ValueError(f'config must be a glow_tf.GlowConfig, got {config!r}.')
  width, total = config.hidden_channels, 0
  shapes = multi_scale.level_shapes(config.image_shape, config.num_levels)
  for level, (h, w, c) in enumerate(shapes):
    half, rest = c // 2, c - c // 2
    out = rest if config.coupling == 'additive' else 2 * rest
    per_pixel = 9 * half * width + width * width + 9 * width * out
    if config.permutation in ('lu_conv', 'conv'):
      per_pixel += c * c
    total += config.num_steps * 2 * h * w * per_pixel
    if level < config.num_levels - 1:
      total += 2 * h * w * 9 * half * 2 * rest
  return total


def train_flops_per_image(config):
  """Forward, gradient with respect to the inputs and to the weights: 3x forward."""
  return 3 * forward_flops_per_image(config)


def count_parameters(module):
  """Number of trainable parameters of a `tf.Module` (or distribution)."""
  return int(sum(np.prod(v.shape) for v in module.trainable_variables))


def build_tfp_glow(config, seed=0):
  """`tfp.bijectors.Glow` with `config`'s levels, steps and width, as a distribution.

  `num_glow_blocks = L`, `num_steps_per_block = K`, coupling networks
  `tfb.GlowDefaultNetwork(num_hidden=W)` (3x3 -> 1x1 -> zero 3x3, like
  glow_tf's), exits `tfb.GlowDefaultExitNetwork` (a zero 3x3 conv, like
  glow_tf's split prior), and half of the channels leaving after every block
  but the last (`grab_after_block`), as in glow_tf. The base distribution is
  a standard normal over the flattened image, which `tfb.Glow` reshapes.
  """
  if config.coupling != 'affine' or config.permutation != 'lu_conv':
    raise ValueError('tfp.bijectors.Glow has affine couplings and LU 1x1 '
                     f'convolutions only; got coupling={config.coupling!r}, '
                     f'permutation={config.permutation!r}.')
  levels = config.num_levels
  bijector = tfb.Glow(
      output_shape=config.image_shape,
      num_glow_blocks=levels,
      num_steps_per_block=config.num_steps,
      coupling_bijector_fn=functools.partial(
          tfb.GlowDefaultNetwork, num_hidden=config.hidden_channels),
      exit_bijector_fn=tfb.GlowDefaultExitNetwork,
      grab_after_block=(0.5,) * (levels - 1) + (0.,),
      seed=seed)
  dtype = tf.as_dtype(config.dtype)
  base = tfd.Sample(tfd.Normal(tf.zeros([], dtype), tf.ones([], dtype)),
                    sample_shape=[config.num_dims])
  return tfd.TransformedDistribution(base, bijector, name='tfp_glow')


def make_train_step(log_prob_fn, variables, image_spec, jit_compile=False,
                    learning_rate=1e-4):
  """One compiled Adam step on `-mean(log_prob_fn(x))`, fixed signature.

  Args:
    log_prob_fn: `x -> [N]` log-densities.
    variables: the variables to train.
    image_spec: `tf.TensorSpec` of the batch.
    jit_compile: compile with XLA.
    learning_rate: Adam's learning rate.

  Returns:
    `step(x) -> loss`, a `tf.function`; the optimizer's slots are built.
  """
  variables = list(variables)
  optimizer = tf_keras.optimizers.Adam(learning_rate)
  optimizer.build(variables)

  @tf.function(input_signature=[image_spec], jit_compile=jit_compile)
  def step(x):
    with tf.GradientTape() as tape:
      loss = -tf.reduce_mean(log_prob_fn(x))
    grads = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(grads, variables))
    return loss

  return step


def make_sampler(distribution, batch_size, jit_compile=False):
  """A compiled `() -> batch_size samples` of `distribution`."""
  seed = tf.Variable([0, 0], dtype=tf.int32, trainable=False)

  @tf.function(input_signature=[], jit_compile=jit_compile)
  def sample():
    seed.assign_add([0, 1])
    return distribution.sample(batch_size, seed=tf.identity(seed))

  return sample


def time_interleaved(contenders, rounds=5, calls_per_round=3, warmup=1):
  """Seconds per call of each contender, measured in interleaved rounds.

  Args:
    contenders: dict `name -> callable()` returning a tensor (or structure).
    rounds: number of rounds; in each, every contender makes
      `calls_per_round` calls in turn.
    calls_per_round: calls timed together (the result of the last is fetched).
    warmup: untimed calls of each contender first (compilation).

  Returns:
    dict `name -> [seconds per call, one per round]`.
  """
  for fn in contenders.values():
    for _ in range(warmup):
      _fetch(fn())
  times = {name: [] for name in contenders}
  for _ in range(rounds):
    for name, fn in contenders.items():
      start = time.perf_counter()
      for _ in range(calls_per_round):
        out = fn()
      _fetch(out)
      times[name].append((time.perf_counter() - start) / calls_per_round)
  return times


def _fetch(structure):
  for t in tf.nest.flatten(structure):
    if hasattr(t, 'numpy'):
      t.numpy()


def _rate_and_speedup(ours, theirs, batch_size):
  """Median images/s of both, and the median of the per-round ratios."""
  ours, theirs = np.asarray(ours), np.asarray(theirs)
  return (float(np.median(batch_size / ours)),
          float(np.median(batch_size / theirs)),
          float(np.median(theirs / ours)))


def machine_description():
  """CPU model, core count and library versions, for the record."""
  model = platform.processor() or 'unknown'
  try:
    with open('/proc/cpuinfo') as f:
      found = re.search(r'model name\s*:\s*(.*)', f.read())
    if found:
      model = found.group(1).strip()
  except OSError:
    pass
  return {'cpu_model': model, 'nproc': os.cpu_count(),
          'python': platform.python_version(), 'tensorflow': tf.__version__,
          'tensorflow_probability': tfp.__version__}


def _images(batch_size, shape, seed=0, dtype=tf.float32):
  return tf.random.stateless_uniform([batch_size, *shape], seed=[seed, 7],
                                     dtype=dtype) - 0.5


def benchmark_config(config, batch_size=64, rounds=5, calls_per_round=3,
                     xla=True, peak_gflops=None, extras=True):
  """Training and sampling images/s of glow_tf and tfp.bijectors.Glow.

  Two phases of interleaved rounds. The first times only the headline pair,
  glow_tf against tfp (training and sampling), so nothing else shares the
  machine's caches and threads with them. The second (`extras`) times the
  variants against tfp again: glow_tf compiled with XLA (`xla`) and glow_tf
  training with `glow_tf.memory.memory_saving_log_prob`; each variant's
  speed-up is against the tfp rounds of the same phase.

  Returns:
    A dict of every figure of this configuration (see `run_benchmark`).
  """
  x = _images(batch_size, config.image_shape)
  spec = tf.TensorSpec([batch_size, *config.image_shape], x.dtype)
  glow = Glow(config)
  glow.initialize(x)
  theirs = build_tfp_glow(config)
  theirs.log_prob(x)  # builds the Keras networks and initialises ActNorms

  def train_step(log_prob, variables, jit_compile=False):
    return functools.partial(
        make_train_step(log_prob, variables, spec, jit_compile=jit_compile), x)

  tfp_train = train_step(theirs.log_prob, theirs.trainable_variables)
  tfp_sample = make_sampler(theirs, batch_size)
  times = time_interleaved({
      'train/glow_tf': train_step(glow.log_prob, glow.trainable_variables),
      'train/tfp': tfp_train,
      'sample/glow_tf': make_sampler(glow, batch_size),
      'sample/tfp': tfp_sample,
  }, rounds, calls_per_round)

  result = {
      'hidden_channels': config.hidden_channels,
      'num_levels': config.num_levels,
      'num_steps': config.num_steps,
      'image_shape': list(config.image_shape),
      'batch_size': batch_size,
      'glow_tf_params': count_parameters(glow),
      'tfp_params': count_parameters(theirs),
  }
  for task in ('train', 'sample'):
    ours, tfp_rate, speedup = _rate_and_speedup(
        times[f'{task}/glow_tf'], times[f'{task}/tfp'], batch_size)
    result[f'glow_tf_{task}_images_per_s'] = ours
    result[f'tfp_{task}_images_per_s'] = tfp_rate
    result[f'{task}_speedup_vs_tfp'] = speedup
  flops = train_flops_per_image(config)
  result['train_gflop_per_image'] = flops / 1e9
  result['achieved_gflops'] = flops * result['glow_tf_train_images_per_s'] / 1e9
  if peak_gflops:
    result['fraction_of_peak'] = result['achieved_gflops'] / peak_gflops

  if extras:
    variants = {
        'train/glow_tf_memory_saving': train_step(
            functools.partial(memory.memory_saving_log_prob, glow),
            glow.trainable_variables),
        'train/tfp': tfp_train,
    }
    if xla:
      variants.update({
          'train/glow_tf_xla': train_step(
              glow.log_prob, glow.trainable_variables, jit_compile=True),
          'sample/glow_tf_xla': make_sampler(glow, batch_size,
                                             jit_compile=True),
          'sample/tfp': tfp_sample,
      })
    extra_times = time_interleaved(variants, rounds, calls_per_round)
    rate, _, speedup = _rate_and_speedup(
        extra_times['train/glow_tf_memory_saving'], extra_times['train/tfp'],
        batch_size)
    result['glow_tf_memory_saving_train_images_per_s'] = rate
    result['memory_saving_train_speedup_vs_tfp'] = speedup
    if xla:
      for task in ('train', 'sample'):
        rate, _, speedup = _rate_and_speedup(
            extra_times[f'{task}/glow_tf_xla'], extra_times[f'{task}/tfp'],
            batch_size)
        result[f'glow_tf_xla_{task}_images_per_s'] = rate
        result[f'xla_{task}_speedup_vs_tfp'] = speedup
    times.update({f'extras/{k}': v for k, v in extra_times.items()})
  result['seconds_per_call'] = {k: v for k, v in times.items()}
  return result


# Peak memory, one fresh process per configuration.

def _vm_kib(field):
  with open('/proc/self/status') as f:
    return int(re.search(field + r':\s+(\d+)', f.read()).group(1))


def _memory_probe(config_dict, batch_size, memory_saving):
  """Runs in a fresh process: peak memory of one training step, in MiB.

  The step is compiled and run once on 2 images first (graph optimisation,
  kernel set-up); the peak resident set (`VmHWM`) is then reset and one step
  on `batch_size` images is run: its peak minus the resident set before it
  is the step's working memory (activations, gradients, temporaries).
  """
  config = GlowConfig(**config_dict)
  shape = config.image_shape
  glow = Glow(config)
  glow.initialize(_images(2, shape))
  log_prob = (functools.partial(memory.memory_saving_log_prob, glow)
              if memory_saving else glow.log_prob)
  step = make_train_step(log_prob, glow.trainable_variables,
                         tf.TensorSpec([None, *shape], tf.float32))
  step(_images(2, shape)).numpy()
  x = _images(batch_size, shape)
  before = _vm_kib('VmRSS')
  with open('/proc/self/clear_refs', 'w') as f:
    f.write('5')  # resets VmHWM to the current resident set
  step(x).numpy()
  peak = _vm_kib('VmHWM')
  return {'step_peak_mib': (peak - before) / 1024.0,
          'process_peak_mib': peak / 1024.0}


def peak_step_memory(config, batch_size=64, memory_saving=False):
  """Peak working memory (MiB) of one training step, in a fresh process.

  Linux only (reads `/proc/self/status`). See `_memory_probe`.
  """
  fields = {k: getattr(config, k) for k in config.__dataclass_fields__}
  code = ('import json, sys; from glow_tf import benchmarking; '
          'print("RESULT " + json.dumps(benchmarking._memory_probe('
          f'{fields!r}, {batch_size}, {memory_saving})))')
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  env['PYTHONPATH'] = os.pathsep.join(
      [root] + [p for p in [env.get('PYTHONPATH')] if p])
  done = subprocess.run([sys.executable, '-c', code], capture_output=True,
                        text=True, env=env, check=False)
  for line in done.stdout.splitlines():
    if line.startswith('RESULT '):
      return json.loads(line[len('RESULT '):])
  raise RuntimeError(f'The memory probe failed:\n{done.stderr[-3000:]}')


def run_benchmark(widths=(128, 400), base=None, batch_size=64, rounds=5,
                  calls_per_round=3, memory_steps=(8, 16, 32),
                  memory_width=None, xla=True, extras=True, log=print):
  """Every figure of the benchmark, as one JSON-ready dict.

  Args:
    widths: hidden widths to time (one configuration each).
    base: the `GlowConfig` the widths are applied to; default
      `preset('fashion_mnist')` (28x28x1, L=2, K=8).
    batch_size: global batch of every timed call.
    rounds, calls_per_round: see `time_interleaved`.
    memory_steps: values of K for the peak-memory table.
    memory_width: width of the memory configurations; default `widths[0]`.
    xla: also time glow_tf compiled with XLA (`jit_compile=True`), in the
      second phase (see `benchmark_config`).
    extras: time the variants (memory-saving training, XLA) at all.
    log: progress printer (or None).

  Returns:
    `{"peak_gflops", "machine", "configs": [...], "memory": [...]}`; each
    config has `glow_tf_train_images_per_s`, `tfp_train_images_per_s`,
    `train_speedup_vs_tfp` (median of the per-round ratios), the same for
    sampling, `fraction_of_peak` and the parameter counts of both models.
  """
  base = base or preset('fashion_mnist')
  log = log or (lambda *_: None)
  results = {'machine': machine_description(), 'batch_size': batch_size}
  log('Measuring the float32 matmul peak ...')
  results['peak_gflops'] = peak_matmul_gflops()
  configs = []
  for width in widths:
    config = base.replace(hidden_channels=width)
    log(f'Timing width {width} ...')
    row = benchmark_config(config, batch_size, rounds, calls_per_round,
                           xla and extras, peak_gflops=results['peak_gflops'],
                           extras=extras)
    # The peak again, right after, to bracket drift of a shared machine.
    configs.append(row)
  results['peak_gflops'] = max(results['peak_gflops'], peak_matmul_gflops())
  for row in configs:
    row['fraction_of_peak'] = row['achieved_gflops'] / results['peak_gflops']
  results['configs'] = configs
  memory_rows = []
  width = memory_width or widths[0]
  for num_steps in memory_steps:
    config = base.replace(hidden_channels=width, num_steps=num_steps)
    log(f'Peak memory at K={num_steps} ...')
    plain = peak_step_memory(config, batch_size, memory_saving=False)
    saving = peak_step_memory(config, batch_size, memory_saving=True)
    memory_rows.append({
        'num_steps': num_steps, 'hidden_channels': width,
        'batch_size': batch_size,
        'plain_step_peak_mib': plain['step_peak_mib'],
        'memory_saving_step_peak_mib': saving['step_peak_mib'],
        'plain_process_peak_mib': plain['process_peak_mib'],
        'memory_saving_process_peak_mib': saving['process_peak_mib'],
    })
  results['memory'] = memory_rows
  return results


def _variant_table(results, title, header, columns):
  """Rows of a second-phase variant, one per width, if the results have it."""
  rows = [r for r in results['configs'] if columns[0][0] in r]
  if not rows:
    return []
  return ['', title, header] + [
      f"{r['hidden_channels']:5d}" +
      ''.join(form.format(r[key]) for key, form in columns) for r in rows]


def format_table(results):
  """The results as plain-text tables."""
  lines = [f"float32 matmul peak: {results['peak_gflops']:.0f} GFLOP/s "
           f"({results['machine']['cpu_model']}, "
           f"{results['machine']['nproc']} cores)", '']
  header = ('width  params(glow_tf/tfp)   train img/s glow_tf  tfp  speedup'
            '   sample img/s glow_tf  tfp  speedup   GFLOP/s  of peak')
  lines.append(header)
  for r in results['configs']:
    lines.append(
        f"{r['hidden_channels']:5d}  {r['glow_tf_params']:>9,d}/"
        f"{r['tfp_params']:<9,d}  {r['glow_tf_train_images_per_s']:17.1f}"
        f" {r['tfp_train_images_per_s']:5.1f} {r['train_speedup_vs_tfp']:7.2f}x"
        f"  {r['glow_tf_sample_images_per_s']:19.1f}"
        f" {r['tfp_sample_images_per_s']:5.1f} {r['sample_speedup_vs_tfp']:7.2f}x"
        f"  {r['achieved_gflops']:8.1f}  {r['fraction_of_peak']:6.1%}")
  lines += _variant_table(
      results, 'glow_tf training with memory_saving_log_prob:',
      'width  train img/s  vs tfp',
      [('glow_tf_memory_saving_train_images_per_s', '  {:11.1f}'),
       ('memory_saving_train_speedup_vs_tfp', '  {:5.2f}x')])
  lines += _variant_table(
      results, 'glow_tf with XLA (jit_compile=True):',
      'width  train img/s  vs tfp   sample img/s  vs tfp',
      [('glow_tf_xla_train_images_per_s', '  {:11.1f}'),
       ('xla_train_speedup_vs_tfp', '  {:5.2f}x'),
       ('glow_tf_xla_sample_images_per_s', '  {:12.1f}'),
       ('xla_sample_speedup_vs_tfp', '  {:5.2f}x')])
  if results.get('memory'):
    lines += ['', 'peak memory of one training step (MiB above the resident '
              'set before it):',
              '    K  width  plain  memory-saving']
    for m in results['memory']:
      lines.append(f"{m['num_steps']:5d}  {m['hidden_channels']:5d}"
                   f"  {m['plain_step_peak_mib']:5.0f}"
                   f"  {m['memory_saving_step_peak_mib']:13.0f}")
  return '\n'.join(lines)
