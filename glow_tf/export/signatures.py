"""`ServingModule`: the serving signatures of a `Glow`, checked in the graph.

The signatures' inputs, outputs and errors are listed in the package
docstring (`glow_tf.export`): four for every model, and `classify` for a
model with a classifier (`GlowConfig.class_loss_weight > 0`). Each is traced
from a copy of the Glow computed by the 'matmul' kernels (`serving_glow`):
the fast kernels' matmuls with TensorFlow's plain ops, so the exported graph
holds no XLA cluster. Only the Glow's variables are saved, so loading it
needs neither glow_tf nor tensorflow-probability.
"""

import math
import types

import numpy as np
import tensorflow as tf

from glow_tf import images as images_lib
from glow_tf.glow import Glow

__all__ = ['CLASSIFY', 'ExportError', 'ServingModule', 'SIGNATURE_NAMES',
           'latent_name', 'signature_names', 'stateless_seed']

# The signatures of every export; `signature_names` adds those of some models.
SIGNATURE_NAMES = ('serving_default', 'sample', 'encode', 'decode')
CLASSIFY = 'classify'


def signature_names(config):
  """The signatures of an export of a model of `config`, in order.

  `SIGNATURE_NAMES`, then `classify` for a model with a classifier
  (`config.class_loss_weight > 0`).
  """
  return SIGNATURE_NAMES + ((CLASSIFY,) if config.class_loss_weight else ())


class ExportError(ValueError):
  """An export that cannot be written (bad version, existing version, ...)."""


def latent_name(level):
  """The signature name of the latent of `level`: `'z_level_<level>'`."""
  return f'z_level_{level}'


def stateless_seed(seed):
  """The `int32[2]` stateless seed of an int64 scalar `seed` (its two halves)."""
  return tf.bitcast(tf.cast(seed, tf.int64), tf.int32)


def check_non_negative_int(value, name):
  """`int(value)` for an int >= 0 (numpy ints too), else an ExportError."""
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
    raise ExportError(f'`{name}` must be a non-negative integer, got {value!r}.')
  if value < 0:
    raise ExportError(f'`{name}` must be >= 0, got {value!r}.')
  return int(value)


# TF Serving's CPU server runs no XLA clusters unless started with
# `--xla_cpu_compilation_enabled`: the fast kernels' matmuls, without XLA.
SERVING_KERNELS = 'matmul'


def serving_glow(glow):
  """`glow`'s function and weights, computed by the `SERVING_KERNELS`.

  The one place where the export chooses how the layers are computed. A
  Glow of another `kernels` is copied (same config otherwise, its
  variables' current values); one already on them is returned as it is.
  """
  if glow.config.kernels == SERVING_KERNELS:
    return glow
  copy = Glow(glow.config.replace(kernels=SERVING_KERNELS), seed=0)
  for source, target in zip(glow.variables, copy.variables):
    if source.shape != target.shape or source.dtype != target.dtype:
      raise ExportError(f'Variable {source.name} does not match its '
                        f'serving copy {target.name}.')
    target.assign(source)
  return copy


class ServingModule(tf.Module):
  """A `tf.Module` of the serving signatures of a `Glow`.

  Each signature is a `tf.function` whose input signature has a `None`
  batch dimension; see `glow_tf.export` for their inputs and outputs, and
  `signature_names(glow.config)` for the signatures of a model.
  Only the Glow's variables are tracked (`model_variables`), not the Glow,
  so the SavedModel's object graph holds no glow_tf or TFP objects.

  Args:
    glow: a `glow_tf.Glow`, initialised (restored or `initialize`d).
    score_seed: None (score at the bin centres) or an int: the stateless
      seed of the dequantisation noise of `serving_default`. A model with a
      variational dequantizer is scored by its importance-weighted bound
      (`glow_tf.bits_per_dim`), its draws from this seed (0 when None).
    max_num_samples: the largest `num_samples` that `sample` accepts, so
      that one request cannot exhaust the server's memory.

  #### Examples

  ```python
  module = ServingModule(glow)
  module.serving_default(tf.zeros([2, 28, 28, 1], tf.uint8))
  tf.saved_model.save(module, path, signatures=module.signatures())
  ```
  """

  def __init__(self, glow, score_seed=None, max_num_samples=1024,
               name='glow_serving'):
    super().__init__(name=name)
    if not isinstance(glow, Glow):
      raise ValueError(f'`glow` must be a glow_tf.Glow, got {glow!r}.')
    if score_seed is not None:
      score_seed = check_non_negative_int(score_seed, 'score_seed')
    if (isinstance(max_num_samples, bool) or
        not isinstance(max_num_samples, (int, np.integer)) or
        max_num_samples < 1):
      raise ValueError('`max_num_samples` must be a positive integer, got '
                       f'{max_num_samples!r}.')
    # A plain namespace is not tracked: the Glow stays out of the SavedModel.
    glow = serving_glow(glow)
    self._untracked = types.SimpleNamespace(glow=glow)
    self._config = config = glow.config
    self._score_seed = score_seed
    self._max_num_samples = int(max_num_samples)
    self._latent_shapes = [tuple(s) for s in glow.latent_shapes]
    self.model_variables = list(glow.variables)

    self._image_spec = tf.TensorSpec([None, *config.image_shape], tf.uint8,
                                     name='images')
    seed_spec = tf.TensorSpec([], tf.int64, name='seed')
    label_specs = ([tf.TensorSpec([None], tf.int64, name='labels')]
                   if config.num_classes else [])
    # The context is float32 whatever the model's dtype, as the latents.
    self._context_spec = (
        tf.TensorSpec([None, *config.context_shape], tf.float32,
                      name='context') if config.conditional else None)
    context_specs = [self._context_spec] if config.conditional else []
    # The conditions, the last inputs of every signature: labels, context.
    condition_specs = [*label_specs, *context_specs]
    self._latent_specs = [
        tf.TensorSpec([None, *shape], tf.float32, name=latent_name(level))
        for level, shape in enumerate(self._latent_shapes)]
    # A signature's input names are its TensorSpecs' names.
    self.serving_default = tf.function(
        self._score,
        input_signature=[self._image_spec, *condition_specs],
        autograph=False)
    self.sample = tf.function(
        self._sample,
        input_signature=[tf.TensorSpec([], tf.int32, name='num_samples'),
                         tf.TensorSpec([], tf.float32, name='temperature'),
                         seed_spec, *condition_specs],
        autograph=False)
    self.encode = tf.function(
        self._encode,
        input_signature=[self._image_spec, seed_spec, *condition_specs],
        autograph=False)
    self.decode = tf.function(
        self._decode,
        input_signature=[*self._latent_specs, *condition_specs],
        autograph=False)
    if CLASSIFY in signature_names(config):
      # The classifier reads the image (and context), not the labels.
      self.classify = tf.function(
          self._classify,
          input_signature=[self._image_spec, *context_specs],
          autograph=False)

  @property
  def config(self):
    return self._config

  @property
  def glow(self):
    return self._untracked.glow

  def signatures(self):
    """`{signature name: concrete function}`, for `tf.saved_model.save`."""
    return {name: getattr(self, name).get_concrete_function()
            for name in signature_names(self._config)}

  # The signatures.

  # Each takes its inputs positionally (`*inputs`, the conditions last:
  # labels for a class-conditional model, then context for a conditional
  # one), so that its only arguments are the named inputs.

  def _score(self, *inputs):
    """images (and labels, context) -> `bits_per_dim`, `log_prob` `[N]`."""
    glow, config = self.glow, self._config
    (images,), labels, context = self._split_conditions(inputs)
    images = self._check_shape(images, self._image_spec)
    batch = tf.shape(images)[0]
    labels = self._check_labels('serving_default', labels, batch, 'images')
    context = self._check_context('serving_default', context, batch,
                                  'images')
    if glow.dequantizer is None:
      log_prob = glow.log_prob(self._scored_images(images), labels=labels,
                               context=context)
      bits = images_lib.bits_per_dim_from_log_prob(
          log_prob, config.num_dims, config.n_bits)
    else:
      bits = self._variational_bound(images, labels, context)
      # The log-density that gives these bits/dim by the formula above.
      log_prob = float(config.num_dims) * math.log(2.0) * (
          config.n_bits - bits)
    return {'bits_per_dim': tf.cast(bits, tf.float32),
            'log_prob': tf.cast(log_prob, tf.float32)}

  def _variational_bound(self, images, labels, context):
    """`glow_tf.bits_per_dim` of a variational model, with `score_seed`'s noise.

    The importance-weighted bound with the model's own dequantizer and its
    default number of draws (`images.default_num_samples`), every draw from
    the stateless seed `[0, score_seed]` (score_seed 0 when None):
    deterministic, and the figure of
    `glow_tf.bits_per_dim(glow, images, seed=[0, score_seed])`.
    """
    glow = self.glow
    return images_lib.importance_weighted_bits_per_dim(
        glow, images, self._config.n_bits, labels=labels,
        seed=tf.constant([0, self._score_seed or 0], tf.int32),
        num_samples=images_lib.default_num_samples(glow), context=context)

  def _sample(self, *inputs):
    """num_samples, temperature, seed (and labels, context) -> `images`."""
    glow = self.glow
    (num_samples, temperature, seed), labels, context = (
        self._split_conditions(inputs))
    num_samples = tf.ensure_shape(num_samples, [])
    temperature = tf.ensure_shape(temperature, [])
    seed = tf.ensure_shape(seed, [])
    with tf.control_dependencies([
        tf.debugging.assert_non_negative(
            num_samples, message='sample: `num_samples` must be >= 0'),
        tf.debugging.assert_less_equal(
            num_samples, tf.constant(self._max_num_samples, tf.int32),
            message=f'sample: `num_samples` must be <= '
            f'{self._max_num_samples} (max_num_samples of this export)'),
        tf.debugging.assert_all_finite(
            temperature, message='sample: `temperature` must be finite'),
        tf.debugging.assert_non_negative(
            temperature, message='sample: `temperature` must be >= 0')]):
      num_samples = tf.identity(num_samples)
      temperature = tf.identity(temperature)
    labels = self._check_labels('sample', labels, num_samples, 'num_samples')
    context = self._check_context('sample', context, num_samples,
                                  'num_samples')
    x = glow.sample(num_samples, seed=stateless_seed(seed),
                    temperature=tf.cast(temperature, glow.dtype),
                    labels=labels, context=context)
    return {'images': self._to_uint8(
        x, 'sample: the samples are not finite (is `temperature` too '
        'large?)')}

  def _encode(self, *inputs):
    """images, seed (and labels, context) -> `z_level_0`, ... `[N, h, w, c]`."""
    glow, config = self.glow, self._config
    (images, seed), labels, context = self._split_conditions(inputs)
    images = self._check_shape(images, self._image_spec)
    seed = tf.ensure_shape(seed, [])
    batch = tf.shape(images)[0]
    labels = self._check_labels('encode', labels, batch, 'images')
    context = self._check_context('encode', context, batch, 'images')
    x = images_lib.dequantize(images, config.n_bits,
                              seed=stateless_seed(seed), dtype=glow.dtype)
    latents = glow.encode(x, labels=labels, context=context)
    return {latent_name(level): tf.cast(z, tf.float32)
            for level, z in enumerate(latents)}

  def _decode(self, *inputs):
    """`z_level_0`, ... (and labels, context) -> uint8 `images`."""
    glow = self.glow
    latents, labels, context = self._split_conditions(inputs)
    latents = [self._check_shape(z, spec)
               for z, spec in zip(latents, self._latent_specs)]
    batch = tf.shape(latents[0])[0]
    checks = []
    for level, z in enumerate(latents):
      name = latent_name(level)
      checks.append(tf.debugging.assert_all_finite(
          z, message=f'decode: `{name}` must be finite'))
      if level:
        checks.append(tf.debugging.assert_equal(
            tf.shape(z)[0], batch, message=f'decode: `{name}` must have the '
            'batch size of `z_level_0`'))
    with tf.control_dependencies(checks):
      latents = [tf.identity(z) for z in latents]
    labels = self._check_labels('decode', labels, batch, 'z_level_0')
    context = self._check_context('decode', context, batch, 'z_level_0')

    x = glow.decode([tf.cast(z, glow.dtype) for z in latents],
                    labels=labels, context=context)
    return {'images': self._to_uint8(
        x, 'decode: the decoded images are not finite (are the latents '
        'far outside N(0, 1)?)')}

  def _classify(self, *inputs):
    """images (and context) -> class `logits` `[N, K]`, `classes` `[N]`."""
    (images,), _, context = self._split_conditions(inputs, labels=False)
    images = self._check_shape(images, self._image_spec)
    context = self._check_context('classify', context, tf.shape(images)[0],
                                  'images')
    logits = self.glow.class_logits(self._scored_images(images),
                                    context=context)
    return {'logits': tf.cast(logits, tf.float32),
            'classes': tf.argmax(logits, axis=-1, output_type=tf.int64)}

  def _scored_images(self, images):
    """uint8 images in model space, as `serving_default` scores them.

    At the bin centres, or with the noise of `score_seed`.
    """
    config, dtype = self._config, self.glow.dtype
    if self._score_seed is None:
      return images_lib.dequantize(images, config.n_bits, noise=False,
                                   dtype=dtype)
    return images_lib.dequantize(images, config.n_bits,
                                 seed=stateless_seed(self._score_seed),
                                 dtype=dtype)

  def _split_conditions(self, inputs, labels=True):
    """`(inputs without the conditions, labels or None, context or None)`.

    With `labels=False`, the inputs hold no labels (`classify`).
    """
    inputs = list(inputs)
    context = inputs.pop() if self._config.conditional else None
    labels = inputs.pop() if labels and self._config.num_classes else None
    return inputs, labels, context

  # Checks, inside the graph.

  def _check_shape(self, x, spec):
    """Rejects a tensor whose runtime shape does not match `spec`.

    A loaded signature does not check shapes against its input signature,
    so this `EnsureShape` does: "Shape of tensor images [2,27,28,1] is not
    compatible with expected shape [?,28,28,1]".
    """
    return tf.ensure_shape(x, spec.shape, name=f'check_{spec.name}_shape')

  def _check_labels(self, signature, labels, batch, batch_input):
    """Asserts one label in `[0, num_classes)` per example."""
    if labels is None:
      return None
    num_classes = self._config.num_classes
    labels = tf.ensure_shape(labels, [None], name='check_labels_shape')
    with tf.control_dependencies([
        tf.debugging.assert_equal(
            tf.size(labels), tf.cast(batch, tf.int32),
            message=f'{signature}: `labels` must hold one label per example '
            f'(as many as `{batch_input}`)'),
        tf.debugging.assert_non_negative(
            labels, message=f'{signature}: `labels` must be >= 0'),
        tf.debugging.assert_less(
            labels, tf.constant(num_classes, tf.int64),
            message=f'{signature}: `labels` must be < num_classes = '
            f'{num_classes}')]):
      return tf.identity(labels)

  def _check_context(self, signature, context, batch, batch_input):
    """Asserts one finite context per example; casts it to the model's dtype."""
    if context is None:
      return None
    context = self._check_shape(context, self._context_spec)
    context = tf.debugging.assert_all_finite(
        context, message=f'{signature}: `context` must be finite')
    with tf.control_dependencies([
        tf.debugging.assert_equal(
            tf.shape(context)[0], tf.cast(batch, tf.int32),
            message=f'{signature}: `context` must hold one context per '
            f'example (as many as `{batch_input}`)')]):
      return tf.cast(tf.identity(context), self.glow.dtype)

  def _to_uint8(self, x, message):
    x = tf.debugging.assert_all_finite(x, message=message)
    return images_lib.to_uint8(x, self._config.n_bits)
