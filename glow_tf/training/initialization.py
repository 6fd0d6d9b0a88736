"""Data-dependent initialisation of a `Glow` under any `tf.distribute` strategy.

Glow's ActNorms are set from the statistics of one large batch before
training (`Glow.initialize`). Under a strategy with several replicas that
batch is split between them and the statistics are all-reduced inside
`strategy.run`, so every replica (and every worker) computes the same
parameters; `check_replicas_agree` verifies that they did.

```
batch [N, H, W, C] -> split in num_replicas shares
  -> strategy.run(glow.initialize, share)   # all-reduced means and variances
  -> check_replicas_agree(strategy, glow.variables)
```
"""

import numpy as np
import tensorflow as tf

__all__ = ['is_initialized', 'initialize', 'distribute_batch',
           'check_replicas_agree', 'ReplicaMismatchError']


class ReplicaMismatchError(RuntimeError):
  """The replicas' copies of a variable differ where they should agree."""


def is_initialized(model):
  """Whether every ActNorm of `model` (a `Glow`) has been initialised."""
  return model.initialized


def distribute_batch(strategy, batch):
  """Splits a global batch (a tensor or a dict of them) between the replicas.

  Replica `r` of `R` gets rows `[r * N / R, (r + 1) * N / R)` of every
  tensor; `N` must be divisible by `R`. On one replica the batch is returned
  as it is.

  Args:
    strategy: a `tf.distribute.Strategy`.
    batch: a tensor `[N, ...]`, or a nest of them with the same `N`.

  Returns:
    A distributed value for `strategy.run`.

  Raises:
    ValueError: if `N` is not divisible by the number of replicas.
  """
  batch = tf.nest.map_structure(tf.convert_to_tensor, batch)
  num_replicas = strategy.num_replicas_in_sync
  size = int(tf.nest.flatten(batch)[0].shape[0])
  if size % num_replicas:
    raise ValueError(
        f'A batch of {size} cannot be split evenly between {num_replicas} '
        'replicas; use a multiple of the number of replicas.')
  if num_replicas == 1:
    return batch
  share = size // num_replicas

  def value_fn(context):
    start = context.replica_id_in_sync_group * share
    return tf.nest.map_structure(lambda t: t[start:start + share], batch)

  return strategy.experimental_distribute_values_from_function(value_fn)


def check_replicas_agree(strategy, variables, atol=1e-6):
  """Raises `ReplicaMismatchError` unless every replica holds the same values.

  The local replicas' copies are compared directly; with several workers,
  each replica's sum of every variable is also gathered from all workers and
  compared.

  Args:
    strategy: the `tf.distribute.Strategy` the variables were made under.
    variables: list of variables (mirrored or not).
    atol: largest difference accepted, relative to `1 + |value|`.
  """
  variables = [v for v in variables if v.dtype.is_floating]
  if strategy.num_replicas_in_sync == 1 or not variables:
    return
  bad = []
  for variable in variables:
    copies = [np.asarray(c) for c in
              strategy.experimental_local_results(variable)]
    spread = max(float(np.max(np.abs(c - copies[0]))) for c in copies)
    if spread > atol * (1.0 + float(np.max(np.abs(copies[0])))):
      bad.append((variable.name, spread))
  if not bad and len(strategy.experimental_local_results(variables[0])) < (
      strategy.num_replicas_in_sync):
    bad = _check_across_workers(strategy, variables, atol)
  if bad:
    raise ReplicaMismatchError(
        f'{len(bad)} variables differ between the replicas after '
        f'initialisation, e.g. {bad[:5]} (name, spread). The data-dependent '
        'initialisation must run inside strategy.run so the statistics are '
        'all-reduced.')


def _check_across_workers(strategy, variables, atol):
  """Compares every replica's sums of `variables`, gathered from all workers."""

  @tf.function
  def gathered_sums():
    def replica_sums():
      return tf.stack([tf.cast(tf.reduce_sum(v), tf.float64)
                       for v in variables])[tf.newaxis]
    return strategy.gather(strategy.run(replica_sums), axis=0)  # [R, n]

  sums = gathered_sums().numpy()
  spread = sums.max(axis=0) - sums.min(axis=0)
  scale = 1.0 + np.abs(sums).max(axis=0)
  return [(variables[i].name, float(spread[i]))
          for i in np.flatnonzero(spread > atol * scale)]


def initialize(model, strategy, images, per_replica=False, context=None):
  """Data-dependent initialisation of `model` on a global batch, once.

  Does nothing when `model` is already initialised (for example restored
  from a checkpoint). Otherwise splits `images` between the replicas, runs
  `model.initialize` on each share inside `strategy.run` (the ActNorm
  statistics are all-reduced over every replica) and checks that all replicas
  agree afterwards.

  Args:
    model: a `glow_tf.Glow` built under `strategy.scope()`.
    strategy: a `tf.distribute.Strategy`, or None for the current one.
    images: model-space images `[N, H, W, C]` (N divisible by the number of
      replicas), split between the replicas here; or, with `per_replica`,
      each replica's share (e.g. an element of a distributed dataset).
    per_replica: whether `images` is already distributed (implied for a
      `tf.distribute.DistributedValues`).
    context: the images' contexts, for a conditional model (split or
      distributed as `images` are).

  Returns:
    True if the model was initialised now, False if it already was.

  #### Examples

  ```python
  with strategy.scope():
    glow = glow_tf.Glow(config)
  initialize(glow, strategy, first_batch['image'])   # e.g. 512 images
  ```
  """
  strategy = strategy or tf.distribute.get_strategy()
  if is_initialized(model):
    return False
  shares = {'images': images}
  if context is not None:
    shares['context'] = context
  if not (per_replica or isinstance(images, tf.distribute.DistributedValues)):
    shares = distribute_batch(strategy, shares)

  def initialize_share(share):
    model.initialize(share['images'], context=share.get('context'))

  @tf.function
  def run(shares):
    strategy.run(initialize_share, args=(shares,))

  run(shares)
  check_replicas_agree(strategy, model.variables)
  return True
