"""Training for a time budget, with test bits/dim measured along the way.

`train_lib.train` runs the project's training loop; the experiments also
need the test bits/dim *during* training (the paper's figure 3, the demo's
training curve) without TensorBoard. `train_with_evaluations` drives
`train_lib.Trainer` (the same compiled step, initialisation, EMA and
checkpoint layout) and scores a fixed set of test images every
`eval_every_steps`:

```
config.json written, latest checkpoint restored (or data-dependent init)
loop until train_config.train_steps or time_budget_s:
  trainer.train_step(batch)
  every eval_every_steps: test bits/dim of eval_images under the EMA model
final evaluation and checkpoint; model_dir/history.json
```
The model_dir it leaves is an ordinary training directory:
`checkpoints.restore_model`, `experiments/evaluate.py` and the exporter
read it.
"""

import dataclasses
import math
import os
import time

import numpy as np
import tensorflow as tf

from glow_tf import data as data_lib
from glow_tf.analysis import figures
from glow_tf.analysis import ood
from glow_tf.training import checkpoints
from glow_tf.training import train_lib

__all__ = ['EvalPoint', 'train_with_evaluations', 'read_history',
           'HISTORY_FILE']

HISTORY_FILE = 'history.json'


@dataclasses.dataclass(frozen=True)
class EvalPoint:
  """One evaluation during training.

  Attributes:
    step: training steps done.
    seconds: wall-clock seconds since the start of the call.
    train_bits_per_dim: mean training loss since the previous point (NaN at
      the first).
    test_bits_per_dim: mean bits/dim of the evaluation images.
  """
  step: int
  seconds: float
  train_bits_per_dim: float
  test_bits_per_dim: float


def _point_from_json(value):
  nan_if_none = lambda v: float('nan') if v is None else float(v)
  return EvalPoint(step=int(value['step']), seconds=float(value['seconds']),
                   train_bits_per_dim=nan_if_none(value['train_bits_per_dim']),
                   test_bits_per_dim=nan_if_none(value['test_bits_per_dim']))


def read_history(model_dir):
  """The `EvalPoint`s that `train_with_evaluations` left in `model_dir`."""
  return [_point_from_json(p) for p in figures.read_json(
      os.path.join(model_dir, HISTORY_FILE))['history']]


def _seed(seed, salt):
  return int(np.random.SeedSequence([seed, salt]).generate_state(1)[0]
             & 0x7FFFFFFF)


def train_with_evaluations(glow_config, train_config, model_dir, dataset_fn,
                           eval_images, time_budget_s=None,
                           eval_every_steps=200, eval_batch_size=500,
                           eval_seed=0, strategy=None, log=print):
  """Trains in `model_dir` and evaluates every `eval_every_steps` steps.

  Args:
    glow_config: a `glow_tf.GlowConfig`.
    train_config: a `train_lib.TrainConfig` (`train_steps` bounds the run).
    model_dir: the training directory; a run found there is resumed.
    dataset_fn: `input_context -> tf.data.Dataset` of unbatched uint8
      `{'image', 'label'}` training examples.
    eval_images: uint8 `[N, H, W, C]` test images scored at each evaluation
      (fixed dequantisation noise, so the points are comparable).
    time_budget_s: stop once this many seconds (training and evaluations)
      have passed; None: only `train_steps` stops it.
    eval_every_steps: steps between evaluations.
    eval_batch_size: images per evaluation batch.
    eval_seed: seed of the evaluation noise.
    strategy: a `tf.distribute.Strategy`; default the current one.
    log: callable taking a progress line (None: silent).

  Returns:
    A dict: `history` (list of `EvalPoint`), `step`, `seconds`,
    `train_seconds` (spent in training steps only), `images_per_sec`,
    `stop_reason` ('train_steps' or 'time_budget'), `test_bits_per_dim`
    (the last evaluation) and `nonfinite_steps`.
  """
  start = time.monotonic()
  log = log or (lambda line: None)
  if time_budget_s is not None and not time_budget_s > 0:
    raise ValueError(f'time_budget_s must be > 0 or None, got '
                     f'{time_budget_s!r}.')
  if (isinstance(eval_every_steps, bool) or
      not isinstance(eval_every_steps, int) or eval_every_steps <= 0):
    raise ValueError('eval_every_steps must be a positive int, got '
                     f'{eval_every_steps!r}.')
  eval_images = np.asarray(eval_images)
  if eval_images.dtype != np.uint8 or eval_images.shape[1:] != tuple(
      glow_config.image_shape):
    raise ValueError(
        f'eval_images must be uint8 [N, {", ".join(map(str, glow_config.image_shape))}]'
        f', got {eval_images.dtype} of shape {eval_images.shape}.')
  strategy = strategy or tf.distribute.get_strategy()
  tf.io.gfile.makedirs(model_dir)
  if tf.io.gfile.exists(os.path.join(model_dir, checkpoints.CONFIG_FILE)):
    saved = checkpoints.load_config(model_dir)
    if saved != glow_config:
      raise checkpoints.CheckpointError(
          f'model_dir {model_dir!r} holds a different model: {saved} != '
          f'{glow_config}. Use a new model_dir.')
  else:
    checkpoints.save_config(model_dir, glow_config)

  trainer = train_lib.Trainer(glow_config, train_config, strategy)
  step = trainer.restore(model_dir)
  manager = tf.train.CheckpointManager(trainer.checkpoint, model_dir,
                                       max_to_keep=1, checkpoint_name='ckpt')
  history_path = os.path.join(model_dir, HISTORY_FILE)
  history = []
  if step and tf.io.gfile.exists(history_path):
    history = [_point_from_json(p) for p in figures.read_json(history_path)[
        'history'] if p['step'] <= step]
  pipeline_kwargs = dict(n_bits=glow_config.n_bits,
                         shuffle_buffer=train_config.shuffle_buffer,
                         random_flip=train_config.random_flip,
                         dtype=glow_config.dtype)
  if step == 0:
    init = data_lib.distribute(strategy, dataset_fn,
                               train_config.init_batch_size,
                               seed=_seed(train_config.seed, 1),
                               **pipeline_kwargs)
    trainer.initialize(next(iter(init))['image'])
  dataset = data_lib.distribute(strategy, dataset_fn, train_config.batch_size,
                                seed=_seed(train_config.seed, step + 2),
                                **pipeline_kwargs)
  scorer = ood.BitsPerDimScorer(trainer.ema_model or trainer.model,
                                eval_batch_size)
  offset = history[-1].seconds if history else 0.0

  def evaluate(train_bpd):
    test_bpd = float(np.mean(scorer(eval_images, seed=eval_seed)))
    point = EvalPoint(step, offset + time.monotonic() - start, train_bpd,
                      test_bpd)
    history.append(point)
    figures.write_json(history_path, {
        'history': [dataclasses.asdict(p) for p in history]})
    log(f'step {step}: test {test_bpd:.4f} bits/dim, train '
        f'{train_bpd:.4f} ({point.seconds:.0f} s)')
    return point

  if not history:
    evaluate(float('nan'))
  losses, train_seconds, nonfinite = [], 0.0, 0
  stop_reason = 'train_steps'
  iterator = iter(dataset)
  while step < train_config.train_steps:
    if time_budget_s is not None and time.monotonic() - start > time_budget_s:
      stop_reason = 'time_budget'
      break
    tick = time.monotonic()
    out = trainer.train_step(next(iterator))
    step = int(out['step'])
    loss = float(out['loss'])
    train_seconds += time.monotonic() - tick
    if bool(out['finite']) and math.isfinite(loss):
      losses.append(loss)
    else:
      nonfinite += 1
    if step % eval_every_steps == 0:
      evaluate(float(np.mean(losses)) if losses else float('nan'))
      losses = []
  if not history or history[-1].step != step:
    evaluate(float(np.mean(losses)) if losses else float('nan'))
  manager.save(checkpoint_number=step)
  steps_done = step - (history[0].step if history else 0)
  return {'history': history, 'step': step,
          'seconds': time.monotonic() - start,
          'train_seconds': train_seconds,
          'images_per_sec': (steps_done * train_config.batch_size
                             / max(train_seconds, 1e-9)),
          'stop_reason': stop_reason,
          'test_bits_per_dim': history[-1].test_bits_per_dim,
          'nonfinite_steps': nonfinite}
