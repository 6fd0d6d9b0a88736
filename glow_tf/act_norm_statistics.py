"""ActNorm's variables and data-dependent initialisation (Glow, section 3.1).

Shared by the flow steps' `glow_tf.bijectors.ActNorm` and the coupling
networks' `glow_tf.networks.ActNormLayer`.
"""

import tensorflow as tf

__all__ = ['act_norm_variables', 'applied_log_scale', 'initialize_act_norm']

_EPSILON = 1e-6


def act_norm_variables(num_channels, dtype):
  """`(log_scale, bias, initialized)` of an ActNorm: zeros, zeros and False.

  Their aggregation is `ONLY_FIRST_REPLICA`, so that `initialize_act_norm`
  may assign them inside a replica context (the values it assigns are
  all-reduced, hence equal on every replica).
  """
  aggregation = tf.VariableAggregation.ONLY_FIRST_REPLICA
  log_scale = tf.Variable(tf.zeros([num_channels], dtype), name='log_scale',
                          aggregation=aggregation)
  bias = tf.Variable(tf.zeros([num_channels], dtype), name='bias',
                     aggregation=aggregation)
  initialized = tf.Variable(False, trainable=False, name='initialized',
                            aggregation=aggregation)
  return log_scale, bias, initialized


def applied_log_scale(log_scale, log_scale_factor):
  """The log-scale an ActNorm applies: `log_scale_factor * log_scale`.

  The official code stores an ActNorm's log-scale divided by a factor (3)
  and multiplies it back when used: with Adam or Adamax, whose steps have
  about the same size in every parameter, that makes the log-scales move
  `log_scale_factor` times faster than with factor 1 (the paper's text, and
  glow_tf's default). Checkpoints store `log_scale`, the variable.
  """
  if log_scale_factor == 1.0:
    return log_scale
  return log_scale * log_scale_factor


def initialize_act_norm(x, log_scale, bias, initialized, log_scale_factor=1.0):
  """ActNorm's data-dependent initialisation, once (Glow, section 3.1).

  Unless `initialized` is already True, sets, per channel (the last axis) and
  over every other axis of the batch `x`,

  ```
  bias = -mean(x),   log_scale = -log(std(x) + 1e-6) / log_scale_factor
  ```

  so that `(x + bias) * exp(log_scale_factor * log_scale)` has zero mean and
  unit variance; then
  sets `initialized`. Inside a `tf.distribute` replica context the
  statistics are all-reduced over every replica, so all copies agree. Both
  `glow_tf.bijectors.ActNorm` and the networks' `ActNormLayer` use it.

  Args:
    x: `[..., C]` batch.
    log_scale, bias: `[C]` float variables.
    initialized: scalar bool variable.
    log_scale_factor: the factor that the ActNorm multiplies `log_scale` by
      (`applied_log_scale`).
  """
  num_channels = x.shape[-1]
  axes = list(range(x.shape.rank - 1))
  count = tf.cast(tf.size(x) // num_channels, x.dtype)
  total = tf.reduce_sum(x, axis=axes)
  context = tf.distribute.get_replica_context()
  replicated = context is not None and context.num_replicas_in_sync > 1
  if replicated:
    total, count = context.all_reduce(tf.distribute.ReduceOp.SUM,
                                      [total, count])
  mean = total / count
  squares = tf.reduce_sum(tf.square(x - mean), axis=axes)
  if replicated:
    squares = context.all_reduce(tf.distribute.ReduceOp.SUM, squares)
  std = tf.sqrt(squares / count)
  done = initialized
  # An empty batch (count 0) or a NaN or infinity gives NaN statistics, which
  # would be kept for good once `initialized` is set: refuse them instead.
  # In eager mode the assertion raises at once; in a graph the assignments
  # wait for it, so a failed one assigns nothing.
  usable = tf.logical_and(
      count > 0, tf.reduce_all(tf.math.is_finite(tf.concat([mean, std], 0))))
  check = tf.debugging.Assert(
      tf.logical_or(done, usable),
      ['ActNorm initialisation needs a non-empty batch of finite values; '
       'values per channel:', count])
  with tf.control_dependencies([] if check is None else [check]):
    bias.assign(tf.where(done, bias, -mean))
    log_scale.assign(
        tf.where(done, log_scale,
                 -tf.math.log(std + _EPSILON) / log_scale_factor))
    initialized.assign(True)


