"""The optimizer of a `TrainConfig`: Adamax or Adam under a warm-up schedule.

```
lr_t = lr * min(1, (t + 1) / warmup_steps) * decay(p)
decay(p) = 1 ('none')  or  (1 + cos(pi min(p, 1))) / 2 ('cosine')
```
`p`, the progress of the run in [0, 1], is a variable that the training
loop sets before every step (`glow_tf.training.train`).
"""

import math


import tensorflow as tf
import tf_keras

from glow_tf import _checks
from glow_tf.training.config import LR_DECAYS

__all__ = ['LinearWarmup', 'make_optimizer']


class LinearWarmup(tf_keras.optimizers.schedules.LearningRateSchedule):
  """`lr_t = lr * min(1, (t + 1) / warmup_steps) * decay(progress)`.

  #### Examples

  ```python
  schedule = LinearWarmup(1e-3, warmup_steps=1000)
  schedule(0)      # 1e-6
  schedule(999)    # 1e-3
  progress = tf.Variable(0.5)
  LinearWarmup(1e-3, 0, decay='cosine', progress=progress)(5000)  # 5e-4
  ```
  """

  def __init__(self, learning_rate, warmup_steps, decay='none', progress=None):
    super().__init__()
    self.learning_rate = _checks.positive_float(learning_rate, 'learning_rate')
    self.warmup_steps = _checks.positive_int(warmup_steps, 'warmup_steps',
                                           allow_zero=True)
    _checks.one_of(decay, 'decay', LR_DECAYS)
    if decay != 'none' and progress is None:
      raise ValueError(f'decay={decay!r} needs a progress variable.')
    self.decay = decay
    self.progress = progress

  def __call__(self, step):
    step = tf.cast(step, tf.float32)
    rate = tf.fill(tf.shape(step), self.learning_rate)
    if self.warmup_steps:
      rate *= tf.minimum(1.0, (step + 1.0) / float(self.warmup_steps))
    if self.decay == 'cosine':
      p = tf.clip_by_value(tf.cast(self.progress, tf.float32), 0.0, 1.0)
      rate *= 0.5 * (1.0 + tf.cos(math.pi * p))
    return rate

  def get_config(self):
    return {'learning_rate': self.learning_rate,
            'warmup_steps': self.warmup_steps, 'decay': self.decay}


def make_optimizer(train_config, progress=None):
  """The tf_keras optimizer of `train_config`, with its schedule.

  Args:
    train_config: a `TrainConfig`.
    progress: a float variable in [0, 1] that the caller keeps up to date;
      needed when `train_config.lr_decay` is not 'none'.

  #### Examples

  ```python
  optimizer = make_optimizer(TrainConfig(optimizer='adamax', warmup_steps=500))
  ```
  """
  schedule = LinearWarmup(train_config.learning_rate, train_config.warmup_steps,
                          decay=train_config.lr_decay, progress=progress)
  optimizer_cls = {'adamax': tf_keras.optimizers.Adamax,
                   'adam': tf_keras.optimizers.Adam}[train_config.optimizer]
  return optimizer_cls(learning_rate=schedule, beta_2=train_config.beta_2)
