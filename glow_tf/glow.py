"""`Glow`: the multi-scale Glow model as a `tfp.distributions.TransformedDistribution`."""

import warnings

import tensorflow as tf
import tensorflow_probability as tfp

from glow_tf import _checks
from glow_tf import _glow_inputs as _inputs
from glow_tf import _seeds
from glow_tf import images as images_lib
from glow_tf import networks
from glow_tf.architecture import build_flow
from glow_tf.bijectors.multi_scale import level_shapes
from glow_tf.config import GlowConfig
from glow_tf.dequantizer import VariationalDequantizer

tfb = tfp.bijectors
tfd = tfp.distributions

__all__ = ['Glow']

_DEQUANTIZER_SALT = 11  # the variational dequantizer's: derive_seed(seed, 11)


class Glow(tfd.TransformedDistribution):
  """Glow (Kingma & Dhariwal, 2018) as a distribution over model-space images.

  Model space is the dequantised image in `[-0.5, 0.5]^(H x W x C)` (see
  `glow_tf.dequantize`). The distribution is

  ```
  x = flow.forward(eps),   eps ~ N(0, I) over [H, W, C]
  log p(x) = log N(eps; 0, I) + ildj,   eps, ildj = flow.inverse_and_log_det(x)
  ```

  where `flow` (`self.bijector`) is a `MultiScaleFlow`: L levels of squeeze,
  K steps of ActNorm -> 1x1 conv -> coupling, and a split under a learned
  conditional Gaussian prior, and a learned (optionally class-conditional)
  top prior. Those priors are affine bijectors from `eps`, so
  `self.distribution` is a plain standard normal and `log_prob` is exactly
  the paper's: every prior's log-density plus every step's log-det.

  Class-conditional models (`config.num_classes`) take `labels` in
  `log_prob`, `sample`, `encode` and `decode`. Conditional models
  (`config.context_shape`) are `p(x | context)` and take `context`,
  `[..., *context_shape]` floats of the model's dtype, in every method
  (`initialize` too); TFP's `bijector_kwargs={'context': c}` works as well.
  With `config.class_loss_weight`, `class_logits(x)` predicts the class from
  the top latent (the official code's `--ycond` classifier).

  With `config.dequantization == 'variational'` the model also holds a
  learned noise distribution `q(u | k)` for its training objective
  (`self.dequantizer`, a `glow_tf.dequantizer.VariationalDequantizer`;
  None for uniform noise): its variables are among the model's, in
  checkpoints and in `trainable_variables`, and `initialize` initialises it
  too. `dequantize_and_log_q` turns discrete images into model-space ones
  under the model's own noise; `glow_tf.bits_per_dim` uses it.

  #### Examples

  ```python
  config = glow_tf.preset('fashion_mnist')
  glow = glow_tf.Glow(config)
  x = glow_tf.dequantize(images_uint8, n_bits=config.n_bits)
  glow.initialize(x[:512])               # data-dependent init, once
  nll = -tf.reduce_mean(glow.log_prob(x))
  images = glow.sample(16, temperature=0.7, seed=1)
  latents = glow.encode(x)                # one tensor per level
  x_again = glow.decode(latents)          # exact

  # p(28x28 image | its 14x14 average): 2x super-resolution
  config = glow_tf.preset('fashion_mnist', context_shape=(14, 14, 1))
  glow = glow_tf.Glow(config)
  glow.initialize(x[:512], context=low_res[:512])
  log_p = glow.log_prob(x, context=low_res)
  high_res = glow.sample(8, context=low_res[0], temperature=0.5, seed=1)
  ```

  #### References

  [1]: Diederik P. Kingma, Prafulla Dhariwal. Glow: Generative Flow with
       Invertible 1x1 Convolutions. NeurIPS 2018. https://arxiv.org/abs/1807.03039
  """

  def __init__(self, config, seed=0, validate_args=False, name='glow'):
    """Builds the model that `config` describes.

    Args:
      config: a `glow_tf.GlowConfig` (e.g. `glow_tf.preset('cifar10')`).
      seed: int seed of the initial weights (1x1 rotations, conv kernels).
      validate_args: passed to TFP.
      name: name of the distribution.
    """
    parameters = dict(locals())
    if not isinstance(config, GlowConfig):
      raise ValueError(f'config must be a glow_tf.GlowConfig, got {config!r}.')
    if seed is not None:
      _checks.positive_int(seed, 'seed', allow_zero=True)
    self._config = config
    self._known_initialized = False  # see _warn_before_initialize
    dtype = tf.as_dtype(config.dtype)
    with tf.name_scope(name) as scope_name:
      flow = build_flow(config, seed)
      self.dequantizer = None
      if config.dequantization == 'variational':
        self.dequantizer = VariationalDequantizer(
            config.image_shape, n_bits=config.n_bits,
            num_steps=config.dequantizer_steps,
            channels=config.dequantizer_channels,
            seed=(None if seed is None else
                  _seeds.derive_seed(seed, _DEQUANTIZER_SALT)),
            dtype=dtype,
            act_norm_log_scale_factor=config.act_norm_log_scale_factor,
            kernels=config.kernels)
      self.classifier = None
      if config.class_loss_weight:
        self.classifier = networks.ZeroDense(
            level_shapes(config.image_shape, config.num_levels)[-1][-1],
            config.num_classes, dtype=dtype, name='classifier')
      base = tfd.Sample(tfd.Normal(tf.zeros([], dtype), tf.ones([], dtype)),
                        sample_shape=config.image_shape, name='latent')
      super().__init__(distribution=base, bijector=flow,
                       kwargs_split_fn=_inputs.conditions_to_bijector,
                       validate_args=validate_args, parameters=parameters,
                       name=scope_name.rstrip('/'))

  @classmethod
  def _parameter_properties(cls, dtype, num_classes=None):
    # No batch-shaped tensor parameters: `config`, `seed` and `validate_args`
    # are Python values, and the flow and its base are built from them, so
    # the batch shape is [] (TFP infers it from these properties; without
    # them, `glow.batch_shape` or `print(glow)` logs TFP's warning about a
    # subclass that inherits its parent's).
    del dtype, num_classes
    return {}

  @property
  def config(self):
    return self._config

  @property
  def latent_shapes(self):
    """Event shapes of the per-level latents that `encode` returns."""
    return self.bijector.latent_shapes

  def check_images(self, x, name='x'):
    """`x` as a tensor of this model's model-space images, or a ValueError.

    The images must be floats of the model's dtype, shaped
    `[..., H, W, C]` with a known rank; the error says how to fix them
    (`glow_tf.dequantize` for uint8 images).
    """
    return _inputs.check_images(x, self._config.image_shape, self.dtype,
                                name=name)

  def dequantize_and_log_q(self, images, seed=None):
    """`(x, log q(u | k))`: discrete images in model space, under the model's noise.

    ```
    x = (k + u) / 2**n_bits - 0.5,    k the images' bins
    uniform:      u ~ U[0, 1)^D,      log q = 0
    variational:  u ~ q(u | k),       log q = self.dequantizer's
    ```
    The training loss of a batch is
    `bits_per_dim_from_log_prob(log_prob(x), D, n_bits, log_q)`.

    Args:
      images: uint8 images `[..., H, W, C]`; or model-space images already
        dequantised uniformly (as the data pipeline gives them), floats of
        the model's dtype, whose bins are the discrete images
        (`glow_tf.images.model_space_bins`). Under uniform dequantisation
        those are returned as they are: their noise is already a draw.
      seed: None (fresh noise) or a stateless seed.

    Returns:
      `x` `[..., H, W, C]` and `log q` of the images' batch shape.
    """
    images = tf.convert_to_tensor(images)
    if images.dtype == tf.uint8:
      _inputs.check_uint8_shape(images, self._config.image_shape)
    else:
      images = self.check_images(images, name='images')
    if self.dequantizer is not None:
      return self.dequantizer.dequantize(images, seed=seed)
    if images.dtype == tf.uint8:
      images = images_lib.dequantize(images, self._config.n_bits, seed=seed,
                                     dtype=self.dtype)
    return images, tf.zeros(tf.shape(images)[:-3], self.dtype)

  def _labels_for(self, labels, batch_shape):
    return _inputs.labels_for(labels, batch_shape, self._config.num_classes)

  def check_context(self, context, batch_shape, name='context'):
    """`context` as a tensor for images of `batch_shape`, or a ValueError.

    A conditional model (`config.context_shape`) needs floats of the
    model's dtype shaped `[*batch_shape, *context_shape]`; an unconditional
    one refuses a context. Returns None for an unconditional model.
    """
    return _inputs.check_context(context, batch_shape,
                                 self._config.context_shape, self.dtype,
                                 name=name)

  @property
  def initialized(self):
    """Whether every ActNorm (the coupling networks' too) is initialised.

    Reads the variables: True after `initialize`, or after restoring a
    checkpoint of an initialised model.
    """
    flags = [v for v in self.variables if v.dtype == tf.bool and
             v.name.split('/')[-1].startswith('initialized')]
    return bool(flags) and all(bool(v.numpy()) for v in flags)

  def _warn_before_initialize(self, method):
    """Warns (eagerly, until initialised) that `method` runs uninitialised.

    Not an error: an uninitialised Glow is a valid flow (its ActNorms are
    the identity), and a user restoring weights may call it on purpose.
    """
    if self._known_initialized or not tf.executing_eagerly():
      return
    self._known_initialized = self.initialized
    if not self._known_initialized:
      warnings.warn(
          f'Glow.{method} before Glow.initialize: the ActNorms are not '
          'initialised from data yet (they are the identity). Call '
          'glow.initialize(x) once on a large batch of model-space images '
          'first, or restore a trained checkpoint.', stacklevel=3)

  def log_prob(self, x, labels=None, context=None, name='log_prob',
               bijector_kwargs=None):
    """Exact log-density of model-space images `x` `[..., H, W, C]`.

    One pass through the flow (`MultiScaleFlow.inverse_and_log_det`): every
    coupling network and prior runs once. In eager mode it warns when the
    model is not initialised yet, and when `x` has values outside
    `[-1, 1]`, far from model space (`[-0.5, 0.5]`): raw pixel values
    (0..255) passed as floats, most likely.

    Args:
      x: model-space images.
      labels: integer labels of the batch, for class-conditional models.
      context: the images' contexts, for conditional models.
      name: name scope.
      bijector_kwargs: TFP's route for the same conditions,
        `{'labels': y, 'context': c}` (either, not both ways).
    """
    labels, context = _inputs.merge_bijector_kwargs(bijector_kwargs, labels,
                                                    context)
    x = self.check_images(x)
    self._warn_before_initialize('log_prob')
    if tf.executing_eagerly() and x.shape.num_elements():
      largest = float(tf.reduce_max(tf.abs(x)))
      if largest > 1.0:
        warnings.warn(
            f'Glow.log_prob got values up to {largest:g} in absolute value; '
            'model-space images lie in [-0.5, 0.5]. Convert uint8 images '
            'with glow_tf.dequantize(images, n_bits) (or score them with '
            'glow_tf.bits_per_dim).', stacklevel=2)
    labels = self._labels_for(labels, x.shape[:-3])
    context = self.check_context(context, x.shape[:-3])
    return super().log_prob(x, name=name,
                            **_inputs.condition_kwargs(labels, context))

  def _log_prob(self, x, labels=None, context=None):
    eps, ildj = self.bijector.inverse_and_log_det(x, labels=labels,
                                                  context=context)
    return self.distribution.log_prob(eps) + ildj

  def log_prob_and_class_logits(self, x, labels, context=None,
                                level_inverse=None):
    """`(log_prob(x), class_logits(x))` from one pass through the flow.

    The training objective of a model with a class-prediction loss
    (`config.class_loss_weight`). `level_inverse` as in
    `MultiScaleFlow.inverse_and_log_det` (`glow_tf.memory` passes its
    memory-saving one).
    """
    x = self.check_images(x)
    labels = self._labels_for(labels, x.shape[:-3])
    context = self.check_context(context, x.shape[:-3])
    eps, ildj, top = self.bijector.inverse_and_top_input(
        x, labels=labels, context=context, level_inverse=level_inverse)
    return (self.distribution.log_prob(eps) + ildj,
            self._classifier_logits(top))

  def class_logits(self, x, context=None):
    """Class logits `[..., num_classes]` of images, from their top latent.

    The linear classifier of the class-prediction loss (the official code's
    `--ycond` classifier) on the spatial mean of the last level's output;
    the label is not needed. Needs `config.class_loss_weight > 0`.
    """
    x = self.check_images(x)
    context = self.check_context(context, x.shape[:-3])
    return self._classifier_logits(self.bijector.top_input(x, context=context))

  def _classifier_logits(self, top):
    if self.classifier is None:
      raise ValueError('This model has no classifier: build it with '
                       'GlowConfig(num_classes=..., class_loss_weight=...) '
                       '> 0.')
    return self.classifier(tf.reduce_mean(top, axis=[-3, -2]))

  def _sample_and_log_prob(self, sample_shape, seed, labels=None,
                           context=None):
    eps, base_log_prob = self.distribution.experimental_sample_and_log_prob(
        sample_shape, seed=seed)
    x, fldj = self.bijector.forward_and_log_det(
        eps, **_inputs.condition_kwargs(labels, context))
    return x, base_log_prob - fldj

  def sample(self, sample_shape=(), seed=None, temperature=1.0, labels=None,
             context=None, name='sample'):
    """Samples images at a temperature.

    Every prior's standard deviation (top and splits) is scaled by
    `temperature`: the latents `eps ~ N(0, temperature**2 I)` are mapped by
    `flow.forward`. `temperature=0` gives the images of the prior means;
    about 0.7 gives the best-looking samples (paper, figure 8).

    Args:
      sample_shape: number (or shape) of samples.
      seed: int or stateless `[2]` seed.
      temperature: non-negative float (or scalar tensor).
      labels: integer labels of `sample_shape`, for class-conditional models.
      context: for conditional models, one context per sample
        (`[*sample_shape, *context_shape]`), or one context
        (`context_shape`) for all of them.
      name: name scope.

    Returns:
      Model-space images `[*sample_shape, H, W, C]`; `glow_tf.to_uint8`
      turns them into uint8 images.
    """
    _inputs.check_sample_shape(sample_shape)
    if seed is not None:
      _checks.seed_pair(seed)  # checked only: TFP takes ints as they are
    self._warn_before_initialize('sample')
    with tf.name_scope(name):
      temperature = _inputs.checked_temperature(temperature, self.dtype)
      eps = self.distribution.sample(sample_shape, seed=seed) * temperature
      labels = self._labels_for(labels, eps.shape[:-3])
      context = _inputs.context_per_sample(
          context, eps, self._config.context_shape, self.dtype)
      # The kernels decide how the batch runs (the fast ones: two halves,
      # side by side, on a CPU); every image is the flow's forward of its
      # latent either way.
      return self.bijector.kernels.map_batch(self._flow_forward, eps, labels,
                                             context)

  def _flow_forward(self, eps, labels, context):
    return self.bijector.forward(eps,
                                 **_inputs.condition_kwargs(labels, context))

  def encode(self, x, labels=None, context=None):
    """Images -> per-level latents `[eps_0, ..., eps_top]`, each N(0, I) a priori.

    `eps_l` (l < L-1) is the standardised half split off at level l,
    `eps_top` the standardised top latent; `latent_shapes` gives their shapes.
    """
    x = self.check_images(x)
    return self.bijector.encode(
        x, labels=self._labels_for(labels, x.shape[:-3]),
        context=self.check_context(context, x.shape[:-3]))

  def decode(self, latents, labels=None, context=None):
    """Per-level latents -> images; the exact inverse of `encode`."""
    if isinstance(latents, (list, tuple)) and latents and getattr(
        latents[0], 'shape', None) is not None:
      batch_shape = tf.TensorShape(latents[0].shape)[:-3]
      labels = self._labels_for(labels, batch_shape)
      context = self.check_context(context, batch_shape)
    else:
      context = self.check_context(context, tf.TensorShape(None))
    return self.bijector.decode(latents, labels=labels, context=context)

  def initialize(self, x, context=None):
    """Data-dependent init of every ActNorm (coupling networks' too), in order.

    Call once, before training, on a large batch (e.g. 512 images) of
    model-space images (and their contexts, for a conditional model). A
    variational dequantizer is initialised on the same images (their bins
    and their uniform noise: `VariationalDequantizer.initialize`).
    ActNorms already initialised (for example restored from a checkpoint)
    are left alone. Under a `tf.distribute` strategy, call it inside
    `strategy.run` with each replica's share of the batch: the statistics
    are all-reduced across replicas.

    Raises:
      ValueError: `x` is not this model's images, or (when its values are
        known, as in eager mode) holds no image or a NaN or infinity: the
        statistics would be NaN, and the ActNorms, marked initialised, would
        keep them.
    """
    x = self.check_images(x)
    context = self.check_context(context, x.shape[:-3])
    if not tf.is_symbolic_tensor(x):
      replica = tf.distribute.get_replica_context()
      # One replica's share may be empty: the all-reduced count is checked.
      alone = replica is None or replica.num_replicas_in_sync == 1
      if alone and x.shape.num_elements() == 0:
        raise ValueError(f'`x` must hold at least one image to initialise '
                         f'the ActNorms from, got shape {x.shape}.')
      if not bool(tf.reduce_all(tf.math.is_finite(x))):
        raise ValueError('`x` must be finite to initialise the ActNorms '
                         'from; it holds NaN or infinite values.')
    self.bijector.initialize(x, context=context)
    if self.dequantizer is not None:
      self.dequantizer.initialize(x)
