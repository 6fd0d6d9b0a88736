r"""Benchmarks glow_tf against tfp.bijectors.Glow, PyTorch and the machine's matmul peak.

```
python -m experiments.benchmark --output=/tmp/benchmark.json
```

In one process: the float32 matmul peak (the best of several matmul shapes,
the model's own among them, timed before and after the rounds); for every
`--widths` value, the training and sampling images/s of glow_tf, of
`tfp.bijectors.Glow` built to the same levels, steps and width, and (with
`--torch`, if PyTorch is installed: `pip install -e '.[bench]'`) of the
same Glow written in PyTorch, `benchmarks.torch_glow.TorchGlow`,
on as many threads as TensorFlow uses, all in the same interleaved rounds;
the parameter counts, the analytic training FLOPs and the fraction of the
peak each reaches; with `--floor`, glow_tf's matmuls and its hidden
layers' gradient passes each timed alone (`benchmarks.floor`):
the floor under its step, and the speed-up over tfp that it allows on this
machine;
with `--extras`, a second phase of rounds timing glow_tf's memory-saving
training and (with `--xla`) glow_tf compiled with XLA against tfp again;
then the peak memory of one training step for each `--memory_steps` value of
K, with and without `glow_tf.memory.memory_saving_log_prob` (one fresh
process each). Prints a table; `--output` writes every figure as JSON.
The library is `benchmarks/`; results in docs/performance.md.
"""

import os
import sys

if not __package__:  # Run as `python experiments/<name>.py`: find the packages.
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  import experiments  # Loads TensorFlow quietly (experiments/__init__.py).

# pylint: disable=g-import-not-at-top,wrong-import-position
from absl import app
from absl import flags

import benchmarks
from experiments import _flags
from experiments import _main
from glow_tf.analysis import figures
from glow_tf.analysis import records
from glow_tf import config as config_lib


_PRESET = flags.DEFINE_enum('preset', 'fashion_mnist',
                            sorted(config_lib.PRESETS), 'Base architecture.')
_WIDTHS = flags.DEFINE_list('widths', ['128', '400'],
                            'Hidden widths of the coupling networks to time.')
_NUM_LEVELS = flags.DEFINE_integer('num_levels', None, 'L (overrides preset).')
_NUM_STEPS = flags.DEFINE_integer('num_steps', None,
                                  'K for the timings (overrides preset).')
_BATCH_SIZE = flags.DEFINE_integer('batch_size', 64, 'Global batch size.')
_ROUNDS = flags.DEFINE_integer('rounds', 5, 'Interleaved timing rounds.')
_CALLS = flags.DEFINE_integer('calls_per_round', 3,
                              'Calls of each contender per round.')
_XLA = flags.DEFINE_boolean(
    'xla', True, 'Also time glow_tf compiled with XLA (in the second phase, '
    'so only with --extras).')
_EXTRAS = flags.DEFINE_boolean(
    'extras', True, 'Time the variants (memory-saving training, and XLA with '
    '--xla) against tfp in a second phase, after the headline pair.')
_TORCH = flags.DEFINE_boolean(
    'torch', True, 'Also time the same Glow in PyTorch (skipped, with a '
    "message, if PyTorch is not installed: pip install -e '.[bench]').")
_TORCH_THREADS = flags.DEFINE_integer(
    'torch_threads', None, "PyTorch's intra-op threads (default: as many as "
    'TensorFlow uses).')
_FLOOR = flags.DEFINE_boolean(
    'floor', True, "Also time glow_tf's matmuls and its hidden layers' "
    "gradient passes alone, before and after each width's rounds (the "
    "faster kept): the floor under its step, and the speed-up over tfp it "
    'allows.')
_MEMORY_STEPS = flags.DEFINE_list(
    'memory_steps', ['8', '16', '32'],
    'Values of K for the peak-memory table (empty: skip it).')
_MEMORY_WIDTH = flags.DEFINE_integer(
    'memory_width', None, 'Width of the memory runs (default: first width).')
_OUTPUT = _flags.define_output_file('Write the results as JSON here.')


def _ints(values, name):
  try:
    return tuple(int(v) for v in values if v)
  except ValueError:
    raise app.UsageError(f'--{name} must be integers, got {values!r}.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  base = config_lib.preset(_PRESET.value, **_flags.given(
      num_levels=_NUM_LEVELS, num_steps=_NUM_STEPS))
  results = benchmarks.run_benchmark(
      widths=_ints(_WIDTHS.value, 'widths'), base=base,
      batch_size=_BATCH_SIZE.value, rounds=_ROUNDS.value,
      calls_per_round=_CALLS.value,
      memory_steps=_ints(_MEMORY_STEPS.value, 'memory_steps'),
      memory_width=_MEMORY_WIDTH.value, xla=_XLA.value,
      extras=_EXTRAS.value, with_torch=_TORCH.value,
      torch_threads=_TORCH_THREADS.value, with_floor=_FLOOR.value,
      log=lambda message: print(message, file=sys.stderr, flush=True))
  results['command'] = ' '.join(['python -m experiments.benchmark'] +
                                sys.argv[1:])
  results['commit'] = records.git_commit()  # '<sha>+dirty' if edited
  print(benchmarks.format_table(results))
  if _OUTPUT.value:
    figures.write_json(_OUTPUT.value, results)


if __name__ == '__main__':
  _main.run(main)
