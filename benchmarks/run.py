"""`run_benchmark`: every contender timed in interleaved rounds, as one dict."""

import contextlib
import functools

import numpy as np
import tensorflow as tf

from benchmarks import torch_contender
from benchmarks import torch_process
from benchmarks.contenders import build_tfp_glow
from benchmarks.contenders import make_sampler
from benchmarks.contenders import make_train_step
from benchmarks.flops import count_parameters
from benchmarks.flops import forward_flops_per_image
from benchmarks.flops import train_flops_per_image
from benchmarks.floor import fastest
from benchmarks.floor import matmul_floor
from benchmarks.memory_probe import peak_step_memory
from benchmarks.memory_probe import random_images
from benchmarks.timing import rate_and_speedup
from benchmarks.timing import speedup_range
from benchmarks.timing import time_interleaved
from glow_tf import memory
from glow_tf.config import preset
from glow_tf.glow import Glow
from glow_tf.machine import machine_info
from glow_tf.machine import matmul_probes
from glow_tf.machine import model_matmul_shapes

__all__ = ['benchmark_config', 'run_benchmark']

_MATCH_TOLERANCE = 0.01  # relative difference of two parameter counts


def _ratios(result, times, task, batch_size, contender):
  """`contender`'s images/s and glow_tf's speed-up over it, into `result`."""
  _, rate, speedup = rate_and_speedup(
      times[f'{task}/glow_tf'], times[f'{task}/{contender}'], batch_size)
  result[f'{contender}_{task}_images_per_s'] = rate
  result[f'{task}_speedup_vs_{contender}'] = speedup
  result[f'{task}_speedup_vs_{contender}_range'] = list(speedup_range(
      times[f'{task}/glow_tf'], times[f'{task}/{contender}']))


def _floor(result, floor, batch_size):
  """The floor's figures, against glow_tf's and tfp's step times."""
  result['matmul_floor_train_ms'] = floor['train_s'] * 1e3
  result['matmul_floor_sample_ms'] = floor['sample_s'] * 1e3
  result['matmul_floor'] = floor['matmuls']
  for task in ('train', 'sample'):
    floor_seconds = floor[f'{task}_s']
    glow_tf_seconds = batch_size / result[f'glow_tf_{task}_images_per_s']
    tfp_seconds = batch_size / result[f'tfp_{task}_images_per_s']
    # The share of glow_tf's call that its matmuls alone would take, and the
    # speed-up over tfp that glow_tf would reach if nothing else took time.
    result[f'{task}_matmul_share'] = floor_seconds / glow_tf_seconds
    result[f'{task}_speedup_vs_tfp_floor_bound'] = tfp_seconds / floor_seconds
  # With the hidden layers' gradient passes, which no TensorFlow kernel
  # folds into a matmul: the tighter floor under a training step.
  result['pass_floor_train_ms'] = floor['passes_s'] * 1e3
  result['pass_floor'] = floor['passes']
  with_passes = floor['train_s'] + floor['passes_s']
  result['floor_with_passes_train_ms'] = with_passes * 1e3
  result['train_speedup_vs_tfp_floor_with_passes_bound'] = (
      batch_size / result['tfp_train_images_per_s'] / with_passes)


def _build_models(config, batch_size):
  """glow_tf's `Glow` and tfp's, both initialised on one random batch.

  Returns `(glow, tfp_glow, x, spec)`: the models, the batch and its
  `tf.TensorSpec`, the signature of every compiled training step.
  """
  x = random_images(batch_size, config.image_shape)
  spec = tf.TensorSpec([batch_size, *config.image_shape], x.dtype)
  glow = Glow(config)
  glow.initialize(x)
  tfp_glow = build_tfp_glow(config)
  tfp_glow.log_prob(x)  # builds the Keras networks and initialises ActNorms
  return glow, tfp_glow, x, spec


def _train_step(log_prob, variables, x, spec, jit_compile=False):
  """`() -> loss`: one compiled training step (`make_train_step`) on `x`."""
  return functools.partial(
      make_train_step(log_prob, variables, spec, jit_compile=jit_compile), x)


def _time_headline(calls, config, x, batch_size, rounds, calls_per_round,
                   with_torch, torch_threads):
  """The first phase's rounds: `calls`, with PyTorch's if `with_torch`.

  PyTorch runs in a process of its own (`torch_process.TorchProcess`, with
  `torch_threads` threads), opened for these rounds only. Every training
  call is timed before the sampling calls in each round.

  Returns:
    `(times, torch_params)`: the seconds per call of every round by name
    (`time_interleaved`), and PyTorch's parameter count (None without it).
  """
  calls = dict(calls)
  torch_params = None
  with contextlib.ExitStack() as stack:
    if with_torch:
      torch_glow = stack.enter_context(torch_process.TorchProcess(
          config, x, batch_size, torch_threads))
      calls['train/torch'] = functools.partial(torch_glow.call, 'train')
      calls['sample/torch'] = functools.partial(torch_glow.call, 'sample')
      torch_params = torch_glow.facts['params']
    ordered = {name: call for task in ('train', 'sample')
               for name, call in calls.items() if name.startswith(f'{task}/')}
    times = time_interleaved(ordered, rounds, calls_per_round)
  return times, torch_params


def _model_facts(config, batch_size, glow, tfp_glow, torch_params):
  """The configuration and every contender's parameter count, as a row."""
  glow_tf_params = count_parameters(glow)
  result = {
      'hidden_channels': config.hidden_channels,
      'num_levels': config.num_levels,
      'num_steps': config.num_steps,
      'image_shape': list(config.image_shape),
      'batch_size': batch_size,
      'glow_tf_params': glow_tf_params,
      'tfp_params': count_parameters(tfp_glow),
  }
  if torch_params is not None:
    result['torch_params'] = torch_params
    result['torch_params_match'] = bool(
        abs(torch_params - glow_tf_params) <= _MATCH_TOLERANCE * glow_tf_params)
  return result


def _speeds(result, times, config, batch_size, contenders):
  """Images/s, speed-ups over each of `contenders` and GFLOP/s, into `result`."""
  for task in ('train', 'sample'):
    result[f'glow_tf_{task}_images_per_s'] = float(np.median(
        batch_size / np.asarray(times[f'{task}/glow_tf'])))
    for contender in contenders:
      _ratios(result, times, task, batch_size, contender)
  flops = train_flops_per_image(config)
  result['train_gflop_per_image'] = flops / 1e9
  # The same analytic FLOPs for every contender: the same convolutions.
  result['achieved_gflops'] = flops * result['glow_tf_train_images_per_s'] / 1e9
  for contender in contenders:
    result[f'{contender}_achieved_gflops'] = (
        flops * result[f'{contender}_train_images_per_s'] / 1e9)
  # Sampling runs the flow once, latent to image: the forward FLOPs (the
  # inverse 1x1 convolutions cost what the forward ones do).
  sample_flops = forward_flops_per_image(config)
  result['sample_gflop_per_image'] = sample_flops / 1e9
  result['sample_achieved_gflops'] = (
      sample_flops * result['glow_tf_sample_images_per_s'] / 1e9)


def _time_variants(result, glow, x, spec, tfp_calls, rounds,
                   calls_per_round, xla):
  """The second phase: glow_tf's variants against tfp again, into `result`.

  Memory-saving training (`glow_tf.memory.memory_saving_log_prob`) and, with
  `xla`, training and sampling compiled with XLA; each variant's speed-up is
  against the tfp rounds of this phase (`tfp_calls`, the first phase's
  compiled calls, by name). Returns the seconds per call of every round.
  """
  batch_size = int(x.shape[0])
  variants = {
      'train/glow_tf_memory_saving': _train_step(
          functools.partial(memory.memory_saving_log_prob, glow),
          glow.trainable_variables, x, spec),
      'train/tfp': tfp_calls['train/tfp'],
  }
  if xla:
    variants.update({
        'train/glow_tf_xla': _train_step(
            glow.log_prob, glow.trainable_variables, x, spec,
            jit_compile=True),
        'sample/glow_tf_xla': make_sampler(glow, batch_size, jit_compile=True),
        'sample/tfp': tfp_calls['sample/tfp'],
    })
  times = time_interleaved(variants, rounds, calls_per_round)
  rate, _, speedup = rate_and_speedup(
      times['train/glow_tf_memory_saving'], times['train/tfp'], batch_size)
  result['glow_tf_memory_saving_train_images_per_s'] = rate
  result['memory_saving_train_speedup_vs_tfp'] = speedup
  if xla:
    for task in ('train', 'sample'):
      rate, _, speedup = rate_and_speedup(
          times[f'{task}/glow_tf_xla'], times[f'{task}/tfp'], batch_size)
      result[f'glow_tf_xla_{task}_images_per_s'] = rate
      result[f'xla_{task}_speedup_vs_tfp'] = speedup
  return times


def benchmark_config(config, batch_size=64, rounds=5, calls_per_round=3,
                     xla=True, peak_gflops=None, extras=True,
                     with_torch=False, torch_threads=1, with_floor=True):
  """Training and sampling images/s of glow_tf, tfp.bijectors.Glow and PyTorch.

  Two phases of interleaved rounds. The first times only the headline
  contenders, glow_tf against tfp and (`with_torch`, see
  `torch_contender.setup`) against `TorchGlow` in PyTorch, training and
  sampling, so nothing else shares the machine's caches and threads with
  them. The second (`extras`) times the variants against tfp again: glow_tf
  compiled with XLA (`xla`) and glow_tf training with
  `glow_tf.memory.memory_saving_log_prob`; each variant's speed-up is
  against the tfp rounds of the same phase. PyTorch runs in a process of
  its own (`torch_process.TorchProcess`, with `torch_threads` threads), so
  the two libraries' thread pools never share one process. Before and
  after the rounds (`with_floor`), `floor.matmul_floor` times glow_tf's
  matmuls and its hidden layers' gradient passes alone, and each one's
  faster time is kept (`floor.fastest`): the floor under its step, and the
  speed-up over tfp that it allows.

  Returns:
    A dict of every figure of this configuration (see `run_benchmark`).
  """
  # The matmul floor before the rounds; again after them, keeping the faster.
  floor_before = matmul_floor(config, batch_size) if with_floor else None
  glow, tfp_glow, x, spec = _build_models(config, batch_size)
  calls = {
      'train/glow_tf': _train_step(glow.log_prob, glow.trainable_variables,
                                   x, spec),
      'train/tfp': _train_step(tfp_glow.log_prob,
                               tfp_glow.trainable_variables, x, spec),
      'sample/glow_tf': make_sampler(glow, batch_size),
      'sample/tfp': make_sampler(tfp_glow, batch_size),
  }
  times, torch_params = _time_headline(
      calls, config, x, batch_size, rounds, calls_per_round, with_torch,
      torch_threads)
  result = _model_facts(config, batch_size, glow, tfp_glow, torch_params)
  _speeds(result, times, config, batch_size,
          ('tfp', 'torch') if with_torch else ('tfp',))
  if peak_gflops:
    _fractions_of_peak(result, peak_gflops)
  if with_floor:
    _floor(result, fastest(floor_before, matmul_floor(config, batch_size)),
           batch_size)
  if extras:
    extra_times = _time_variants(result, glow, x, spec, calls, rounds,
                                 calls_per_round, xla)
    times.update({f'extras/{k}': v for k, v in extra_times.items()})
  result['seconds_per_call'] = dict(times)
  return result


def _peak(results, configs, probes):
  """The peak: the best probe, or the best model if that beat every probe."""
  probe_peak = max(probes.values())
  best = max(row[key] for row in configs for key in row
             if key.endswith('achieved_gflops'))
  results['peak_probes'] = probes
  results['probe_peak_gflops'] = probe_peak
  results['peak_underestimated'] = bool(best > probe_peak)
  results['peak_gflops'] = max(probe_peak, best)
  for row in configs:
    _fractions_of_peak(row, results['peak_gflops'])


def _fractions_of_peak(row, peak_gflops):
  """`<name>fraction_of_peak` beside every `<name>achieved_gflops` of `row`."""
  for key in [k for k in row if k.endswith('achieved_gflops')]:
    name = key[:-len('achieved_gflops')]
    row[f'{name}fraction_of_peak'] = row[key] / peak_gflops


def run_benchmark(widths=(128, 400), base=None, batch_size=64, rounds=5,
                  calls_per_round=3, memory_steps=(8, 16, 32),
                  memory_width=None, xla=True, extras=True, with_torch=True,
                  torch_threads=None, with_floor=True, log=print):
  """Every figure of the benchmark, as one JSON-ready dict.

  Args:
    widths: hidden widths to time (one configuration each).
    base: the `GlowConfig` the widths are applied to; default
      `preset('fashion_mnist')` (28x28x1, L=2, K=16; the figures in
      docs/performance.md up to 2026-12-03 were taken at K=8).
    batch_size: global batch of every timed call.
    rounds, calls_per_round: see `time_interleaved`.
    memory_steps: values of K for the peak-memory table.
    memory_width: width of the memory configurations; default `widths[0]`.
    xla: also time glow_tf compiled with XLA (`jit_compile=True`), in the
      second phase (see `benchmark_config`).
    extras: time the variants (memory-saving training, XLA) at all.
    with_torch: also time `TorchGlow` in PyTorch, if PyTorch is installed
      (if not, one message says it is skipped and how to install it).
    torch_threads: PyTorch's intra-op threads; default TensorFlow's.
    with_floor: also time glow_tf's matmuls and gradient passes alone
      (`matmul_floor`).
    log: progress printer (or None).

  Returns:
    `{"peak_gflops", "machine", "torch", "configs": [...], "memory": [...]}`.
    Each config has `glow_tf_train_images_per_s`, `tfp_train_images_per_s`,
    `train_speedup_vs_tfp` (median of the per-round ratios) and
    `train_speedup_vs_tfp_range` (their lowest and highest), with PyTorch
    `torch_train_images_per_s` and `train_speedup_vs_torch`, the same for
    sampling, the parameter counts (`torch_params_match`: within 1 % of
    glow_tf's), the GFLOP/s each reaches and its fraction of the peak.
    The peak is the best of `peak_probes` (matmuls timed before and after
    the rounds), unless a model beat it (`peak_underestimated`); then the
    model's GFLOP/s, so no fraction of the peak exceeds 1. With
    `with_floor`: `matmul_floor_train_ms` and `matmul_floor_sample_ms`,
    `train_matmul_share` (the floor over glow_tf's step time) and
    `train_speedup_vs_tfp_floor_bound` (tfp's step time over the floor),
    the same for sampling, and the per-shape rows (`matmul_floor`); for
    training also `pass_floor_train_ms` (the hidden layers' gradient
    passes, rows in `pass_floor`), `floor_with_passes_train_ms` (both) and
    `train_speedup_vs_tfp_floor_with_passes_bound`.
  """
  base = base or preset('fashion_mnist')
  log = log or (lambda *_: None)
  results = {'machine': machine_info(), 'batch_size': batch_size}
  with_torch, results['torch'] = _torch_facts(with_torch, torch_threads, log)
  configs = [base.replace(hidden_channels=width) for width in widths]
  shapes = [s for config in configs
            for s in model_matmul_shapes(config, batch_size)]
  log('Measuring the float32 matmul peak ...')
  probes = matmul_probes(shapes)
  rows = []
  for config in configs:
    log(f'Timing width {config.hidden_channels} ...')
    rows.append(benchmark_config(
        config, batch_size, rounds, calls_per_round, xla and extras,
        extras=extras, with_torch=with_torch,
        torch_threads=results['torch'].get('threads', 1),
        with_floor=with_floor))
  # The peak again, right after, to bracket drift of a shared machine.
  for name, gflops in matmul_probes(shapes).items():
    probes[name] = max(probes[name], gflops)
  _peak(results, rows, probes)
  results['configs'] = rows
  results['memory'] = [
      _memory_row(base.replace(hidden_channels=memory_width or widths[0],
                               num_steps=num_steps), batch_size, log)
      for num_steps in memory_steps]
  return results


def _torch_facts(with_torch, torch_threads, log):
  """Readies PyTorch if asked and installed: `(with_torch, results['torch'])`."""
  if not with_torch:
    return False, {'skipped': 'not asked for (with_torch=False)',
                   'reason': 'not asked for'}
  available, facts = torch_contender.setup(torch_threads)
  if not available:
    log(facts)
    return False, {'skipped': facts, 'reason': 'not installed'}
  log(f"PyTorch {facts['version']}: intra-op threads {facts['threads']} "
      f"(TensorFlow's: {facts['tensorflow_threads']}), "
      f"{facts['memory_format']}, in a process of its own.")
  return True, dict(facts, process='own (torch_process)')


def _memory_row(config, batch_size, log):
  """Peak memory of one training step of `config`, plain and memory-saving."""
  log(f'Peak memory at K={config.num_steps} ...')
  plain = peak_step_memory(config, batch_size, memory_saving=False)
  saving = peak_step_memory(config, batch_size, memory_saving=True)
  return {
      'num_steps': config.num_steps,
      'hidden_channels': config.hidden_channels,
      'batch_size': batch_size,
      'plain_step_peak_mib': plain['step_peak_mib'],
      'memory_saving_step_peak_mib': saving['step_peak_mib'],
      'plain_process_peak_mib': plain['process_peak_mib'],
      'memory_saving_process_peak_mib': saving['process_peak_mib'],
  }
