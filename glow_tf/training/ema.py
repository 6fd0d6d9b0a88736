"""Parameter averaging: an exponential moving average of a model's weights.

The averaged weights live in a second model of the same architecture (for
Glow, a second `Glow` saved as `ema_model` in the checkpoints), so evaluation,
sampling and export use them exactly like the raw weights.

```
decay_t = min(decay, (1 + t) / (10 + t))       t = number of updates so far
average = decay_t * average + (1 - decay_t) * weight     (trainable weights)
```

The warm-up of `decay_t` (as `tf.train.ExponentialMovingAverage` with
`num_updates`) lets the average follow the fast early changes of the weights
instead of staying near the initial ones.
"""

import tensorflow as tf

__all__ = ['ExponentialMovingAverage', 'effective_decay']


def effective_decay(decay, num_updates):
  """`min(decay, (1 + t) / (10 + t))` with `t = num_updates`."""
  t = tf.cast(num_updates, tf.float32)
  return tf.minimum(tf.cast(decay, tf.float32), (1.0 + t) / (10.0 + t))


def _relative_name(variable):
  """`'glow/level_0/...:0'` -> `'level_0/...'` (drops the model's scope)."""
  name = variable.name.split(':')[0]
  return name.split('/', 1)[-1]


class ExponentialMovingAverage:
  """Keeps `average_model`'s weights an exponential moving average of `model`'s.

  Both models must have the same variables (same architecture); they are
  paired in the order of `tf.Module.variables`. Call `reset()` once after the
  model's initialisation (the average starts at the current weights, every
  variable copied, the ActNorm flags included), then `update(num_updates)`
  after each optimizer update. Both work in a cross-replica context: under a
  `tf.distribute` strategy every replica's copy is updated with its own
  values.

  #### Examples

  ```python
  with strategy.scope():
    model, average = glow_tf.Glow(config), glow_tf.Glow(config, name='ema')
  ema = ExponentialMovingAverage(model, average, decay=0.999)
  ema.reset()
  ...  # after each optimizer step:
  ema.update(optimizer.iterations)
  ```
  """

  def __init__(self, model, average_model, decay):
    """Pairs the variables of the two models.

    Args:
      model: a `tf.Module` (e.g. a `Glow`) whose weights are averaged.
      average_model: a `tf.Module` of the same architecture holding the
        average.
      decay: float in `(0, 1)`, the largest decay (e.g. 0.999).

    Raises:
      ValueError: if `decay` is out of range or the models' variables do not
        pair up (count, shapes, dtypes or relative names differ).
    """
    if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not (
        0.0 < decay < 1.0):
      raise ValueError(f'decay must be a float in (0, 1), got {decay!r}.')
    self._decay = float(decay)
    self._model = model
    self._average_model = average_model
    variables, averages = list(model.variables), list(average_model.variables)
    if len(variables) != len(averages):
      raise ValueError(
          f'The average model has {len(averages)} variables and the model '
          f'{len(variables)}: they must have the same architecture.')
    for v, a in zip(variables, averages):
      if (v.shape != a.shape or v.dtype != a.dtype or
          _relative_name(v) != _relative_name(a) or
          v.trainable != a.trainable):
        raise ValueError(
            f'Variable {v.name} {v.shape} {v.dtype.name} of the model does '
            f'not match {a.name} {a.shape} {a.dtype.name} of the average '
            'model: they must have the same architecture.')
    self._pairs = list(zip(variables, averages))
    self._trainable_pairs = [(v, a) for v, a in self._pairs if v.trainable]

  @property
  def decay(self):
    return self._decay

  @property
  def model(self):
    return self._model

  @property
  def average_model(self):
    return self._average_model

  def _update_all(self, pairs, fn):
    strategy = tf.distribute.get_strategy()
    for variable, average in pairs:
      strategy.extended.update(average, fn, args=(variable,), group=False)

  def reset(self):
    """Copies every variable of the model into the average model."""
    self._update_all(self._pairs, lambda average, value: average.assign(value))

  def update(self, num_updates):
    """One averaging step of the trainable weights.

    Args:
      num_updates: the number of optimizer updates so far (e.g.
        `optimizer.iterations`), for the warm-up of the decay.
    """
    decay = effective_decay(self._decay, num_updates)

    def average_in(average, value):
      d = tf.cast(decay, average.dtype)
      return average.assign(d * average + (1.0 - d) * value)

    self._update_all(self._trainable_pairs, average_in)
