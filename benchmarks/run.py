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
    seconds = floor[f'{task}_s']
    ours = batch_size / result[f'glow_tf_{task}_images_per_s']
    tfp = batch_size / result[f'tfp_{task}_images_per_s']
    # The share of glow_tf's call that its matmuls alone would take, and the
    # speed-up over tfp that glow_tf would reach if nothing else took time.
    result[f'{task}_matmul_share'] = seconds / ours
    result[f'{task}_speedup_vs_tfp_floor_bound'] = tfp / seconds
  # With the hidden layers' gradient passes, which no TensorFlow kernel
  # folds into a matmul: the tighter floor under a training step.
  result['pass_floor_train_ms'] = floor['passes_s'] * 1e3
  result['pass_floor'] = floor['passes']
  with_passes = floor['train_s'] + floor['passes_s']
  result['floor_with_passes_train_ms'] = with_passes * 1e3
  result['train_speedup_vs_tfp_floor_with_passes_bound'] = (
      batch_size / result['tfp_train_images_per_s'] / with_passes)


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
  headline = {'train/glow_tf': train_step(glow.log_prob,
                                          glow.trainable_variables),
              'train/tfp': tfp_train}
  samplers = {'sample/glow_tf': make_sampler(glow, batch_size),
              'sample/tfp': tfp_sample}
  with contextlib.ExitStack() as stack:
    if with_torch:
      theirs_torch = stack.enter_context(torch_process.TorchProcess(
          config, x, batch_size, torch_threads))
      headline['train/torch'] = functools.partial(theirs_torch.call, 'train')
      samplers['sample/torch'] = functools.partial(theirs_torch.call,
                                                   'sample')
    times = time_interleaved({**headline, **samplers}, rounds,
                             calls_per_round)

  ours = count_parameters(glow)
  result = {
      'hidden_channels': config.hidden_channels,
      'num_levels': config.num_levels,
      'num_steps': config.num_steps,
      'image_shape': list(config.image_shape),
      'batch_size': batch_size,
      'glow_tf_params': ours,
      'tfp_params': count_parameters(theirs),
  }
  contenders = ('tfp', 'torch') if with_torch else ('tfp',)
  if with_torch:
    result['torch_params'] = theirs_torch.facts['params']
    result['torch_params_match'] = bool(
        abs(result['torch_params'] - ours) <= _MATCH_TOLERANCE * ours)
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
  if peak_gflops:
    _fractions_of_peak(result, peak_gflops)
  if with_floor:
    _floor(result, fastest(floor_before, matmul_floor(config, batch_size)),
           batch_size)

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
  if with_torch:
    with_torch, facts = torch_contender.setup(torch_threads)
    if with_torch:
      log(f"PyTorch {facts['version']}: intra-op threads {facts['threads']} "
          f"(TensorFlow's: {facts['tensorflow_threads']}), "
          f"{facts['memory_format']}, in a process of its own.")
      results['torch'] = dict(facts, process='own (torch_process)')
    else:
      log(facts)
      results['torch'] = {'skipped': facts, 'reason': 'not installed'}
  else:
    results['torch'] = {'skipped': 'not asked for (with_torch=False)',
                        'reason': 'not asked for'}
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
