"""TF Serving's warm-up requests: one small valid request per signature.

TF Serving replays `<version>/assets.extra/tf_serving_warmup_requests` (a
TFRecord file of `PredictionLog`s) when it loads a model, so that the first
real request does not pay for graph optimisation.
"""

import os

import numpy as np
import tensorflow as tf

from glow_tf.bijectors import multi_scale
from glow_tf.export.signatures import CLASSIFY
from glow_tf.export.signatures import latent_name
from glow_tf.export.signatures import signature_names

__all__ = ['warmup_requests', 'write_warmup_requests', 'WARMUP_FILE']

WARMUP_FILE = os.path.join('assets.extra', 'tf_serving_warmup_requests')


def warmup_requests(config, model_name='glow', batch_size=2, seed=0):
  """One `PredictionLog` (a PredictRequest) per signature, for server warm-up.

  The requests carry small valid inputs (mid-grey images, zero latents,
  label 0, zero contexts, temperature 0.7), one per signature of
  `signature_names(config)`: TF Serving replays them when it loads the
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
  context = ({'context': np.zeros([batch_size, *config.context_shape],
                                  np.float32)}
             if config.conditional else {})
  shapes = multi_scale.latent_shapes(config.image_shape, config.num_levels)
  latents = {latent_name(level): np.zeros([batch_size, *shape], np.float32)
             for level, shape in enumerate(shapes)}
  inputs = {
      'serving_default': {'images': images, **labels, **context},
      'sample': {'num_samples': np.int32(batch_size),
                 'temperature': np.float32(0.7), 'seed': np.int64(seed),
                 **labels, **context},
      'encode': {'images': images, 'seed': np.int64(seed), **labels,
                 **context},
      'decode': {**latents, **labels, **context},
      CLASSIFY: {'images': images, **context},
  }
  logs = []
  for signature in signature_names(config):
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
