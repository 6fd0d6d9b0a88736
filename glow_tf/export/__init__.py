"""Exports a Glow as a SavedModel that TensorFlow Serving serves.

The SavedModel (tag `serve`) has four signatures (`SIGNATURE_NAMES`), and
a fifth, `classify`, for a model with a classifier
(`signature_names(config)`). `N` is any batch size (including 0), `H, W, C`
the model's `image_shape`, and `h_l, w_l, c_l` the event shapes of the
per-level latents (`Glow.latent_shapes`). The conditions are inputs of
every signature of a model that has them, and of none otherwise: labels
(int64 `[N]`, in `[0, num_classes)`) of a class-conditional model
(`num_classes`), a context (float32 `[N, *context_shape]`, one per example)
of a conditional model (`context_shape`).

```
serving_default  images uint8 [N, H, W, C]            -> bits_per_dim float32 [N]
                 (labels int64 [N])                       log_prob     float32 [N]
                 (context float32 [N, *context_shape])
sample           num_samples int32 [], temperature float32 [], seed int64 []
                 (labels int64 [num_samples])         -> images uint8 [num_samples, H, W, C]
                 (context float32 [num_samples, *context_shape])
encode           images uint8 [N, H, W, C], seed int64 []
                 (labels int64 [N])                   -> z_level_0 .. z_level_{L-1}
                 (context float32 [N, *context_shape])   float32 [N, h_l, w_l, c_l]
decode           z_level_0 .. z_level_{L-1} float32 [N, h_l, w_l, c_l]
                 (labels int64 [N])                   -> images uint8 [N, H, W, C]
                 (context float32 [N, *context_shape])
classify         images uint8 [N, H, W, C]            -> logits  float32 [N, num_classes]
(classifier      (context float32 [N, *context_shape])   classes int64 [N]
 models only)
```

* `serving_default` scores images: `log_prob` is the model-space
  log-density `log p(x)` of the dequantised image `x` (see
  `glow_tf.images`), `bits_per_dim = -(log p(x) - D log 2**n_bits) / (D log 2)`.
  The dequantisation is deterministic. By default every pixel sits at the
  centre of its bin (`u = 0.5`), so an image always gets the same score,
  whatever else is in the batch. Exported with `score_seed=s`, the noise is
  instead `stateless_uniform(seed=s)` over the request's batch: the same
  request always gets the same numbers, an unbiased (noisy) estimate of the
  bits/dim that training reports. A model with a variational dequantizer
  (`GlowConfig(dequantization='variational')`) is scored by the bound that
  `glow_tf.bits_per_dim` gives: its own noise, `default_num_samples` draws
  per image from the seed `score_seed` (0 by default); its `log_prob` is
  the log-density that gives those bits/dim by the formula above.
* `sample` draws `num_samples` images at a `temperature` (0: the prior
  means; about 0.7 looks best), reproducibly for a given `seed`.
* `encode` dequantises with noise fixed by `seed` and returns the latents,
  each standard normal under the model; `decode` is its exact inverse up to
  the dequantisation (`decode(encode(images))` gives back `images`, given
  the same labels and context).
* `classify` (a model with `class_loss_weight > 0`) predicts the class of
  images dequantised as `serving_default` does (`Glow.class_logits`): the
  `logits`, and their argmax, `classes`. It needs no labels.
* A context is the model's `p(x | context)` condition as the model was
  trained on it (a low-resolution model-space image, an embedding, ...),
  float32 whatever the model's dtype. `sample` takes one per sample.

The int64 `seed` is used as the stateless seed `tf.bitcast(seed, tf.int32)`
(its two 32-bit halves); see `stateless_seed`.

Every check runs inside the graph, so a served model rejects a bad request
with an `INVALID_ARGUMENT` error, and never returns a silent wrong answer:

* a wrong shape (any input): `Shape of tensor images [2,27,28,1] is not
  compatible with expected shape [?,28,28,1]` (an `EnsureShape` per input;
  a loaded signature does not check shapes itself);
* negative or too large `num_samples`, a negative or non-finite
  `temperature`, labels out of range or not one per example, non-finite
  latents or latents of different batch sizes, contexts not finite or not
  one per example, samples or decoded images that overflow:
  `tf.debugging` assertions whose message names the signature and the
  input (`sample: `num_samples` must be >= 0`);
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

from glow_tf.export.signatures import CLASSIFY
from glow_tf.export.signatures import ExportError
from glow_tf.export.signatures import latent_name
from glow_tf.export.signatures import ServingModule
from glow_tf.export.signatures import SIGNATURE_NAMES
from glow_tf.export.signatures import signature_names
from glow_tf.export.signatures import stateless_seed
from glow_tf.export.versions import CONFIG_ASSET
from glow_tf.export.versions import export_from_model_dir
from glow_tf.export.versions import export_saved_model
from glow_tf.export.versions import latest_version
from glow_tf.export.versions import load
from glow_tf.export.warmup import WARMUP_FILE
from glow_tf.export.warmup import warmup_requests
from glow_tf.export.warmup import write_warmup_requests

__all__ = ['CLASSIFY', 'ExportError', 'ServingModule', 'SIGNATURE_NAMES',
           'export_from_model_dir', 'export_saved_model', 'latent_name',
           'latest_version', 'load', 'signature_names', 'stateless_seed',
           'warmup_requests', 'write_warmup_requests', 'WARMUP_FILE']
