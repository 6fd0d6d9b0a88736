"""A/B of glow_tf's training or sampling speed between two checkouts.

```
git worktree add ../old 84e661e
python -m experiments.ab_speed --task=train --trees=../old,. \
    --widths=128,400 --rounds=5 --output=docs/benchmarks/<name>.json
```
Each round runs one fresh process per tree and width, alternating which
goes first, and times `--calls` compiled calls on a batch of 64 of the
fashion_mnist preset at that width (`--num_steps` overrides its K):

* `--task=sample`: `Glow.sample(64)` (the benchmark's sampler);
* `--task=train`: one Adam step on `-mean(log_prob)` (the benchmark's
  `benchmarks.contenders.make_train_step`; in a checkout older than the
  `benchmarks/` package, `glow_tf.benchmarking.contenders`).

A tree's figure is the median over rounds, the ratio the median of the
per-round ratios. Only API that both checkouts have is used (`glow_tf.Glow`,
`preset`, `initialize`, `contenders.make_train_step`). (Until 2026-12-03
this was `experiments/ab_sampling.py`, sampling only.)
"""

import json
import os
import subprocess
import sys

from absl import app
from absl import flags
import numpy as np

from experiments import _flags
from glow_tf.analysis import figures

_TASK = flags.DEFINE_enum('task', 'sample', ['sample', 'train'],
                          'What to time.')
_NUM_STEPS = flags.DEFINE_integer('num_steps', None,
                                  "K (default: the preset's).", lower_bound=1)
_TREES = flags.DEFINE_list('trees', None, 'OLD,NEW: two checkouts of glow_tf.',
                           required=True)
_WIDTHS = flags.DEFINE_list('widths', ['128', '400'], 'Hidden widths.')
_ROUNDS = flags.DEFINE_integer('rounds', 5, 'Alternating rounds.')
_CALLS = flags.DEFINE_integer('calls', 20, 'Timed calls per process.')
_OUTPUT = _flags.define_output_file('Write the results as JSON here.')
_NEW_CONFIG = flags.DEFINE_list(
    'new_config', [], 'KEY=VALUE overrides of the NEW side\'s GlowConfig '
    '(for example network_dtype=bfloat16), to compare a setting within one '
    'checkout: --trees=.,. --new_config=network_dtype=bfloat16.')

_CHILD = r'''
import json, sys, time
import tensorflow as tf
import glow_tf
width, calls, task = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
overrides = json.loads(sys.argv[4])
config = glow_tf.preset('fashion_mnist', hidden_channels=width, **overrides)
glow = glow_tf.Glow(config)
x = tf.random.stateless_uniform([64, 28, 28, 1], [0, 1]) - 0.5
glow.initialize(x)
seed = tf.Variable([0, 0], dtype=tf.int32, trainable=False)

@tf.function(input_signature=[])
def sample():
  seed.assign_add([0, 1])
  return glow.sample(64, seed=tf.identity(seed))

if task == 'train':
  try:  # a checkout with benchmarks/ beside glow_tf/
    from benchmarks import contenders
  except ImportError:  # an older one, with glow_tf/benchmarking/
    from glow_tf.benchmarking import contenders
  train = contenders.make_train_step(glow.log_prob, glow.trainable_variables,
                                     tf.TensorSpec(x.shape, x.dtype))
  call = lambda: train(x).numpy()
else:
  call = lambda: sample().numpy()
call()
times = []
for _ in range(calls):
  start = time.perf_counter()
  call()
  times.append(time.perf_counter() - start)
print('RESULT', json.dumps(times))
'''


def parse_overrides(pairs):
  """`['network_dtype=bfloat16', 'num_steps=4']` -> a dict (JSON values)."""
  overrides = {}
  for pair in pairs:
    key, sep, value = pair.partition('=')
    if not sep or not key:
      raise app.UsageError(f'--new_config takes KEY=VALUE, got {pair!r}.')
    try:
      overrides[key] = json.loads(value)
    except json.JSONDecodeError:
      overrides[key] = value
  return overrides


def _time(tree, width, calls, task, overrides):
  env = dict(os.environ, PYTHONPATH=tree, TF_CPP_MIN_LOG_LEVEL='3')
  args = [str(width), str(calls), task, json.dumps(overrides)]
  out = subprocess.run([sys.executable, '-c', _CHILD, *args],
                       env=env, cwd=tree, capture_output=True, text=True,
                       check=True).stdout
  line, = [l for l in out.splitlines() if l.startswith('RESULT ')]
  return float(np.median(json.loads(line[len('RESULT '):])))


def _commit(tree):
  return subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=tree,
                        capture_output=True, text=True,
                        check=False).stdout.strip() or None


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  if len(_TREES.value) != 2:
    raise app.UsageError('--trees must be two folders: OLD,NEW.')
  old, new = [os.path.abspath(t) for t in _TREES.value]
  for tree in (old, new):
    if not os.path.isdir(os.path.join(tree, 'glow_tf')):
      raise app.UsageError(f'{tree} is not a glow_tf checkout.')
  base = ({} if _NUM_STEPS.value is None else
          {'num_steps': _NUM_STEPS.value})
  configs = {'old': base, 'new': {**base, **parse_overrides(_NEW_CONFIG.value)}}
  results = {'commits': {'old': _commit(old), 'new': _commit(new)},
             'config_overrides': configs,
             'command': ' '.join(['python -m experiments.ab_speed',
                                  *sys.argv[1:]]),
             'task': _TASK.value, 'num_steps': _NUM_STEPS.value,
             'widths': {}}
  for width in [int(w) for w in _WIDTHS.value]:
    seconds = {'old': [], 'new': []}
    for r in range(_ROUNDS.value):
      order = ('old', 'new') if r % 2 == 0 else ('new', 'old')
      for name in order:
        seconds[name].append(_time(old if name == 'old' else new, width,
                                   _CALLS.value, _TASK.value, configs[name]))
    ratio = float(np.median(np.asarray(seconds['old']) /
                            np.asarray(seconds['new'])))
    results['widths'][width] = {
        'old_images_per_s': float(np.median(64 / np.asarray(seconds['old']))),
        'new_images_per_s': float(np.median(64 / np.asarray(seconds['new']))),
        'new_speedup_vs_old': ratio, 'seconds_per_call': seconds}
    print(f'{_TASK.value}, width {width}: old {results["widths"][width]["old_images_per_s"]:.1f}'
          f' img/s, new {results["widths"][width]["new_images_per_s"]:.1f} '
          f'img/s, new/old speed {ratio:.3f}x', flush=True)
  if _OUTPUT.value:
    figures.write_json(_OUTPUT.value, results)


if __name__ == '__main__':
  app.run(main)
