"""Peak memory of one training step, measured in a fresh process (Linux)."""

import functools
import json
import os
import re
import subprocess
import sys

import tensorflow as tf

from benchmarks.contenders import make_train_step
from glow_tf import memory
from glow_tf.config import GlowConfig
from glow_tf.glow import Glow

__all__ = ['peak_step_memory', 'random_images']


def random_images(batch_size, shape, seed=0, dtype=tf.float32):
  """Uniform model-space images in `[-0.5, 0.5)`, `[batch_size, *shape]`."""
  return tf.random.stateless_uniform([batch_size, *shape], seed=[seed, 7],
                                     dtype=dtype) - 0.5


def _vm_kib(field):
  with open('/proc/self/status') as f:
    return int(re.search(field + r':\s+(\d+)', f.read()).group(1))


def probe(config_dict, batch_size, memory_saving):
  """Runs in a fresh process: peak memory of one training step, in MiB.

  The step is compiled and run once on 2 images first (graph optimisation,
  kernel set-up); the peak resident set (`VmHWM`) is then reset and one step
  on `batch_size` images is run: its peak minus the resident set before it
  is the step's working memory (activations, gradients, temporaries).
  """
  config = GlowConfig(**config_dict)
  shape = config.image_shape
  glow = Glow(config)
  glow.initialize(random_images(2, shape))
  log_prob = (functools.partial(memory.memory_saving_log_prob, glow)
              if memory_saving else glow.log_prob)
  step = make_train_step(log_prob, glow.trainable_variables,
                         tf.TensorSpec([None, *shape], tf.float32))
  step(random_images(2, shape)).numpy()
  x = random_images(batch_size, shape)
  before = _vm_kib('VmRSS')
  with open('/proc/self/clear_refs', 'w') as f:
    f.write('5')  # resets VmHWM to the current resident set
  step(x).numpy()
  peak = _vm_kib('VmHWM')
  return {'step_peak_mib': (peak - before) / 1024.0,
          'process_peak_mib': peak / 1024.0}


def peak_step_memory(config, batch_size=64, memory_saving=False):
  """Peak working memory (MiB) of one training step, in a fresh process.

  Linux only (reads `/proc/self/status`). See `probe`.
  """
  fields = {k: getattr(config, k) for k in config.__dataclass_fields__}
  code = ('import json; from benchmarks import memory_probe; '
          'print("RESULT " + json.dumps(memory_probe.probe('
          f'{fields!r}, {batch_size}, {memory_saving})))')
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
  # The repository's root, where `benchmarks` and `glow_tf` are found.
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  env['PYTHONPATH'] = os.pathsep.join(
      [root] + [p for p in [env.get('PYTHONPATH')] if p])
  done = subprocess.run([sys.executable, '-c', code], capture_output=True,
                        text=True, env=env, check=False)
  for line in done.stdout.splitlines():
    if line.startswith('RESULT '):
      return json.loads(line[len('RESULT '):])
  raise RuntimeError(f'The memory probe failed:\n{done.stderr[-3000:]}')
