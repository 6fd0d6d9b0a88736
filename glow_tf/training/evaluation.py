"""Bits per dimension of held-out images, after and during training.

* `evaluate`: the bits/dim of a whole data split (a `tf.data.Dataset`);
* `BitsPerDimScorer`: the bits/dim of uint8 arrays, compiled once and reused;
* `CurveEvaluation`: a callback of `glow_tf.training.train` that scores a
  fixed set of test images every N steps and keeps the curve in
  `model_dir/history.json` (the demo's and the ablation's curves).

```
x = dequantize(images, n_bits, seed)        (fixed noise: comparable points)
bits/dim = -(log p(x) - D log 2**n_bits) / (D log 2)
```

That is under uniform dequantisation. A model with a variational dequantizer
is scored by `glow_tf.images.importance_weighted_bits_per_dim`, with K draws
`u_j ~ q(u | k)` (seeded the same way) of each image's bins:

```
bits/dim = -(log (1/K) sum_j exp(log p(x_j) - log q(u_j | k)) - D log 2**n_bits)
           / (D log 2)
```

(K = 4 by default, `num_samples`; K = 1 is the training loss's bound).
"""

import dataclasses
import json
import math
import os
import time
from typing import Optional

from absl import logging
import numpy as np
import tensorflow as tf

from glow_tf import _checks
from glow_tf import data as data_lib
from glow_tf import images as images_lib
from glow_tf.training import checkpoints
from glow_tf.training import distribution

__all__ = ['evaluate', 'BitsPerDimScorer', 'EvalPoint', 'CurveEvaluation',
           'read_history', 'HISTORY_FILE', 'NUM_WORST']

HISTORY_FILE = 'history.json'
NUM_WORST = 10  # Images `evaluate` names in `worst_examples`.


class BitsPerDimScorer:
  """Bits/dim of uint8 images under one Glow, compiled once and reused.

  Batch `b` is dequantised with the noise of `seed=[seed, b]`, so the same
  call gives the same figure: `glow_tf.bits_per_dim` of the batch, with
  `num_samples` draws of the noise (None: 1 under uniform dequantisation,
  4 with a variational dequantizer).

  #### Examples

  ```python
  scorer = BitsPerDimScorer(glow, batch_size=500)
  bpd = scorer(test_images_uint8)           # float64 [N]
  ```
  """

  def __init__(self, glow, batch_size=500, num_samples=None):
    if not hasattr(glow, 'config') or not hasattr(glow, 'log_prob'):
      raise ValueError(f'glow must be a glow_tf.Glow, got {glow!r}.')
    self.glow = glow
    self.batch_size = _checks.positive_int(batch_size, 'batch_size')
    self.num_samples = (images_lib.default_num_samples(glow)
                        if num_samples is None else
                        _checks.positive_int(num_samples, 'num_samples'))
    self._bits_per_dim = tf.function(
        lambda images, labels, seed, context: images_lib.bits_per_dim(
            glow, images, labels=labels, seed=seed,
            num_samples=self.num_samples, context=context),
        reduce_retracing=True)

  def __call__(self, images, seed=0, labels=None, contexts=None):
    """float64 numpy array `[N]` of the bits/dim of uint8 `images`.

    `labels` (class-conditional models) and `contexts` (conditional ones,
    `[N, *context_shape]`) go with the images.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4:
      raise ValueError('images must be uint8 [N, H, W, C], got '
                       f'{images.dtype} of shape {images.shape}.')
    if self.glow.config.num_classes is not None and labels is None:
      raise ValueError('The model is class-conditional: give the labels.')
    if self.glow.config.conditional and contexts is None:
      raise ValueError('The model is conditional: give the contexts.')
    if self.glow.config.num_classes is None:
      labels = None  # an unconditional model's score takes none
    scores = []
    for b, start in enumerate(range(0, len(images), self.batch_size)):
      stop = start + self.batch_size
      chunk = tf.constant(images[start:stop])
      batch_labels = None if labels is None else tf.constant(
          np.asarray(labels)[start:stop], tf.int64)
      batch_contexts = None if contexts is None else tf.constant(
          np.asarray(contexts)[start:stop], self.glow.dtype)
      scores.append(self._bits_per_dim(
          chunk, batch_labels, tf.constant([int(seed), b]),
          batch_contexts).numpy().astype(np.float64))
    return np.concatenate(scores) if scores else np.zeros([0], np.float64)


@dataclasses.dataclass(frozen=True)
class EvalPoint:
  """One point of the curve measured during training.

  Attributes:
    step: training steps done.
    seconds: wall-clock seconds of training (and evaluations) so far, over
      every run in the model_dir.
    train_bits_per_dim: mean training loss since the previous point (None
      at a point with no training step before it).
    test_bits_per_dim: mean bits/dim of the evaluation images.
  """
  step: int
  seconds: float
  train_bits_per_dim: Optional[float]
  test_bits_per_dim: float


def _read_history_file(model_dir):
  """`(points, evaluation seconds)` of `model_dir/history.json` ([], 0 if none)."""
  path = os.path.join(model_dir, HISTORY_FILE)
  if not tf.io.gfile.exists(path):
    return [], 0.0
  with tf.io.gfile.GFile(path) as f:
    saved = json.load(f)
  points = [EvalPoint(step=int(p['step']), seconds=float(p['seconds']),
                      train_bits_per_dim=p['train_bits_per_dim'],
                      test_bits_per_dim=float(p['test_bits_per_dim']))
            for p in saved['history']]
  return points, float(saved.get('evaluation_seconds', 0.0))


def read_history(model_dir):
  """The `EvalPoint`s that `CurveEvaluation` left in `model_dir` ([] if none)."""
  return _read_history_file(model_dir)[0]


class CurveEvaluation:
  """A `train` callback: test bits/dim of fixed images every `every_steps`.

  Scores `images` under the averaged weights (the raw ones without EMA) at
  the start (when the curve is empty), every `every_steps` steps and at the
  end, with the training loss averaged since the previous point, and writes
  the curve to `model_dir/history.json` on the chief; a resumed run extends
  the curve it finds there. A class-conditional model's images are scored
  with their `labels`, a conditional model's with their `contexts`
  (`[N, *context_shape]`).

  With `max_time_fraction`, a point on the `every_steps` grid is skipped
  when scoring it (estimated by the previous point's cost) would raise the
  share of this run's time spent on the curve after the start above that
  fraction: on a slow CPU the curve gets fewer points instead of eating the
  budget. Leave it None where curves must share their steps (the ablation's
  seeds).

  #### Examples

  ```python
  curve = CurveEvaluation(test_images[:1000], every_steps=500,
                          max_time_fraction=0.03)
  glow_tf.training.train(config, train_config, model_dir, dataset_fn,
                         callbacks=[curve], log=print)
  curve.history    # [EvalPoint, ...]
  ```
  """

  def __init__(self, images, every_steps, batch_size=500, seed=0, log=None,
               max_time_fraction=None, contexts=None, labels=None):
    images = np.asarray(images)
    self.contexts = None if contexts is None else np.asarray(contexts)
    self.labels = None if labels is None else np.asarray(labels)
    if images.dtype != np.uint8 or images.ndim != 4 or not len(images):
      raise ValueError('images must be a non-empty uint8 [N, H, W, C] '
                       f'array, got {images.dtype} of shape {images.shape}.')
    self.images = images
    self.every_steps = _checks.positive_int(every_steps, 'every_steps')
    self.batch_size = _checks.positive_int(batch_size, 'batch_size')
    self.seed = int(seed)
    if max_time_fraction is not None and not 0 < max_time_fraction < 1:
      raise ValueError('max_time_fraction must be in (0, 1) or None, got '
                       f'{max_time_fraction!r}.')
    self.max_time_fraction = max_time_fraction
    self.skipped = 0  # Grid points not scored, by max_time_fraction.
    self.history = []
    self.seconds = 0.0  # Spent evaluating, over every run in the model_dir.
    self._log = log
    self._losses = []
    self._last_cost = None
    self._run_start, self._run_seconds = time.monotonic(), 0.0

  def on_train_begin(self, trainer, model_dir, step):
    """Reads the curve of a resumed run and scores the start if it is new."""
    if tuple(self.images.shape[1:]) != tuple(trainer.glow_config.image_shape):
      raise ValueError(
          f'The curve images have shape {self.images.shape[1:]} but the model '
          f'takes {tuple(trainer.glow_config.image_shape)}.')
    self._model_dir = model_dir
    self._chief = distribution.is_chief(trainer.strategy)
    self._scorer = BitsPerDimScorer(trainer.ema_model or trainer.model,
                                    self.batch_size)
    points, seconds = _read_history_file(model_dir)
    self.history = [p for p in points if p.step <= step]
    self.seconds = seconds if self.history else 0.0
    self._offset = self.history[-1].seconds if self.history else 0.0
    self._start = time.monotonic()
    self._losses = []
    if not self.history or self.history[-1].step != step:
      self._evaluate(step)
    # The share of time is counted from here: the start's point is setup,
    # and its cost (which includes compiling the scorer) is no estimate.
    self._run_start, self._run_seconds = time.monotonic(), 0.0
    self._last_cost = None

  def on_step_end(self, trainer, step, loss, finite):
    del trainer  # Unused.
    if finite and math.isfinite(loss):
      self._losses.append(loss)
    if step % self.every_steps == 0:
      if self._within_time_share():
        self._evaluate(step)
      else:
        self.skipped += 1

  def _within_time_share(self):
    if self.max_time_fraction is None or not self._last_cost:
      return True
    cost = self._last_cost
    elapsed = time.monotonic() - self._run_start
    return (self._run_seconds + cost) <= self.max_time_fraction * (
        elapsed + cost)

  def on_train_end(self, trainer, step):
    del trainer  # Unused.
    if not self.history or self.history[-1].step != step:
      if step % self.every_steps == 0 and self.skipped:
        self.skipped -= 1  # The grid point skipped just now is scored.
      self._evaluate(step)

  def _evaluate(self, step):
    tick = time.monotonic()
    test = float(np.mean(self._scorer(self.images, seed=self.seed,
                                      labels=self.labels,
                                      contexts=self.contexts)))
    self._last_cost = time.monotonic() - tick
    self.seconds += self._last_cost
    self._run_seconds += self._last_cost
    train = float(np.mean(self._losses)) if self._losses else None
    self._losses = []
    point = EvalPoint(step, self._offset + time.monotonic() - self._start,
                      train, test)
    self.history.append(point)
    if self._chief:
      checkpoints.write_json(
          os.path.join(self._model_dir, HISTORY_FILE),
          {'history': [dataclasses.asdict(p) for p in self.history],
           'evaluation_seconds': self.seconds})
    if self._log:
      train_text = f', train {train:.4f}' if train is not None else ''
      self._log(f'step {step}: test {test:.4f} bits/dim{train_text}')


def evaluate(model, dataset, batch_size=256, seed=0, max_examples=None,
             log_every=10, log=None, num_samples=None):
  """Bits per dimension of a data split under a trained model.

  Every image is dequantised with noise seeded by `seed`, so the figure is
  reproducible and, averaged over the noise, an upper bound on the discrete
  negative log-likelihood (see `glow_tf.images`): under uniform
  dequantisation the data pipeline's noise (one draw by default: the
  variational bound, the figure as before); with a variational dequantizer,
  `num_samples` draws from it per image on the bins of the pipeline's
  images (the importance-weighted bound, `importance_weighted_bits_per_dim`).

  Args:
    model: a `glow_tf.Glow` (e.g. from `checkpoints.restore_model`).
    dataset: a `tf.data.Dataset` of unbatched `{'image': uint8 [H, W, C],
      'label'}`, e.g. `glow_tf.data.load_dataset('fashion_mnist', 'test')`.
    batch_size: images per batch.
    seed: seed of the dequantisation noise.
    max_examples: evaluate only the first this many images (None: all).
    log_every: a progress line every this many batches (0: none).
    log: callable taking a progress line (default: absl's logging.info).
    num_samples: draws of the noise per image; None: 1 under uniform
      dequantisation, 4 with a variational dequantizer.

  Returns:
    A dict: `bits_per_dim` (mean over the images), `bits_per_dim_std`,
    `bits_per_dim_p99` (99th percentile), `bits_per_dim_max` and
    `worst_example` (its position in `dataset`), `worst_examples` (the
    `NUM_WORST` highest as `[position, bits/dim]` pairs, worst first) and
    `num_examples`. One image the model finds absurd can move the mean by
    hundredths of a bit/dim while the 10,000-image mean looks plausible: the
    maximum and the percentile tell it apart from a model that is worse on
    every image. (Fashion-MNIST's training split held such images for the
    model shipped on 2026-12-07: a few fine checkerboard-patterned garments
    scored tens to thousands of bits/dim.)

  Raises:
    ValueError: if the images do not have the model's shape, or the data set
      is empty.

  #### Examples

  ```python
  glow, step = checkpoints.restore_model('/tmp/glow')
  evaluate(glow, glow_tf.data.load_dataset('fashion_mnist', 'test'))
  ```
  """
  _checks.positive_int(batch_size, 'batch_size')
  batches, total = _evaluation_batches(model.config, dataset, batch_size,
                                       seed, max_examples)
  num_samples = (images_lib.default_num_samples(model) if num_samples is None
                 else _checks.positive_int(num_samples, 'num_samples'))
  score = _batch_scorer(model, num_samples)
  log = log or logging.info
  values, count, start = [], 0, time.monotonic()
  for i, batch in enumerate(batches):
    values.append(score(batch, tf.constant([int(seed), i])).numpy().astype(
        np.float64))
    count += len(values[-1])
    if log_every and (i + 1) % log_every == 0:
      log(f'evaluated {count}{f"/{total}" if total > 0 else ""} images: '
          f'{np.mean(np.concatenate(values)):.4f} bits/dim so far, '
          f'{count / max(time.monotonic() - start, 1e-9):.1f} images/s')
  if not count:
    raise ValueError('The data set to evaluate is empty.')
  return _summary(np.concatenate(values))


def _evaluation_batches(config, dataset, batch_size, seed, max_examples):
  """`(batches, total)`: the split's images, checked, dequantised with `seed`."""
  image_spec = dataset.element_spec['image'] if isinstance(
      dataset.element_spec, dict) and 'image' in dataset.element_spec else None
  if image_spec is not None and tuple(image_spec.shape) != tuple(
      config.image_shape):
    raise ValueError(
        f'The data set has images of shape {tuple(image_spec.shape)} but the '
        f'model was trained on {tuple(config.image_shape)}.')
  if max_examples is not None:
    dataset = dataset.take(_checks.positive_int(max_examples, 'max_examples'))
  total = int(dataset.cardinality())
  batches = data_lib.make_pipeline(dataset, batch_size, config.n_bits,
                                   training=False, seed=seed,
                                   dtype=config.dtype)
  if config.conditional and 'context' not in batches.element_spec:
    raise ValueError(
        f'The model is conditional (context_shape={config.context_shape}): '
        "the data set needs a 'context' (glow_tf.data.with_context).")
  return batches, total


def _batch_scorer(model, num_samples):
  """A tf.function: (batch, seed) -> bits/dim of each of its images."""
  config = model.config
  class_conditional = config.num_classes is not None
  return tf.function(
      lambda batch, seed: images_lib.importance_weighted_bits_per_dim(
          model, batch['image'], config.n_bits,
          labels=batch['label'] if class_conditional else None, seed=seed,
          num_samples=num_samples,
          context=batch['context'] if config.conditional else None))


def _summary(bpd):
  """The figures `evaluate` returns, from every image's bits/dim."""
  worst = np.argsort(-bpd, kind='stable')[:NUM_WORST]  # argmax first
  return {'bits_per_dim': float(np.mean(bpd)),
          'bits_per_dim_std': float(np.std(bpd)),
          'bits_per_dim_p99': float(np.percentile(bpd, 99)),
          'bits_per_dim_max': float(bpd[worst[0]]),
          'worst_example': int(worst[0]),
          'worst_examples': [[int(i), float(bpd[i])] for i in worst],
          'num_examples': int(bpd.size)}
