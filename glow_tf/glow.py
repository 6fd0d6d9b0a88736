"""`Glow`: the multi-scale Glow model as a `tfp.distributions.TransformedDistribution`."""

import math
import warnings

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from glow_tf import _checks
from glow_tf import _seeds
from glow_tf import images as images_lib
from glow_tf import kernels as kernels_lib
from glow_tf import networks
from glow_tf.bijectors.flow_step import flow_step
from glow_tf.bijectors.learned_prior import LearnedPrior
from glow_tf.bijectors.multi_scale import level_shapes
from glow_tf.bijectors.multi_scale import MultiScaleFlow
from glow_tf.bijectors.split_prior import SplitPrior
from glow_tf.config import GlowConfig
from glow_tf.context_encoder import ContextEncoder
from glow_tf.dequantizer import VariationalDequantizer

tfb = tfp.bijectors
tfd = tfp.distributions

__all__ = ['Glow', 'build_flow']

_CONTEXT_SALT = 7  # the context encoder's seed: derive_seed(seed, 7)
_DEQUANTIZER_SALT = 11  # the variational dequantizer's: derive_seed(seed, 11)


def build_flow(config, seed=0):
  """The `MultiScaleFlow` bijector that `config` describes.

  Level `l` squeezes to `[H / 2**(l+1), W / 2**(l+1), 4 c_l]` channels and runs
  `config.num_steps` flow steps there; every level but the last then splits
  off half its channels under a `SplitPrior`; a `LearnedPrior` covers the top.
  """
  if not isinstance(config, GlowConfig):
    raise ValueError(f'config must be a glow_tf.GlowConfig, got {config!r}.')
  dtype = tf.as_dtype(config.dtype)
  kernels = kernels_lib.get(config.kernels)
  seeds = iter(_seeds.split_seed(seed, config.num_levels * config.num_steps))
  levels, splits = [], []
  shapes = level_shapes(config.image_shape, config.num_levels)
  context_channels = config.context_channels if config.conditional else 0
  encoder = None
  if config.conditional:
    encoder = ContextEncoder(
        config.context_shape, [(h, w) for h, w, _ in shapes],
        config.context_channels,
        seed=None if seed is None else _seeds.derive_seed(seed, _CONTEXT_SALT),
        dtype=dtype, kernels=kernels)
  for level, (_, _, c) in enumerate(shapes):
    with tf.name_scope(f'level_{level}'):
      levels.append(tfb.Chain([
          flow_step(c, config.hidden_channels, config.permutation,
                    config.coupling, seed=int(next(seeds)), dtype=dtype,
                    edge_padding=config.edge_padding,
                    network_dtype=config.network_dtype,
                    act_norm_log_scale_factor=config.act_norm_log_scale_factor,
                    kernels=kernels, context_channels=context_channels,
                    name=f'step_{step}')
          for step in range(config.num_steps)], name=f'level_{level}'))
      if level < config.num_levels - 1:
        splits.append(SplitPrior(c, dtype=dtype,
                                 edge_padding=config.edge_padding,
                                 kernels=kernels,
                                 context_channels=context_channels))
  top = LearnedPrior(shapes[-1][-1], learn=config.learn_top_prior,
                     num_classes=config.num_classes, dtype=dtype,
                     context_channels=context_channels, kernels=kernels,
                     name='top_prior')
  return MultiScaleFlow(config.image_shape, levels, splits, top,
                        kernels=kernels, context_encoder=encoder)


_CONDITIONS = ('labels', 'context')


def _condition_kwargs(labels, context=None):
  """The conditions given, as the flow's keywords."""
  kwargs = {'labels': labels, 'context': context}
  return {name: value for name, value in kwargs.items() if value is not None}


def _conditions_to_bijector(kwargs):
  bijector_kwargs = dict(kwargs.get('bijector_kwargs', {}))
  for name in _CONDITIONS:
    if kwargs.get(name) is not None:
      bijector_kwargs[name] = kwargs[name]
  return kwargs.get('distribution_kwargs', {}), bijector_kwargs


def _merge_bijector_kwargs(bijector_kwargs, labels, context):
  """`labels` and `context` from TFP's `bijector_kwargs` or the keywords."""
  if not bijector_kwargs:
    return labels, context
  unknown = sorted(set(bijector_kwargs) - set(_CONDITIONS))
  if unknown:
    raise ValueError(f'bijector_kwargs may hold {list(_CONDITIONS)}, got '
                     f'{unknown}.')
  given = {'labels': labels, 'context': context}
  for name, value in bijector_kwargs.items():
    if given[name] is not None:
      raise ValueError(f'`{name}` given twice: as a keyword and in '
                       'bijector_kwargs.')
    given[name] = value
  return given['labels'], given['context']


def _check_sample_shape(sample_shape):
  """A Python `sample_shape` (an int or a sequence of them) must be >= 0."""
  if tf.is_tensor(sample_shape):
    return  # TFP checks a tensor's values
  dims = (sample_shape if isinstance(sample_shape, (list, tuple))
          else [sample_shape])
  for d in dims:
    if (isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 0):
      raise ValueError('sample_shape must be a non-negative int (or a '
                       f'sequence of them), got {sample_shape!r}.')


def _check_temperature(temperature):
  """A Python temperature as a float: finite and >= 0, or a ValueError."""
  try:
    value = float(temperature)
  except (TypeError, ValueError):
    raise ValueError('temperature must be >= 0 and finite, got '
                     f'{temperature!r}.') from None
  if not (value >= 0 and math.isfinite(value)):  # also rejects NaN
    raise ValueError(f'temperature must be >= 0 and finite, got '
                     f'{temperature!r}.')
  return value


def _checked_temperature(temperature, dtype):
  """`temperature` as a scalar tensor, checked >= 0 and finite.

  A Python number or an eager tensor is checked at once; a symbolic one by
  assertions that the returned tensor depends on.
  """
  if not tf.is_tensor(temperature):
    _check_temperature(temperature)  # no assertion op in the graph
  value = tf.convert_to_tensor(temperature, dtype)
  if value.shape.rank not in (None, 0):
    raise ValueError(f'temperature must be a scalar, got shape {value.shape}.')
  if not tf.is_symbolic_tensor(value):
    if tf.is_tensor(temperature):
      _check_temperature(float(value))
    return value
  # In graph mode the assertion is an op, not a tensor: depend on it (NaN
  # fails `>= 0` too).
  with tf.control_dependencies([
      tf.debugging.assert_non_negative(value,
                                       message='temperature must be >= 0'),
      tf.debugging.assert_less(value, tf.constant(np.inf, dtype),
                               message='temperature must be finite')]):
    return tf.identity(value)


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
                       kwargs_split_fn=_conditions_to_bijector,
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
    x = tf.convert_to_tensor(x)
    if not x.dtype.is_floating:
      raise ValueError(
          f'`{name}` must be float model-space images in [-0.5, 0.5], got dtype '
          f'{x.dtype.name}; convert uint8 images with glow_tf.dequantize.')
    if x.dtype != self.dtype:
      raise ValueError(f'`{name}` must have dtype {self.dtype.name} (the '
                       f"model's), got {x.dtype.name}.")
    shape = tuple(self._config.image_shape)
    if x.shape.rank is None:
      raise ValueError(
          f'`{name}` must have a known rank ([..., {", ".join(map(str, shape))}]),'
          ' got a tensor of unknown shape; trace the tf.function with an '
          f'input_signature such as tf.TensorSpec([None, '
          f'{", ".join(map(str, shape))}]).')
    if (
        x.shape.rank < 3 or (x.shape[-3:].is_fully_defined() and
                             tuple(x.shape[-3:]) != shape)):
      raise ValueError(f'`{name}` must have shape [..., {", ".join(map(str, shape))}]'
                       f' (images of this model), got {x.shape}.')
    return x

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
      shape = tuple(self._config.image_shape)
      if images.shape.rank is None or images.shape.rank < 3 or (
          not images.shape[-3:].is_compatible_with(shape)):
        raise ValueError(f'`images` must have shape [..., '
                         f'{", ".join(map(str, shape))}], got {images.shape}.')
    else:
      images = self.check_images(images, name='images')
    if self.dequantizer is not None:
      return self.dequantizer.dequantize(images, seed=seed)
    if images.dtype == tf.uint8:
      images = images_lib.dequantize(images, self._config.n_bits, seed=seed,
                                     dtype=self.dtype)
    return images, tf.zeros(tf.shape(images)[:-3], self.dtype)

  def _labels_for(self, labels, batch_shape):
    """`labels` (a tensor), checked against the batch shape where both are known.

    Their dtype and range are checked by the top prior (`check_labels`).
    """
    if labels is None or self._config.num_classes is None:
      return labels  # the prior says what is missing or not wanted
    labels = tf.convert_to_tensor(labels)
    batch_shape = tf.TensorShape(batch_shape)
    if (labels.shape.is_fully_defined() and batch_shape.is_fully_defined()
        and labels.shape != batch_shape):
      raise ValueError(
          f'`labels` must have the batch shape {batch_shape.as_list()} (one '
          f'integer label per image), got shape {labels.shape.as_list()}.')
    return labels

  def check_context(self, context, batch_shape, name='context'):
    """`context` as a tensor for images of `batch_shape`, or a ValueError.

    A conditional model (`config.context_shape`) needs floats of the
    model's dtype shaped `[*batch_shape, *context_shape]`; an unconditional
    one refuses a context. Returns None for an unconditional model.
    """
    context_shape = self._config.context_shape
    if context_shape is None:
      if context is not None:
        raise ValueError(f'This model is unconditional (context_shape=None) '
                         f'but got a `{name}`; build it with '
                         'GlowConfig(context_shape=...) to condition on one.')
      return None
    expected = '[batch, ' + ', '.join(map(str, context_shape)) + ']'
    if context is None:
      raise ValueError(
          f'This model is conditional (context_shape={context_shape}): pass '
          f'`{name}`, {self.dtype.name} values shaped {expected}.')
    if tf.is_tensor(context) and context.dtype != self.dtype:
      raise ValueError(f'`{name}` must have dtype {self.dtype.name} (the '
                       f"model's), got {context.dtype.name}.")
    if not tf.is_tensor(context) and not np.issubdtype(
        np.asarray(context).dtype, np.floating):
      raise ValueError(f'`{name}` must be floats of dtype {self.dtype.name}, '
                       f'got {np.asarray(context).dtype}.')
    context = tf.convert_to_tensor(context, self.dtype)
    if context.shape.rank is None:
      raise ValueError(
          f'`{name}` must have a known rank ({expected}), got a tensor of '
          'unknown shape; trace the tf.function with an input_signature '
          f'such as tf.TensorSpec([None, {", ".join(map(str, context_shape))}'
          ']).')
    batch_shape = tf.TensorShape(batch_shape)
    rank = len(context_shape)
    if (context.shape.rank < rank or
        not context.shape[-rank:].is_compatible_with(context_shape) or
        not context.shape[:-rank].is_compatible_with(batch_shape)):
      raise ValueError(
          f'`{name}` must have shape {batch_shape.concatenate(context_shape)}'
          f' (one context of shape {context_shape} per image of batch shape '
          f'{batch_shape}), got shape {context.shape}.')
    return context

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
    labels, context = _merge_bijector_kwargs(bijector_kwargs, labels, context)
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
    return super().log_prob(x, name=name, **_condition_kwargs(labels, context))

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
    eps, ildj = self.bijector.inverse_and_log_det(
        x, labels=labels, context=context, level_inverse=level_inverse)
    top = self.bijector.top_latent(eps, labels=labels, context=context)
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
        eps, **_condition_kwargs(labels, context))
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
    _check_sample_shape(sample_shape)
    if seed is not None:
      _checks.seed_pair(seed)  # checked only: TFP takes ints as they are
    self._warn_before_initialize('sample')
    with tf.name_scope(name):
      temperature = _checked_temperature(temperature, self.dtype)
      eps = self.distribution.sample(sample_shape, seed=seed) * temperature
      labels = self._labels_for(labels, eps.shape[:-3])
      context = self._context_per_sample(context, eps)
      # The kernels decide how the batch runs (the fast ones: two halves,
      # side by side, on a CPU); every image is the flow's forward of its
      # latent either way.
      return self.bijector.kernels.map_batch(self._flow_forward, eps, labels,
                                             context)

  def _context_per_sample(self, context, eps):
    """`context`, one for every sample (one context is broadcast), checked."""
    context_shape = self._config.context_shape
    if context is not None and not tf.is_tensor(context):
      context = np.asarray(context)  # a list, too, takes a new axis below
    if (context_shape is not None and context is not None and
        tf.TensorShape(np.shape(context) if not tf.is_tensor(context)
                       else context.shape).rank == len(context_shape)):
      context = self.check_context(context[tf.newaxis], [1])[0]
      context = tf.broadcast_to(context, tf.concat(
          [tf.shape(eps)[:-3], context_shape], axis=0))
      context.set_shape(eps.shape[:-3].concatenate(context_shape))
    return self.check_context(context, eps.shape[:-3])

  def _flow_forward(self, eps, labels, context):
    return self.bijector.forward(eps, **_condition_kwargs(labels, context))

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
