"""`Trainer`: the model, optimizer, EMA and one compiled training step.

The objective is the negative log-likelihood in bits per dimension of the
dequantised images (see `glow_tf.images`), averaged over the global batch,
plus, for a model with a class-prediction loss (`class_loss_weight`), the
classifier's cross-entropy in bits, weighted as in the official code:

```
bpd(x) = -(log p(x | y, context) - D log(2**n_bits)) / (D log 2)
obj(x) = bpd(x) + class_loss_weight * cross_entropy(y, class_logits(x)) / log 2
loss   = sum over the replica's images of obj / global_batch_size
grads  = all_reduce_sum(d loss / d theta)          (identical on every replica)
skip the update when the loss or the gradients are not finite
theta  <- Adamax or Adam(grads, lr_t)               (glow_tf.training.optimizer)
ema    <- decay_t * ema + (1 - decay_t) * theta    (glow_tf.training.ema)
```
The loop around it is `glow_tf.training.train` (glow_tf/training/loop.py).
"""

import tensorflow as tf

from glow_tf import images as images_lib
from glow_tf import memory
from glow_tf.config import GlowConfig
from glow_tf.glow import Glow
from glow_tf.training import checkpoints
from glow_tf.training import ema as ema_lib
from glow_tf.training import initialization
from glow_tf.training.config import TrainConfig
from glow_tf.training.optimizer import make_optimizer

__all__ = ['Trainer', 'NonFiniteLossError', 'batch_bits_per_dim',
           'batch_objective', 'objective_terms', 'weighted_objective']


def _conditions(model, batch):
  """`(labels, context)` of a batch, as the model takes them (or None)."""
  config = model.config
  labels = batch.get('label') if config.num_classes is not None else None
  context = batch.get('context') if config.conditional else None
  if config.conditional and context is None:
    raise ValueError(
        f'The model is conditional (context_shape={config.context_shape}): '
        "its batches need a 'context' (glow_tf.data.with_context).")
  return labels, context


def batch_bits_per_dim(model, batch, memory_saving=False):
  """Per-example bits/dim of a batch dict `{'image', 'label'}` of model-space images.

  The labels are used when the model is class-conditional, the batch's
  `'context'` when it is conditional. With `memory_saving`, through
  `glow_tf.memory.memory_saving_log_prob` (same value, a gradient that does
  not store the flow's activations). The images are re-dequantised by the
  model (`Glow.dequantize_and_log_q`): uniform noise keeps the pipeline's
  (log q = 0, the formula above); a variational dequantizer draws
  `u ~ q(u | k)` on their bins, recovered exactly from the pipeline's
  images, and the value is the variational bound.
  """
  return batch_objective(model, batch, memory_saving, with_class_loss=False)


def batch_objective(model, batch, memory_saving=False, with_class_loss=True):
  """Per-example training objective: bits/dim, plus the weighted class loss.

  The class loss (`config.class_loss_weight > 0`) is the classifier's
  cross-entropy in bits, from the same pass through the flow.
  """
  return weighted_objective(model.config,
                            *objective_terms(model, batch, memory_saving,
                                             with_class_loss))


def weighted_objective(config, bpd, class_bits):
  """`bpd + class_loss_weight * class_bits`: `objective_terms` combined."""
  if class_bits is None:
    return bpd
  return bpd + config.class_loss_weight * class_bits


def objective_terms(model, batch, memory_saving=False, with_class_loss=True):
  """`(bits/dim, class cross-entropy in bits or None)`, per example.

  The two terms of `batch_objective`, from one pass through the flow; the
  second is None unless `with_class_loss` and `config.class_loss_weight`.
  """
  config = model.config
  labels, context = _conditions(model, batch)
  images, log_q = model.dequantize_and_log_q(batch['image'])
  level_inverse = None
  if memory_saving:
    level_inverse = memory.level_inverse(model)
  logits = None
  if with_class_loss and config.class_loss_weight:
    log_prob, logits = model.log_prob_and_class_logits(
        images, labels, context=context, level_inverse=level_inverse)
  elif memory_saving:
    log_prob = memory.memory_saving_log_prob(model, images, labels=labels,
                                             context=context)
  else:
    log_prob = model.log_prob(images, labels=labels, context=context)
  bpd = images_lib.bits_per_dim_from_log_prob(log_prob, config.num_dims,
                                              config.n_bits, log_q=log_q)
  if logits is None:
    return bpd, None
  cross_entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(
      labels=tf.cast(labels, tf.int32), logits=logits)
  return bpd, cross_entropy / tf.math.log(
      tf.constant(2.0, cross_entropy.dtype))


def _spec_of(value):
  return tf.nest.map_structure(tf.type_spec_from_value, value)


class NonFiniteLossError(RuntimeError):
  """Too many training steps in a row had a non-finite loss or gradient."""


class Trainer:
  """The model, optimizer, step counter and EMA of one training run.

  Everything is built inside `strategy.scope()`. `train_step` is one
  compiled step (`tf.function` with the input signature of the first batch)
  run on every replica through `strategy.run`:

  ```
  per replica: loss = sum(bpd) / global_batch;  grads = all_reduce(d loss)
  everywhere:  if loss and grads are finite: optimizer update, EMA update
               step += 1
  ```

  The decision to skip is taken on all-reduced values, so every replica and
  every worker takes the same branch.

  #### Examples

  ```python
  trainer = Trainer(glow_tf.preset('fashion_mnist'), TrainConfig(), strategy)
  trainer.initialize(first_batch['image'])
  for batch in distributed_dataset:
    metrics = trainer.train_step(batch)   # {'loss', 'finite', ...}
  ```
  """

  def __init__(self, glow_config, train_config, strategy=None):
    """Builds the model, its average, the optimizer and the step counter.

    Args:
      glow_config: a `glow_tf.GlowConfig`.
      train_config: a `TrainConfig`.
      strategy: a `tf.distribute.Strategy`; default the current one.
    """
    if not isinstance(glow_config, GlowConfig):
      raise ValueError(
          f'glow_config must be a glow_tf.GlowConfig, got {glow_config!r}.')
    if not isinstance(train_config, TrainConfig):
      raise ValueError(
          f'train_config must be a TrainConfig, got {train_config!r}.')
    self.glow_config = glow_config
    self.train_config = train_config
    self.strategy = strategy or tf.distribute.get_strategy()
    with self.strategy.scope():
      self.model = Glow(glow_config, seed=train_config.seed)
      self.ema_model = (Glow(glow_config, seed=train_config.seed,
                             name='ema_glow')
                        if train_config.ema_decay > 0 else None)
      # The run's progress in [0, 1], set by the loop before each step (for
      # the learning-rate decay), and the seconds trained so far (saved).
      self.progress = tf.Variable(0.0, trainable=False, name='progress')
      self.trained_seconds = tf.Variable(0.0, dtype=tf.float64,
                                         trainable=False,
                                         name='trained_seconds')
      self.optimizer = make_optimizer(train_config, self.progress)
      self.optimizer.build(self.model.trainable_variables)
      self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name='step')
    self._variables = list(self.model.trainable_variables)
    self.ema = (ema_lib.ExponentialMovingAverage(
        self.model, self.ema_model, train_config.ema_decay)
                if self.ema_model is not None else None)
    objects = dict(step=self.step, model=self.model, optimizer=self.optimizer,
                   trained_seconds=self.trained_seconds)
    if self.ema_model is not None:
      objects['ema_model'] = self.ema_model
    self._checkpointed = objects
    self.checkpoint = tf.train.Checkpoint(**objects)
    self._compiled_step = None
    self.restored_from = None

  def initialize(self, images, per_replica=False, context=None):
    """Data-dependent initialisation (all-reduced over replicas), once.

    Args:
      images: model-space images `[N, H, W, C]` (N divisible by the number
        of replicas), split between the replicas here; or, with
        `per_replica`, each replica's share (an element of a distributed
        dataset).
      per_replica: whether `images` is already distributed.
      context: the images' contexts, for a conditional model (split or
        distributed as `images` are).

    Returns:
      True if the model was initialised now, False if it already was.
    """
    done = initialization.initialize(self.model, self.strategy, images,
                                     per_replica=per_replica, context=context)
    if done and self.ema is not None:
      with self.strategy.scope():
        self.ema.reset()
      initialization.check_replicas_agree(self.strategy,
                                          self.ema_model.variables)
    return done

  def warm_start(self, source):
    """Starts the model (and its average) from `source`'s weights.

    In place of `initialize`, for a new run that begins where another
    model ended (`TrainConfig.init_from`): every variable of `source`, the
    ActNorm flags included, is copied in; the optimizer and the step count
    stay as they are (fresh).

    Args:
      source: a `Glow` of the same `GlowConfig` (e.g.
        `glow_tf.pretrained('fashion_mnist')`).

    Raises:
      ValueError: `source` is not a `Glow`, or its model differs
        (`checkpoints.model_differences`; the differing fields are named).
    """
    if not isinstance(source, Glow):
      raise ValueError(
          f'source must be a glow_tf.Glow, got {type(source).__name__}.')
    differences = checkpoints.model_differences(source.config,
                                                self.glow_config)
    if differences:
      raise ValueError(
          'The weights to start from have another GlowConfig: ' + ', '.join(
              f'{key}={theirs!r} (this run: {ours!r})'
              for key, theirs, ours in differences) + '.')
    with self.strategy.scope():
      for variable, value in zip(self.model.variables, source.variables):
        if variable.shape != value.shape:
          raise ValueError(f'{value.name} {value.shape} does not fit '
                           f'{variable.name} {variable.shape}.')
        variable.assign(value)
      if self.ema is not None:
        self.ema.reset()

  def restore(self, model_dir):
    """Restores the newest intact checkpoint of `model_dir`; returns its step.

    Returns 0 (and restores nothing) when `model_dir` has no checkpoint.
    Damaged newer checkpoints are skipped with a warning
    (`checkpoints.find_intact_checkpoint`). A checkpoint without `ema_model`
    (averaging newly turned on) restores the rest and starts the average at
    the restored weights.

    Raises:
      checkpoints.CheckpointError: no checkpoint of `model_dir` is intact, or
        the newest intact one does not match this model.
    """
    prefix = checkpoints.find_intact_checkpoint(model_dir)
    if prefix is None:
      return 0
    names = checkpoints.variable_names(prefix)
    saved = {key: value for key, value in self._checkpointed.items()
             if any(name.startswith(f'{key}/') for name in names)}
    has_ema = any(name.startswith('ema_model/') for name in names)
    missing = sorted({'step', 'model', 'optimizer'} - set(saved))
    if missing:
      raise checkpoints.CheckpointError(
          f'Checkpoint {prefix!r} is not a glow_tf training checkpoint: it '
          f'has no {", ".join(missing)}.')
    try:
      # Objects added since the checkpoint was written (the average turned
      # on, the trained seconds of older versions) start fresh.
      status = tf.train.Checkpoint(**saved).restore(prefix)
      status.assert_existing_objects_matched()
      if has_ema and self.ema_model is None:
        status.expect_partial()
    except (tf.errors.OpError, AssertionError, ValueError) as e:
      raise checkpoints.CheckpointError(
          f'Checkpoint {prefix!r} does not match this model and optimizer: '
          f'{e}') from e
    if self.ema_model is not None and not has_ema:
      with self.strategy.scope():
        self.ema.reset()
    self.restored_from = prefix
    return int(self.step.numpy())

  def _replica_gradients(self, batch):
    context = tf.distribute.get_replica_context()
    with tf.GradientTape() as tape:
      objective = batch_objective(self.model, batch,
                                  self.train_config.memory_saving)
      loss = tf.nn.compute_average_loss(objective)
    grads = tape.gradient(loss, self._variables)
    grads = [tf.zeros_like(v) if g is None else g
             for g, v in zip(grads, self._variables)]
    loss, grads = context.all_reduce(tf.distribute.ReduceOp.SUM,
                                     [loss, grads])
    grad_norm = tf.linalg.global_norm(grads)
    finite = tf.math.is_finite(loss) & tf.math.is_finite(grad_norm)
    if self.train_config.clip_grad_norm is not None:
      grads, _ = tf.clip_by_global_norm(
          grads, self.train_config.clip_grad_norm, use_norm=grad_norm)
    return loss, grads, grad_norm, finite

  def _apply(self, grads):
    self.optimizer.apply_gradients(zip(grads, self._variables),
                                   skip_gradients_aggregation=True)

  def _step(self, batch):
    strategy = self.strategy
    loss, grads, grad_norm, finite = strategy.run(self._replica_gradients,
                                                  args=(batch,))
    first = lambda value: strategy.experimental_local_results(value)[0]
    finite = first(finite)
    learning_rate = self.optimizer.learning_rate

    def update():
      strategy.run(self._apply, args=(grads,))
      if self.ema is not None:
        with strategy.scope():
          self.ema.update(self.optimizer.iterations)
      return tf.constant(True)

    tf.cond(finite, update, lambda: tf.constant(False))
    self.step.assign_add(1)
    return {'loss': first(loss), 'grad_norm': first(grad_norm),
            'finite': finite, 'learning_rate': learning_rate,
            'step': self.step.read_value()}

  def train_step(self, batch):
    """One update on a (distributed) batch `{'image', 'label'}`.

    The step is compiled on the first call, with that batch's type as its
    fixed input signature.

    Args:
      batch: an element of a distributed dataset (`glow_tf.data.distribute`)
        or a value from `initialization.distribute_batch`.

    Returns:
      A dict of scalar tensors: `loss` (mean bits/dim of the global batch),
      `grad_norm` (before clipping), `finite` (False: the update was
      skipped), `learning_rate` (of this update) and `step` (after it).
    """
    if self._compiled_step is None:
      self._compiled_step = tf.function(self._step,
                                        input_signature=[_spec_of(batch)])
    return self._compiled_step(batch)
