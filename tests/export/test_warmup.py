"""Tests of glow_tf.export's TF Serving warm-up requests."""

import os

from absl.testing import absltest
import tensorflow as tf

from glow_tf import export
from tests.export import exported

E = None  # exported.exported(), set by setUpModule.


def setUpModule():
  global E
  E = exported.exported()


class WarmupTest(absltest.TestCase):

  def test_warmup_file_holds_a_valid_request_per_signature(self):
    from tensorflow_serving.apis import prediction_log_pb2  # pylint: disable=g-import-not-at-top
    records = list(tf.data.TFRecordDataset(
        os.path.join(E.path, export.WARMUP_FILE)).as_numpy_iterator())
    logs = [prediction_log_pb2.PredictionLog.FromString(r) for r in records]
    self.assertEqual(
        sorted(log.predict_log.request.model_spec.signature_name
               for log in logs), sorted(export.SIGNATURE_NAMES))
    for log in logs:
      request = log.predict_log.request
      self.assertEqual(request.model_spec.name, 'glow')
      signature = E.loaded.signatures[request.model_spec.signature_name]
      specs = signature.structured_input_signature[1]
      self.assertEqual(sorted(request.inputs), sorted(specs))
      inputs = {}
      for key, proto in request.inputs.items():
        value = tf.make_ndarray(proto)
        self.assertEqual(tf.as_dtype(value.dtype), specs[key].dtype, key)
        self.assertTrue(specs[key].shape.is_compatible_with(value.shape), key)
        inputs[key] = tf.constant(value)
      signature(**inputs)  # The server replays it: it must run.


if __name__ == '__main__':
  absltest.main()
