r"""Where glow_tf's training step or sampling call spends its time, by op type.

```
python -m experiments.profile_ops --task=sample --num_steps=8 --one_chain
python -m experiments.profile_ops --task=train --num_steps=8 --output=/tmp/ops.json
```

Builds the `--preset` Glow at `--width` (initialised on random images),
compiles the benchmark's training step (`--task=train`: forward, backward
and an Adam update on a batch of `--batch_size`) or sampler (`--task=sample`:
`Glow.sample`, which runs a batch as two halves on a CPU; `--one_chain`
runs the whole batch as one chain instead), and profiles `--calls` calls
with `tf.profiler` (`benchmarks.op_profile`). Prints the median
wall-clock time of a call (timed without the profiler), the op time summed
by op type per call, its share of all op time, and the matmuls' total;
`--output` writes it as JSON. Op time counts every thread: on two cores it
adds up to more than the wall-clock time.
"""

import os
import sys

if not __package__:  # Run as `python experiments/<name>.py`: find the packages.
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  import experiments  # Loads TensorFlow quietly (experiments/__init__.py).

# pylint: disable=g-import-not-at-top,wrong-import-position
from absl import app
from absl import flags
import tensorflow as tf
import tensorflow_probability as tfp

from benchmarks import contenders
from benchmarks import op_profile
from benchmarks.memory_probe import random_images
from experiments import _flags
from experiments import _main
from glow_tf import config as config_lib
from glow_tf import glow as glow_lib
from glow_tf.analysis import figures
from glow_tf.analysis import records

_TASK = flags.DEFINE_enum('task', 'sample', ['sample', 'train'],
                          'What to profile.')
_PRESET = flags.DEFINE_enum('preset', 'fashion_mnist',
                            sorted(config_lib.PRESETS), 'Base architecture.')
_WIDTH = flags.DEFINE_integer('width', 128, 'Hidden width of the coupling '
                              'networks.', lower_bound=1)
_NUM_STEPS = flags.DEFINE_integer('num_steps', None, 'K (overrides preset).',
                                  lower_bound=1)
_BATCH_SIZE = flags.DEFINE_integer('batch_size', 64, 'Images per call.',
                                   lower_bound=1)
_CALLS = flags.DEFINE_integer('calls', 10, 'Calls under the profiler.',
                              lower_bound=1)
_ONE_CHAIN = flags.DEFINE_boolean(
    'one_chain', False, 'With --task=sample: the whole batch as one chain '
    '(the flow applied to all latents at once) instead of two halves.')
_TOP = flags.DEFINE_integer('top', 25, 'Rows to print.', lower_bound=1)
_OUTPUT = _flags.define_output_file('Write the profile as JSON here.')


def _call(glow, images):
  """The compiled call to profile, its inputs bound."""
  if _TASK.value == 'train':
    step = contenders.make_train_step(
        glow.log_prob, glow.trainable_variables,
        tf.TensorSpec(images.shape, images.dtype))
    return lambda: step(images)
  if _ONE_CHAIN.value:
    # The flow on all latents at once: the same images as `Glow.sample`,
    # which runs two halves.
    glow = tfp.distributions.TransformedDistribution(glow.distribution,
                                                     glow.bijector)
  return contenders.make_sampler(glow, _BATCH_SIZE.value)


def format_profile(profile, top):
  """The profile as text: the wall time, then one line per op type."""
  total = profile['op_ms_per_call']
  lines = [f"wall-clock {profile['wall_ms']:.1f} ms per call (without the "
           f"profiler); op time {total:.1f} ms per call, of which matmuls "
           f"{profile['matmul_ms']:.1f} ms ({100 * profile['matmul_ms'] / total:.0f} %)",
           f"{'ms/call':>9} {'share':>6} {'ops/call':>9}  op"]
  for row in profile['ops'][:top]:
    share = ('' if row['op'] == 'XLA execution' else
             f"{100 * row['ms_per_call'] / total:5.1f}%")
    lines.append(f"{row['ms_per_call']:9.2f} {share:>6} "
                 f"{row['count_per_call']:9.1f}  {row['op']}")
  return '\n'.join(lines)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  if _ONE_CHAIN.value and _TASK.value != 'sample':
    raise app.UsageError('--one_chain needs --task=sample.')
  config = config_lib.preset(_PRESET.value, hidden_channels=_WIDTH.value,
                             **_flags.given(num_steps=_NUM_STEPS))
  images = random_images(_BATCH_SIZE.value, config.image_shape)
  glow = glow_lib.Glow(config)
  glow.initialize(images)
  _main.progress(f'Profiling {_CALLS.value} calls of {_TASK.value} '
                 f'(width {_WIDTH.value}, K={config.num_steps}, batch '
                 f'{_BATCH_SIZE.value}) ...')
  profile = op_profile.profile_ops(_call(glow, images), calls=_CALLS.value)
  print(format_profile(profile, _TOP.value))
  if _OUTPUT.value:
    profile.update(
        task=_TASK.value, one_chain=_ONE_CHAIN.value, width=_WIDTH.value,
        num_steps=config.num_steps, batch_size=_BATCH_SIZE.value,
        calls=_CALLS.value, commit=records.git_commit(),
        command=' '.join(['python -m experiments.profile_ops'] +
                         sys.argv[1:]))
    figures.write_json(_OUTPUT.value, profile)


if __name__ == '__main__':
  _main.run(main)
