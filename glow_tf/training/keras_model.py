"""`GlowModel`: a Keras model around `Glow`, for `fit` / `evaluate` users.

TFP distributions are `tf.Module`s, which Keras 3 cannot see; `GlowModel` is
therefore a `tf_keras.Model` (Keras 2, `import tf_keras`). It tracks every
variable of its `Glow`, trains it by maximum likelihood and reports bits per
dimension:

```
loss = mean over the batch of bpd(x),  bpd(x) = -(log p(x) - D log 2**n_bits)
                                                / (D log 2)
```
plus, for a model with a class-prediction loss (`class_loss_weight > 0`),
the weighted cross-entropy of its classifier in bits: the objective of
`glow_tf.training.train` (`trainer.batch_objective`).

The data-dependent initialisation runs once, on the first batch `fit` sees.
"""

import numpy as np
import tensorflow as tf
import tf_keras

from glow_tf.config import GlowConfig
from glow_tf.glow import Glow
from glow_tf.training import initialization
from glow_tf.training.trainer import objective_terms
from glow_tf.training.trainer import weighted_objective

__all__ = ['GlowModel']


class GlowModel(tf_keras.Model):
  """Glow as a `tf_keras.Model`: `compile`, `fit`, `evaluate`, `predict`.

  Inputs are model-space images (`glow_tf.dequantize`, or the dicts of
  `glow_tf.data.make_pipeline`):

  * a batch dict `{'image': [B, H, W, C], 'label': [B], 'context': ...}`
    (`glow_tf.data.with_context` adds the context),
  * a tuple `(images, labels)` or `(images, labels, contexts)`, or
  * images alone.

  Labels are used when the config is class-conditional (`num_classes`),
  contexts when it is conditional (`context_shape`). `call` returns the
  per-example bits per dimension; `fit` and `evaluate` report their mean as
  `bits_per_dim`, the loss minimised; a model with a class-prediction loss
  also reports `class_bits` (the classifier's cross-entropy in bits) and
  minimises `bits_per_dim + class_loss_weight * class_bits`.
  `compile()` needs no loss; its optimizer defaults to Adamax (the paper's).

  Before the first update, `fit` runs the data-dependent initialisation on
  the first batch of its data (all-reduced over the replicas under a
  `tf.distribute` strategy); a model restored from weights that were already
  initialised is left alone. The wrapped distribution is `model.glow`.

  #### Examples

  ```python
  model = glow_tf.training.GlowModel(glow_tf.preset('fashion_mnist'))
  model.compile(optimizer=tf_keras.optimizers.Adamax(1e-3))
  train = glow_tf.data.make_pipeline(
      glow_tf.data.load_dataset('fashion_mnist', 'train'), 64, n_bits=8)
  model.fit(train, epochs=10, steps_per_epoch=1000)
  model.evaluate(test)          # {'bits_per_dim': ...}
  samples = model.glow.sample(16, temperature=0.7)
  ```
  """

  def __init__(self, config, seed=0, name='glow_model', **kwargs):
    """Builds the `Glow` of `config` inside the model.

    Args:
      config: a `glow_tf.GlowConfig`.
      seed: int seed of the initial weights.
      name: name of the Keras model.
      **kwargs: passed to `tf_keras.Model`.
    """
    if not isinstance(config, GlowConfig):
      raise ValueError(f'config must be a glow_tf.GlowConfig, got {config!r}.')
    super().__init__(name=name, **kwargs)
    self._config = config
    self.glow = Glow(config, seed=seed)
    # Keras 2 does not look inside tf.Modules: listing the variables in a
    # tracked attribute makes them the model's weights (and checkpointed).
    self._glow_variables = list(self.glow.variables)
    self._bits_per_dim = tf_keras.metrics.Mean(name='bits_per_dim')
    self._class_bits = None
    if config.class_loss_weight:
      self._class_bits = tf_keras.metrics.Mean(name='class_bits')

  @property
  def config(self):
    return self._config

  @property
  def metrics(self):
    return [m for m in (self._bits_per_dim, self._class_bits) if m is not None]

  def get_config(self):
    raise NotImplementedError(
        'GlowModel is not serialisable as a Keras config; save its weights '
        '(model.save_weights) and rebuild it from its GlowConfig.')

  def compile(self, optimizer='adamax', **kwargs):
    """`tf_keras.Model.compile` with Adamax as the default optimizer."""
    if kwargs.get('loss') is not None:
      raise ValueError('GlowModel minimises bits/dim; compile() takes no loss.')
    super().compile(optimizer=optimizer, **kwargs)

  def _unpack(self, data):
    """`{'image', 'label', 'context'}` of a dict, a tuple or images."""
    if isinstance(data, dict):
      batch = {name: data.get(name) for name in ('image', 'label', 'context')}
    elif isinstance(data, (tuple, list)):
      batch = dict(zip(('image', 'label', 'context'), data))
    else:
      batch = {'image': data}
    config = self._config
    if config.num_classes is None:
      batch.pop('label', None)
    elif batch.get('label') is None:
      raise ValueError(
          f'This GlowModel is class-conditional ({config.num_classes} '
          "classes): give labels, as {'image': x, 'label': y} or (x, y).")
    if not config.conditional:
      batch.pop('context', None)
    else:
      self._require_context(batch.get('context'))
    return {name: value for name, value in batch.items() if value is not None}

  def _require_context(self, context):
    if context is None:
      raise ValueError(
          f'This GlowModel is conditional (context_shape='
          f"{self._config.context_shape}): give contexts, as {{'image': x, "
          "'context': c}, (x, labels, c) or a dataset through "
          'glow_tf.data.with_context.')

  def call(self, inputs, training=None):
    """Per-example bits per dimension of a batch."""
    del training  # No dropout or batch statistics.
    return objective_terms(self.glow, self._unpack(inputs),
                           with_class_loss=False)[0]

  def train_step(self, data):
    with tf.GradientTape() as tape:
      bpd, class_bits = objective_terms(self.glow, self._unpack(data))
      loss = tf.nn.compute_average_loss(
          weighted_objective(self._config, bpd, class_bits))
    variables = self.trainable_variables
    grads = tape.gradient(loss, variables)
    self.optimizer.apply_gradients(zip(grads, variables))
    return self._update_metrics(bpd, class_bits)

  def test_step(self, data):
    return self._update_metrics(*objective_terms(self.glow,
                                                 self._unpack(data)))

  def _update_metrics(self, bpd, class_bits):
    self._bits_per_dim.update_state(bpd)
    if class_bits is not None:
      self._class_bits.update_state(class_bits)
    return {m.name: m.result() for m in self.metrics}

  def initialize(self, images, context=None):
    """Data-dependent initialisation on a batch of model-space images, once.

    A conditional model needs the images' `context` too. Under a strategy
    the batch is split between the replicas and the statistics all-reduced.
    Returns True if it ran, False if the model was already initialised.
    """
    return initialization.initialize(self.glow, self.distribute_strategy,
                                     images, context=context)

  def _first_batch(self, x, batch_size):
    if isinstance(x, tf.data.Dataset):
      batch = next(iter(x))
    elif isinstance(x, (tf.Tensor, np.ndarray)):
      batch = x[:batch_size or 32]
    elif isinstance(x, dict):
      batch = {k: v[:batch_size or 32] for k, v in x.items()}
    else:
      raise ValueError(
          'GlowModel.fit needs its data-dependent initialisation batch from '
          'x: give a tf.data.Dataset, a tensor or array of images, or a '
          f'dict of them, got {type(x).__name__}; or call '
          'model.initialize(images) before fit.')
    if isinstance(batch, dict):
      images, context = batch['image'], batch.get('context')
    elif isinstance(batch, (tuple, list)):
      images, context = batch[0], (batch[2] if len(batch) > 2 else None)
    else:
      images, context = batch, None
    if self._config.conditional:
      self._require_context(context)
    images = tf.convert_to_tensor(images)
    replicas = self.distribute_strategy.num_replicas_in_sync
    usable = images.shape[0] // replicas * replicas
    if not usable:
      raise ValueError(
          f'The first batch has {images.shape[0]} images, fewer than the '
          f'{replicas} replicas: use a larger batch.')
    if not self._config.conditional:
      return images[:usable], None
    return images[:usable], context[:usable]

  def fit(self, x=None, y=None, batch_size=None, **kwargs):
    """`tf_keras.Model.fit`, after the data-dependent init on x's 1st batch."""
    if not initialization.is_initialized(self.glow):
      self.initialize(*self._first_batch(x, batch_size))
    return super().fit(x, y, batch_size=batch_size, **kwargs)
