"""The optimizer of a `TrainConfig`: Adamax or Adam under a warm-up schedule.

```
lr_t = lr * min(1, (t + 1) / warmup_steps)
```
"""

import tensorflow as tf
import tf_keras

from glow_tf.training.config import check_positive_float
from glow_tf.training.config import check_positive_int

__all__ = ['LinearWarmup', 'make_optimizer']


class LinearWarmup(tf_keras.optimizers.schedules.LearningRateSchedule):
  """`lr_t = lr * min(1, (t + 1) / warmup_steps)`, then constant.

  #### Examples

  ```python
  schedule = LinearWarmup(1e-3, warmup_steps=1000)
  schedule(0)      # 1e-6
  schedule(999)    # 1e-3
  ```
  """

  def __init__(self, learning_rate, warmup_steps):
    super().__init__()
    self.learning_rate = check_positive_float(learning_rate, 'learning_rate')
    self.warmup_steps = check_positive_int(warmup_steps, 'warmup_steps',
                                           allow_zero=True)

  def __call__(self, step):
    step = tf.cast(step, tf.float32)
    if not self.warmup_steps:
      return tf.fill(tf.shape(step), self.learning_rate)
    return self.learning_rate * tf.minimum(
        1.0, (step + 1.0) / float(self.warmup_steps))

  def get_config(self):
    return {'learning_rate': self.learning_rate,
            'warmup_steps': self.warmup_steps}


def make_optimizer(train_config):
  """The tf_keras optimizer of `train_config`, with the warm-up schedule.

  #### Examples

  ```python
  optimizer = make_optimizer(TrainConfig(optimizer='adamax', warmup_steps=500))
  ```
  """
  schedule = LinearWarmup(train_config.learning_rate, train_config.warmup_steps)
  optimizer_cls = {'adamax': tf_keras.optimizers.Adamax,
                   'adam': tf_keras.optimizers.Adam}[train_config.optimizer]
  return optimizer_cls(learning_rate=schedule)
