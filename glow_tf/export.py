"""Exports a Glow as a SavedModel that TensorFlow Serving serves.

The SavedModel (tag `serve`) has four signatures. `N` is any batch size
(including 0), `H, W, C` the model's `image_shape`, and `h_l, w_l, c_l` the
event shapes of the per-level latents (`Glow.latent_shapes`). Labels (int64
`[N]`, in `[0, num_classes)`) are an input of every signature of a
class-conditional model, and of none otherwise.

```
serving_default  images uint8 [N, H, W, C]            -> bits_per_dim float32 [N]
                 (labels int64 [N])                       log_prob     float32 [N]
sample           num_samples int32 [], temperature float32 [], seed int64 []
                 (labels int64 [num_samples])         -> images uint8 [num_samples, H, W, C]
encode           images uint8 [N, H, W, C], seed int64 []
                 (labels int64 [N])                   -> z_level_0 .. z_level_{L-1}
                                                         float32 [N, h_l, w_l, c_l]
decode           z_level_0 .. z_level_{L-1} float32 [N, h_l, w_l, c_l]
                 (labels int64 [N])                   -> images uint8 [N, H, W, C]
```

* `serving_default` scores images: `log_prob` is the model-space
  log-density `log p(x)` of the dequantised image `x` (see
  `glow_tf.images`), `bits_per_dim = -(log p(x) - D log 2**n_bits) / (D log 2)`.
  The dequantisation is deterministic. By default every pixel sits at the
  centre of its bin (`u = 0.5`), so an image always gets the same score,
  whatever else is in the batch. Exported with `score_seed=s`, the noise is
  instead `stateless_uniform(seed=s)` over the request's batch: the same
  request always gets the same numbers, an unbiased (noisy) estimate of the
  bits/dim that training reports.
* `sample` draws `num_samples` images at a `temperature` (0: the prior
  means; about 0.7 looks best), reproducibly for a given `seed`.
* `encode` dequantises with noise fixed by `seed` and returns the latents,
  each standard normal under the model; `decode` is its exact inverse up to
  the dequantisation (`decode(encode(images))` gives back `images`).

The int64 `seed` is used as the stateless seed `tf.bitcast(seed, tf.int32)`
(its two 32-bit halves); see `stateless_seed`.

Every check runs inside the graph, so a served model rejects a bad request
with an `INVALID_ARGUMENT` error, and never returns a silent wrong answer:

* a wrong shape (any input): `Shape of tensor images [2,27,28,1] is not
  compatible with expected shape [?,28,28,1]` (an `EnsureShape` per input;
  a loaded signature does not check shapes itself);
* negative or too large `num_samples`, a negative or non-finite
  `temperature`, labels out of range or not one per example, non-finite
  latents or latents of different batch sizes, samples or decoded images
  that overflow: `tf.debugging` assertions whose message names the
  signature and the input (`sample: `num_samples` must be >= 0`);
* a wrong dtype: refused by TensorFlow's runtime before the graph runs
  (`input #0 was expected to be a uint8 tensor but is a float tensor`).
  Note that TensorFlow's Python API converts a *numpy* argument to the
  signature's dtype before the call (a float array of 0.7 becomes 0), so
  Python callers should pass uint8 arrays; TF Serving's REST API parses JSON
  numbers as the signature's dtype and rejects values that do not fit.

The exported graph holds only TensorFlow ops: loading it needs neither
glow_tf nor tensorflow-probability.

#### Examples

```python
from glow_tf import export
path = export.export_from_model_dir('/tmp/glow', '/tmp/glow_export')
# -> '/tmp/glow_export/<step>', ready for
# tensorflow_model_server --model_base_path=/tmp/glow_export

loaded = tf.saved_model.load(path)
scores = loaded.signatures['serving_default'](images=images_uint8)
scores['bits_per_dim']
```
"""

import dataclasses
import functools
import json
import os
import types
import uuid

import numpy as np
import tensorflow as tf

from glow_tf import _checks
from glow_tf import images as images_lib
from glow_tf import networks
from glow_tf.bijectors import multi_scale
from glow_tf.glow import Glow
from glow_tf.training import checkpoints

__all__ = ['ExportError', 'ServingModule', 'SIGNATURE_NAMES',
           'export_from_model_dir', 'export_saved_model', 'latent_name',
           'latest_version', 'load', 'stateless_seed', 'warmup_requests',
           'write_warmup_requests', 'WARMUP_FILE']

SIGNATURE_NAMES = ('serving_default', 'sample', 'encode', 'decode')
WARMUP_FILE = os.path.join('assets.extra', 'tf_serving_warmup_requests')
CONFIG_ASSET = os.path.join('assets.extra', 'glow_config.json')
_TEMP_PREFIX = 'tmp-export-'


class ExportError(ValueError):
  """An export that cannot be written (bad version, existing version, ...)."""


def latent_name(level):
  """The signature name of the latent of `level`: `'z_level_<level>'`."""
  return f'z_level_{level}'


def stateless_seed(seed):
  """The `int32[2]` stateless seed of an int64 scalar `seed` (its two halves)."""
  return tf.bitcast(tf.cast(seed, tf.int64), tf.int32)


def _check_non_negative_int(value, name):
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
    raise ExportError(f'`{name}` must be a non-negative integer, got {value!r}.')
  if value < 0:
    raise ExportError(f'`{name}` must be >= 0, got {value!r}.')
  return int(value)


def _new_version_dir(export_dir, version):
  """`<export_dir>/<version>`, or an ExportError if it exists or is invalid."""
  version = _check_non_negative_int(version, 'version')
  path = os.path.join(export_dir, str(version))
  if tf.io.gfile.exists(path):
    raise ExportError(
        f'Export version {path!r} exists already; it is never overwritten. '
        'Choose another version (--version) or remove it.')
  return path


def _without_xla(fn):
  """`fn`, traced with TensorFlow's plain ops only (`networks.xla_taps(False)`).

  TF Serving's CPU server runs no XLA clusters unless started with
  `--xla_cpu_compilation_enabled`, so the exported graphs have none.
  """
  @functools.wraps(fn)
  def traced(*inputs):
    with networks.xla_taps(False):
      return fn(*inputs)
  return traced


class ServingModule(tf.Module):
  """A `tf.Module` of the four serving signatures of a `Glow`.

  Each signature is a `tf.function` whose input signature has a `None`
  batch dimension; see the module docstring for their inputs and outputs.
  Only the Glow's variables are tracked (`model_variables`), not the Glow,
  so the SavedModel's object graph holds no glow_tf or TFP objects.

  Args:
    glow: a `glow_tf.Glow`, initialised (restored or `initialize`d).
    score_seed: None (score at the bin centres) or an int: the stateless
      seed of the dequantisation noise of `serving_default`.
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
      score_seed = _check_non_negative_int(score_seed, 'score_seed')
    if (isinstance(max_num_samples, bool) or
        not isinstance(max_num_samples, (int, np.integer)) or
        max_num_samples < 1):
      raise ValueError('`max_num_samples` must be a positive integer, got '
                       f'{max_num_samples!r}.')
    # A plain namespace is not tracked: the Glow stays out of the SavedModel.
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
    self._latent_specs = [
        tf.TensorSpec([None, *shape], tf.float32, name=latent_name(level))
        for level, shape in enumerate(self._latent_shapes)]
    # A signature's input names are its TensorSpecs' names.
    self.serving_default = tf.function(
        _without_xla(self._score),
        input_signature=[self._image_spec, *label_specs],
        autograph=False)
    self.sample = tf.function(
        _without_xla(self._sample),
        input_signature=[tf.TensorSpec([], tf.int32, name='num_samples'),
                         tf.TensorSpec([], tf.float32, name='temperature'),
                         seed_spec, *label_specs],
        autograph=False)
    self.encode = tf.function(
        _without_xla(self._encode),
        input_signature=[self._image_spec, seed_spec, *label_specs],
        autograph=False)
    self.decode = tf.function(
        _without_xla(self._decode),
        input_signature=[*self._latent_specs, *label_specs],
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
            for name in SIGNATURE_NAMES}

  # The signatures.

  # Each takes its inputs positionally (`*inputs`, labels last when the model
  # is class-conditional), so that its only arguments are the named inputs.

  def _score(self, *inputs):
    """images (and labels) -> `bits_per_dim`, `log_prob` `[N]`."""
    glow, config = self.glow, self._config
    (images,), labels = self._split_labels(inputs)
    images = self._check_shape(images, self._image_spec)
    batch = tf.shape(images)[0]
    labels = self._check_labels('serving_default', labels, batch, 'images')
    if self._score_seed is None:
      x = images_lib.dequantize(images, config.n_bits, noise=False,
                                dtype=glow.dtype)
    else:
      x = images_lib.dequantize(images, config.n_bits,
                                seed=stateless_seed(self._score_seed),
                                dtype=glow.dtype)
    log_prob = glow.log_prob(x, labels=labels)
    bits = images_lib.bits_per_dim_from_log_prob(
        log_prob, config.num_dims, config.n_bits)
    return {'bits_per_dim': tf.cast(bits, tf.float32),
            'log_prob': tf.cast(log_prob, tf.float32)}

  def _sample(self, *inputs):
    """num_samples, temperature, seed (and labels) -> uint8 `images`."""
    glow = self.glow
    (num_samples, temperature, seed), labels = self._split_labels(inputs)
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
    x = glow.sample(num_samples, seed=stateless_seed(seed),
                    temperature=tf.cast(temperature, glow.dtype),
                    labels=labels)
    return {'images': self._to_uint8(
        x, 'sample: the samples are not finite (is `temperature` too '
        'large?)')}

  def _encode(self, *inputs):
    """images, seed (and labels) -> `z_level_0`, ... `[N, h, w, c]`."""
    glow, config = self.glow, self._config
    (images, seed), labels = self._split_labels(inputs)
    images = self._check_shape(images, self._image_spec)
    seed = tf.ensure_shape(seed, [])
    batch = tf.shape(images)[0]
    labels = self._check_labels('encode', labels, batch, 'images')
    x = images_lib.dequantize(images, config.n_bits,
                              seed=stateless_seed(seed), dtype=glow.dtype)
    latents = glow.encode(x, labels=labels)
    return {latent_name(level): tf.cast(z, tf.float32)
            for level, z in enumerate(latents)}

  def _decode(self, *inputs):
    """`z_level_0`, ... (and labels) -> uint8 `images`."""
    glow = self.glow
    latents, labels = self._split_labels(inputs)
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

    x = glow.decode([tf.cast(z, glow.dtype) for z in latents],
                    labels=labels)
    return {'images': self._to_uint8(
        x, 'decode: the decoded images are not finite (are the latents '
        'far outside N(0, 1)?)')}

  def _split_labels(self, inputs):
    """`(inputs without the labels, labels or None)`."""
    if self._config.num_classes:
      return inputs[:-1], inputs[-1]
    return inputs, None

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

  def _to_uint8(self, x, message):
    x = tf.debugging.assert_all_finite(x, message=message)
    return images_lib.to_uint8(x, self._config.n_bits)


def warmup_requests(config, model_name='glow', batch_size=2, seed=0):
  """One `PredictionLog` (a PredictRequest) per signature, for server warm-up.

  The requests carry small valid inputs (mid-grey images, zero latents,
  label 0, temperature 0.7): TF Serving replays them when it loads the
  model, so the first real request does not pay for graph optimisation.

  Args:
    config: the model's `glow_tf.GlowConfig`.
    model_name: the `model_spec.name` of the requests.
    batch_size: images per request.
    seed: the `seed` input of `sample` and `encode`.

  Returns:
    A list of `tensorflow_serving.apis.prediction_log_pb2.PredictionLog`.
  """
  try:
    from tensorflow_serving.apis import model_pb2  # pylint: disable=g-import-not-at-top
    from tensorflow_serving.apis import predict_pb2  # pylint: disable=g-import-not-at-top
    from tensorflow_serving.apis import prediction_log_pb2  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise ImportError(
        'Writing TF Serving warm-up requests needs the tensorflow-serving-api '
        'package (pip install tensorflow-serving-api), or export with '
        'warmup=False.') from e
  h, w, c = config.image_shape
  images = np.full([batch_size, h, w, c], 128, np.uint8)
  labels = ({'labels': np.zeros([batch_size], np.int64)}
            if config.num_classes else {})
  shapes = multi_scale.latent_shapes(config.image_shape, config.num_levels)
  latents = {latent_name(level): np.zeros([batch_size, *shape], np.float32)
             for level, shape in enumerate(shapes)}
  inputs = {
      'serving_default': {'images': images, **labels},
      'sample': {'num_samples': np.int32(batch_size),
                 'temperature': np.float32(0.7), 'seed': np.int64(seed),
                 **labels},
      'encode': {'images': images, 'seed': np.int64(seed), **labels},
      'decode': {**latents, **labels},
  }
  logs = []
  for signature in SIGNATURE_NAMES:
    request = predict_pb2.PredictRequest(
        model_spec=model_pb2.ModelSpec(name=model_name,
                                       signature_name=signature))
    for key, value in inputs[signature].items():
      request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
    logs.append(prediction_log_pb2.PredictionLog(
        predict_log=prediction_log_pb2.PredictLog(request=request)))
  return logs


def write_warmup_requests(saved_model_dir, config, model_name='glow'):
  """Writes `assets.extra/tf_serving_warmup_requests` (a TFRecord file)."""
  path = os.path.join(saved_model_dir, WARMUP_FILE)
  tf.io.gfile.makedirs(os.path.dirname(path))
  with tf.io.TFRecordWriter(path) as writer:
    for log in warmup_requests(config, model_name=model_name):
      writer.write(log.SerializeToString())
  return path


def export_saved_model(glow, export_dir, version, score_seed=None,
                       max_num_samples=1024, warmup=True, model_name='glow'):
  """Writes `glow` as the SavedModel `<export_dir>/<version>/` (tag `serve`).

  The SavedModel is written to a temporary directory inside `export_dir`
  (a name TF Serving ignores) and renamed to `<version>` only when complete,
  so a server watching `export_dir` never sees half a model, and an
  existing version is never touched.

  Args:
    glow: an initialised `glow_tf.Glow`.
    export_dir: the model base path that TF Serving watches.
    version: non-negative int, the version directory's name.
    score_seed: see `ServingModule`.
    max_num_samples: see `ServingModule`.
    warmup: also write `assets.extra/tf_serving_warmup_requests`.
    model_name: `model_spec.name` of the warm-up requests.

  Returns:
    The path of the new version directory.

  Raises:
    ExportError: `version` is not a non-negative int, or
      `<export_dir>/<version>` exists already.
  """
  final = _new_version_dir(export_dir, version)
  module = ServingModule(glow, score_seed=score_seed,
                         max_num_samples=max_num_samples)
  _checks.make_dirs(export_dir, 'export_dir')
  temp = os.path.join(export_dir, f'{_TEMP_PREFIX}{version}-{uuid.uuid4().hex}')
  try:
    tf.saved_model.save(module, temp, signatures=module.signatures())
    config_path = os.path.join(temp, CONFIG_ASSET)
    tf.io.gfile.makedirs(os.path.dirname(config_path))
    with tf.io.gfile.GFile(config_path, 'w') as f:
      json.dump(dataclasses.asdict(glow.config), f, indent=2, sort_keys=True)
    if warmup:
      write_warmup_requests(temp, glow.config, model_name=model_name)
    if tf.io.gfile.exists(final):
      raise ExportError(
          f'Export version {final!r} appeared while exporting; it is never '
          'overwritten.')
    tf.io.gfile.rename(temp, final, overwrite=False)
  finally:
    if tf.io.gfile.exists(temp):
      tf.io.gfile.rmtree(temp)
  return final


def export_from_model_dir(model_dir, export_dir, version=None, use_ema=True,
                          checkpoint=None, **kwargs):
  """Exports the latest checkpoint of a training `model_dir` for TF Serving.

  Args:
    model_dir: a training directory (`glow_tf.training.checkpoints`).
    export_dir: the model base path; the SavedModel goes to
      `<export_dir>/<version>/`.
    version: non-negative int; default the checkpoint's training step.
    use_ema: export the averaged (EMA) weights when the checkpoint has them.
    checkpoint: a checkpoint prefix; default the latest in `model_dir`.
    **kwargs: passed to `export_saved_model` (`score_seed`,
      `max_num_samples`, `warmup`, `model_name`).

  Returns:
    The path of the new version directory.

  Raises:
    CheckpointError: the model_dir or checkpoint is missing or corrupt.
    ExportError: the version exists already or is invalid.

  #### Examples

  ```python
  from glow_tf import export
  export.export_from_model_dir('/tmp/glow', '/tmp/glow_export')
  ```
  """
  if version is not None:
    _new_version_dir(export_dir, version)  # Fail before restoring.
  try:
    glow, step = checkpoints.restore_model(model_dir, use_ema=use_ema,
                                           checkpoint=checkpoint)
  except (IndexError, tf.errors.OpError) as e:
    # TF's checkpoint reader raises IndexError on a truncated data file.
    raise checkpoints.CheckpointError(
        f'Cannot restore a checkpoint of {model_dir!r}: it is corrupt or '
        f'truncated ({type(e).__name__}: {e}).') from e
  return export_saved_model(glow, export_dir,
                            step if version is None else version, **kwargs)


def latest_version(export_dir):
  """`<export_dir>/<version>` of the highest complete version, as TF Serving picks.

  Only folders named by an integer that hold a SavedModel count: a
  temporary `tmp-export-...` folder of an export under way does not.

  Raises:
    ExportError: `export_dir` holds no version.
  """
  versions = []
  if tf.io.gfile.isdir(export_dir):
    for name in tf.io.gfile.listdir(export_dir):
      name = name.rstrip('/')
      if name.isdigit() and tf.saved_model.contains_saved_model(
          os.path.join(export_dir, name)):
        versions.append(int(name))
  if not versions:
    raise ExportError(
        f'No exported version in {export_dir!r}: expected '
        '<export_dir>/<version>/saved_model.pb, the layout that '
        'experiments/export.py (glow_tf.export.export_saved_model) writes.')
  return os.path.join(export_dir, str(max(versions)))


def load(path):
  """Loads an export: a version folder, or the base folder's newest version.

  `tf.saved_model.load` needs `<export_dir>/<version>`; given the base
  folder (what TF Serving's `--model_base_path` takes) it says only that no
  SavedModel is there. This takes either.

  Args:
    path: `<export_dir>/<version>` or `<export_dir>`.

  Returns:
    The loaded SavedModel (`.signatures['serving_default']`, ...).

  Raises:
    ExportError: `path` is neither.

  #### Examples

  ```python
  from glow_tf import export
  model = export.load('/tmp/glow_export')     # the newest version
  model.signatures['sample'](num_samples=4, temperature=0.7, seed=0)
  ```
  """
  path = os.fspath(path)
  if not tf.saved_model.contains_saved_model(path):
    path = latest_version(path)
  return tf.saved_model.load(path, tags=['serve'])
