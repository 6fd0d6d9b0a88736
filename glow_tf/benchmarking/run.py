"""`run_benchmark`: every contender timed in interleaved rounds, as one dict."""

import functools

import tensorflow as tf

from glow_tf import memory
from glow_tf.benchmarking.contenders import build_tfp_glow
from glow_tf.benchmarking.contenders import make_sampler
from glow_tf.benchmarking.contenders import make_train_step
from glow_tf.benchmarking.flops import count_parameters
from glow_tf.benchmarking.flops import train_flops_per_image
from glow_tf.benchmarking.memory_probe import peak_step_memory
from glow_tf.benchmarking.memory_probe import random_images
from glow_tf.benchmarking.peak import peak_matmul_gflops
from glow_tf.benchmarking.timing import machine_description
from glow_tf.benchmarking.timing import rate_and_speedup
from glow_tf.benchmarking.timing import time_interleaved
from glow_tf.config import preset
from glow_tf.glow import Glow

__all__ = ['benchmark_config', 'run_benchmark']


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
  x = random_images(batch_size, config.image_shape)
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
    ours, tfp_rate, speedup = rate_and_speedup(
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
    rate, _, speedup = rate_and_speedup(
        extra_times['train/glow_tf_memory_saving'], extra_times['train/tfp'],
        batch_size)
    result['glow_tf_memory_saving_train_images_per_s'] = rate
    result['memory_saving_train_speedup_vs_tfp'] = speedup
    if xla:
      for task in ('train', 'sample'):
        rate, _, speedup = rate_and_speedup(
            extra_times[f'{task}/glow_tf_xla'], extra_times[f'{task}/tfp'],
            batch_size)
        result[f'glow_tf_xla_{task}_images_per_s'] = rate
        result[f'xla_{task}_speedup_vs_tfp'] = speedup
    times.update({f'extras/{k}': v for k, v in extra_times.items()})
  result['seconds_per_call'] = {k: v for k, v in times.items()}
  return result


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
