"""Conditional Glow on Fashion-MNIST: training, scores and figures.

The library side of `experiments/super_resolution.py` (p(28x28 image | its
14x14 average)) and `experiments/class_conditional.py` (a class-conditional
prior with the official code's class-prediction loss). Both train with the
main job's settings (`short_run_train_config`, those of `experiments/demo.py`),
so that their test bits/dim compare with the unconditional demo's at equal
training time.

#### Examples

```python
config = glow_tf.preset('fashion_mnist', context_shape=(14, 14, 1))
train_model(config, short_run_train_config(15), 'outputs/sr/model',
            context='low_res')
glow, step = glow_tf.training.restore_model('outputs/sr/model')
rows = super_resolution_rows(glow, test_images[:8], (0.0, 0.5, 0.8))
```
"""

import numpy as np
import tensorflow as tf

from glow_tf import _checks
from glow_tf import data as data_lib
from glow_tf import images as images_lib
from glow_tf import training
from glow_tf.analysis import reports

__all__ = ['class_accuracy', 'class_sample_rows', 'evaluate_model',
           'load_split', 'short_run_train_config', 'super_resolution_rows',
           'train_model']


def short_run_train_config(minutes, seed=0, batch_size=64,
                           learning_rate=2e-3):
  """The demo's training settings for a `minutes` budget (experiments/demo.py).

  Adamax at `learning_rate` after 200 warm-up steps, cosine decay to 0 by
  the end of the budget, gradient norm clipped to 20, a 512-image
  initialisation batch.
  """
  if not minutes > 0:
    raise ValueError(f'minutes must be > 0, got {minutes!r}.')
  return training.TrainConfig(
      batch_size=batch_size, train_steps=1_000_000,
      learning_rate=learning_rate, warmup_steps=200, seed=seed,
      summary_every=100, sample_every=0,
      init_batch_size=min(512, 8 * batch_size),
      time_budget_s=60.0 * minutes, lr_decay='cosine', clip_grad_norm=20.0)


def load_split(split, context=None, data_dir=None, idx_dir=None):
  """Fashion-MNIST `split`, with the `context` (e.g. 'low_res') added."""
  dataset = data_lib.load_dataset('fashion_mnist', split, data_dir=data_dir,
                                  idx_dir=idx_dir)
  return dataset if context is None else data_lib.with_context(dataset,
                                                               context)


def train_model(glow_config, train_config, model_dir, context=None,
                data_dir=None, idx_dir=None, log=print, curve_examples=1000):
  """Trains (or resumes) on the Fashion-MNIST training images.

  As the demo does, a learning curve on the first `curve_examples` test
  images is scored every 250 steps within 3% of the time.

  Returns:
    The run's metrics (`glow_tf.training.train`).
  """
  test_images, test_labels = reports.load_arrays(
      'fashion_mnist', 'test', data_dir=data_dir, idx_dir=idx_dir,
      max_examples=curve_examples)
  contexts = (None if context is None else
              data_lib.contexts.context_of(context, test_images).numpy())
  labels = test_labels if glow_config.num_classes is not None else None
  curve = training.CurveEvaluation(test_images, 250, log=log,
                                   max_time_fraction=0.03, contexts=contexts,
                                   labels=labels)
  return training.train(
      glow_config, train_config, model_dir,
      lambda input_context: load_split('train', context, data_dir, idx_dir),
      callbacks=[curve], log=log)


def evaluate_model(glow, context=None, data_dir=None, idx_dir=None,
                   log=print, max_examples=None):
  """Test bits/dim of the Fashion-MNIST test images (all 10,000 by default).

  Returns `glow_tf.training.evaluate`'s dict.
  """
  return training.evaluate(glow, load_split('test', context, data_dir,
                                            idx_dir),
                           batch_size=500, log=log, max_examples=max_examples)


def super_resolution_rows(glow, images_uint8, temperatures, seed=0):
  """Rows of a super-resolution figure, uint8 `[2 + T, N, H, W, C]`.

  The low-resolution inputs (each pixel repeated 2x2), one row of samples
  of `p(x | low_res)` per temperature, and the true images.
  """
  images_uint8 = np.asarray(images_uint8)
  low_res = data_lib.contexts.low_resolution(images_uint8)
  shown = tf.repeat(tf.repeat(low_res, 2, axis=-3), 2, axis=-2)
  rows = [images_lib.to_uint8(tf.cast(shown, glow.dtype), 8).numpy()]
  context = tf.cast(low_res, glow.dtype)
  for i, temperature in enumerate(temperatures):
    samples = glow.sample(len(images_uint8), seed=[seed, i],
                          temperature=temperature, context=context)
    rows.append(images_lib.to_uint8(samples, glow.config.n_bits).numpy())
  rows.append(images_uint8)
  return np.stack(rows)


def class_sample_rows(glow, num_classes, per_class=8, temperature=0.7,
                      seed=0):
  """Samples of every class, uint8 `[num_classes, per_class, H, W, C]`."""
  _checks.positive_int(per_class, 'per_class')
  labels = tf.repeat(tf.range(num_classes), per_class)
  samples = glow.sample(num_classes * per_class, seed=[seed, 0],
                        temperature=temperature, labels=labels)
  images = images_lib.to_uint8(samples, glow.config.n_bits).numpy()
  return images.reshape((num_classes, per_class) + images.shape[1:])


def class_accuracy(glow, images_uint8, labels, batch_size=500):
  """Accuracy of `glow.class_logits` on uint8 images (bin centres, no noise)."""
  images_uint8, labels = np.asarray(images_uint8), np.asarray(labels)
  logits = tf.function(glow.class_logits, reduce_retracing=True)
  correct = 0
  for start in range(0, len(images_uint8), batch_size):
    x = images_lib.dequantize(images_uint8[start:start + batch_size],
                              glow.config.n_bits, noise=False,
                              dtype=glow.dtype)
    predicted = np.argmax(logits(x).numpy(), axis=-1)
    correct += int(np.sum(predicted == labels[start:start + batch_size]))
  return correct / max(len(labels), 1)
