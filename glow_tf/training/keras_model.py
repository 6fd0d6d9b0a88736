"""`GlowModel`: a Keras model around `Glow`, for `fit` / `evaluate` users.

TFP distributions are `tf.Module`s, which Keras 3 cannot see; `GlowModel` is
therefore a `tf_keras.Model` (Keras 2, `import tf_keras`). It tracks every
variable of its `Glow`, trains it by maximum likelihood and reports bits per
dimension:

```
loss = mean over the batch of bpd(x),  bpd(x) = -(log p(x) - D log 2**n_bits)
                                                / (D log 2)
```

The data-dependent initialisation runs once, on the first batch `fit` sees.
"""

import numpy as np
import tensorflow as tf
import tf_keras

from glow_tf.config import GlowConfig
from glow_tf.glow import Glow
from glow_tf.training import initialization
from glow_tf.training.trainer import batch_bits_per_dim

__all__ = ['GlowModel']


class GlowModel(tf_keras.Model):
  """Glow as a `tf_keras.Model`: `compile`, `fit`, `evaluate`, `predict`.

  Inputs are model-space images (`glow_tf.dequantize`, or the dicts of
  `glow_tf.data.make_pipeline`):

  * a batch dict `{'image': [B, H, W, C], 'label': [B]}`,
  * a tuple `(images, labels)`, or
  * images alone.

  Labels are used when the config is class-conditional (`num_classes`).
  `call` returns the per-example bits per dimension; `fit` and `evaluate`
  report their mean as `bits_per_dim`, which is also the loss minimised.
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

  @property
  def config(self):
    return self._config

  @property
  def metrics(self):
    return [self._bits_per_dim]

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
    """`(images, labels or None)` from a dict, a tuple or images."""
    if isinstance(data, dict):
      images, labels = data['image'], data.get('label')
    elif isinstance(data, (tuple, list)):
      images = data[0]
      labels = data[1] if len(data) > 1 else None
    else:
      images, labels = data, None
    if self._config.num_classes is None:
      labels = None
    elif labels is None:
      raise ValueError(
          f'This GlowModel is class-conditional ({self._config.num_classes} '
          "classes): give labels, as {'image': x, 'label': y} or (x, y).")
    return images, labels

  def call(self, inputs, training=None):
    """Per-example bits per dimension of a batch."""
    del training  # No dropout or batch statistics.
    images, labels = self._unpack(inputs)
    return batch_bits_per_dim(self.glow, {'image': images, 'label': labels})

  def train_step(self, data):
    with tf.GradientTape() as tape:
      bpd = self(data, training=True)
      loss = tf.nn.compute_average_loss(bpd)
    variables = self.trainable_variables
    grads = tape.gradient(loss, variables)
    self.optimizer.apply_gradients(zip(grads, variables))
    self._bits_per_dim.update_state(bpd)
    return {'bits_per_dim': self._bits_per_dim.result()}

  def test_step(self, data):
    self._bits_per_dim.update_state(self(data, training=False))
    return {'bits_per_dim': self._bits_per_dim.result()}

  def initialize(self, images):
    """Data-dependent initialisation on a batch of model-space images, once.

    Under a strategy the batch is split between the replicas and the
    statistics all-reduced. Returns True if it ran, False if the model was
    already initialised.
    """
    return initialization.initialize(self.glow, self.distribute_strategy,
                                     images)

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
      images = batch['image']
    elif isinstance(batch, (tuple, list)):
      images = batch[0]
    else:
      images = batch
    images = tf.convert_to_tensor(images)
    replicas = self.distribute_strategy.num_replicas_in_sync
    usable = images.shape[0] // replicas * replicas
    if not usable:
      raise ValueError(
          f'The first batch has {images.shape[0]} images, fewer than the '
          f'{replicas} replicas: use a larger batch.')
    return images[:usable]

  def fit(self, x=None, y=None, batch_size=None, **kwargs):
    """`tf_keras.Model.fit`, after the data-dependent init on x's first batch."""
    if not initialization.is_initialized(self.glow):
      self.initialize(self._first_batch(x, batch_size))
    return super().fit(x, y, batch_size=batch_size, **kwargs)
