"""Tests of the exports of conditional models: the context in every signature.

Two tiny exports (`exported.conditional_exported`), each made once: 'image'
(`p(x | its 2x2 average)`, context `[14, 14, 1]`) and 'vector' (context
`[6]`, labels and a classifier, so also `classify`).
"""

import os
import re

from absl.testing import absltest
import numpy as np
import tensorflow as tf

from glow_tf import export
from tests.export import exported
from tests.export.exported import assert_close
from tests.export.exported import assert_same_images
from tests.export.exported import expected_classes
from tests.export.exported import expected_latents
from tests.export.exported import expected_samples
from tests.export.exported import expected_scores
from tests.export.exported import run_in_fresh_process
from tests.export.exported import show_signatures
from tests.export.exported import tensor_info


def constants(**inputs):
  return {name: tf.constant(value) for name, value in inputs.items()}


class ConditionalSignaturesMixin:
  """Tests of the export of the model `KIND`, in-process (`self.e`)."""

  KIND = None

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.e = exported.conditional_exported(cls.KIND)

  def labels(self, n):
    """`{'labels': ...}` for `n` examples of a class-conditional model."""
    if not self.e.glow.config.num_classes:
      return {}
    return {'labels': self.e.labels[:n]}

  def call(self, signature, **inputs):
    return self.e.loaded.signatures[signature](**constants(**inputs))

  def test_every_signature_takes_the_context_last(self):
    config = self.e.glow.config
    self.assertEqual(sorted(self.e.loaded.signatures),
                     sorted(export.signature_names(config)))
    for name, signature in self.e.loaded.signatures.items():
      inputs = signature.structured_input_signature[1]
      self.assertEqual(inputs['context'],
                       tf.TensorSpec([None, *config.context_shape],
                                     tf.float32, name='context'), name)
      # Labels wherever the model has them, but for classify.
      self.assertEqual('labels' in inputs,
                       bool(config.num_classes) and name != export.CLASSIFY,
                       name)

  def test_signatures_match_the_model(self):
    e, n = self.e, 4
    images, context = e.images[:n], e.contexts[:n]
    labels = self.labels(n)
    scores = self.call('serving_default', images=images, context=context,
                       **labels)
    for name, value in expected_scores(e.glow, images, context=context,
                                       **labels).items():
      assert_close(self, scores[name].numpy(), value, name)
    latents = self.call('encode', images=images, seed=np.int64(4),
                        context=context, **labels)
    for name, value in expected_latents(e.glow, images, 4, context=context,
                                        **labels).items():
      assert_close(self, latents[name].numpy(), value, name)
    decoded = self.call('decode', **{k: v.numpy() for k, v in latents.items()},
                        context=context, **labels)['images'].numpy()
    np.testing.assert_array_equal(decoded, images)
    # One context per sample.
    samples = self.call('sample', num_samples=np.int32(3),
                        temperature=np.float32(0.7), seed=np.int64(9),
                        context=e.contexts[5:8], **self.labels(3))
    assert_same_images(self, samples['images'].numpy(),
                       expected_samples(e.glow, 3, 0.7, 9,
                                        context=e.contexts[5:8],
                                        **self.labels(3)), 'sample')

  def test_the_context_changes_the_results(self):
    e = self.e
    images, labels = e.images[:2], self.labels(2)
    other = e.contexts[2:4]
    log_prob = self.call('serving_default', images=images,
                         context=e.contexts[:2], **labels)['log_prob']
    other_log_prob = self.call('serving_default', images=images,
                               context=other, **labels)['log_prob']
    self.assertGreater(np.abs(log_prob - other_log_prob).min(), 1e-3)

    def sample(context):
      return self.call('sample', num_samples=np.int32(2),
                       temperature=np.float32(0.7), seed=np.int64(1),
                       context=context, **labels)['images'].numpy()
    self.assertFalse(np.array_equal(sample(e.contexts[:2]), sample(other)))

  def test_signatures_accept_any_batch_size(self):
    e = self.e
    for n in (0, 1):
      images, context, labels = e.images[:n], e.contexts[:n], self.labels(n)
      scores = self.call('serving_default', images=images, context=context,
                         **labels)
      self.assertEqual(scores['log_prob'].shape, [n])
      latents = self.call('encode', images=images, seed=np.int64(0),
                          context=context, **labels)
      decoded = self.call('decode',
                          **{k: v.numpy() for k, v in latents.items()},
                          context=context, **labels)['images']
      self.assertEqual(decoded.shape, [n, 28, 28, 1])
      samples = self.call('sample', num_samples=np.int32(n),
                          temperature=np.float32(0.7), seed=np.int64(1),
                          context=context, **labels)['images']
      self.assertEqual(samples.shape, [n, 28, 28, 1])

  def bad_context_requests(self):
    """`(signature, inputs, message)`: one bad context in each signature."""
    e = self.e
    shape = e.glow.config.context_shape
    good = e.contexts[:2]
    images = e.images[:2]
    latents = {f'z_level_{level}': np.zeros([2, *s], np.float32)
               for level, s in enumerate(e.glow.latent_shapes)}
    short = np.zeros([2, *shape[:-1], shape[-1] + 1], np.float32)
    expected = re.escape(f'[{",".join(["?", *map(str, shape)])}]')
    requests = [
        ('serving_default', dict(images=images, context=short),
         rf'tensor context \[{",".join(map(str, short.shape))}\] is not '
         rf'compatible with expected shape {expected}'),
        ('serving_default', dict(images=images, context=good[0]),
         rf'tensor context \[{",".join(map(str, shape))}\]'),
        ('serving_default', dict(images=images, context=good[:1]),
         r'serving_default: `context` must hold one context per example '
         r'\(as many as `images`\)'),
        ('encode', dict(images=images, seed=np.int64(0),
                        context=np.full_like(good, np.nan)),
         r'encode: `context` must be finite'),
        ('sample', dict(num_samples=np.int32(2), temperature=np.float32(0.7),
                        seed=np.int64(0), context=e.contexts[:3]),
         r'sample: `context` must hold one context per example \(as many as '
         r'`num_samples`\)'),
        ('decode', dict(**latents, context=e.contexts[:3]),
         r'decode: `context` must hold one context per example \(as many as '
         r'`z_level_0`\)'),
    ]
    if export.CLASSIFY in e.loaded.signatures:
      requests.append(
          ('classify', dict(images=images, context=np.full_like(good, np.inf)),
           r'classify: `context` must be finite'))
    return requests

  def test_bad_context_is_rejected_with_a_message_naming_it(self):
    e = self.e
    for signature, inputs, message in self.bad_context_requests():
      batch = len(inputs.get('images', inputs.get('z_level_0', [0, 0])))
      if signature == 'sample':
        batch = int(inputs['num_samples'])
      if signature != export.CLASSIFY:
        inputs.update(self.labels(batch))
      with self.subTest(signature=signature, message=message):
        with self.assertRaisesRegex(tf.errors.InvalidArgumentError, message):
          self.call(signature, **inputs)
    # The model still serves a good request.
    scores = self.call('serving_default', images=e.images[:1],
                       context=e.contexts[:1], **self.labels(1))
    self.assertTrue(np.isfinite(scores['log_prob'].numpy()).all())

  def test_context_of_the_wrong_dtype_is_rejected(self):
    e = self.e
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError,
                                'expected to be a float tensor but is a '
                                'double tensor'):
      e.loaded.signatures['serving_default'](
          images=tf.constant(e.images[:1]),
          context=tf.constant(e.contexts[:1], tf.float64),
          **constants(**self.labels(1)))

  def test_warmup_requests_hold_the_context_and_run(self):
    from tensorflow_serving.apis import prediction_log_pb2  # pylint: disable=g-import-not-at-top
    e = self.e
    records = tf.data.TFRecordDataset(
        os.path.join(e.path, export.WARMUP_FILE)).as_numpy_iterator()
    logs = [prediction_log_pb2.PredictionLog.FromString(r) for r in records]
    self.assertEqual(
        [log.predict_log.request.model_spec.signature_name for log in logs],
        list(export.signature_names(e.glow.config)))
    for log in logs:
      request = log.predict_log.request
      signature = e.loaded.signatures[request.model_spec.signature_name]
      specs = signature.structured_input_signature[1]
      self.assertEqual(sorted(request.inputs), sorted(specs))
      self.assertIn('context', request.inputs)
      inputs = {key: tf.make_ndarray(proto)
                for key, proto in request.inputs.items()}
      for key, value in inputs.items():
        self.assertEqual(tf.as_dtype(value.dtype), specs[key].dtype, key)
        self.assertTrue(specs[key].shape.is_compatible_with(value.shape), key)
      signature(**constants(**inputs))  # The server replays it: it must run.


class ImageContextTest(ConditionalSignaturesMixin, absltest.TestCase):
  """p(28x28 image | its 14x14 average)."""

  KIND = 'image'

  def test_saved_model_cli_lists_the_context(self):
    _, blocks = show_signatures(self, self.e.path)
    self.assertEqual(sorted(blocks), sorted(
        ['__saved_model_init_op', *export.SIGNATURE_NAMES]))
    for name in export.SIGNATURE_NAMES:
      self.assertEqual(tensor_info(self, blocks[name], 'inputs', 'context'),
                       ('DT_FLOAT', '(-1, 14, 14, 1)'), name)
      self.assertNotIn("inputs['labels']", blocks[name])

  def test_a_fresh_process_gets_the_same_values(self):
    # Served by a process that imports only TensorFlow.
    e = self.e
    images, context = e.images[:3], e.contexts[:3]
    latents = expected_latents(e.glow, images, 11, context=context)
    inputs = {
        'score/serving_default/images': images,
        'score/serving_default/context': context,
        'sample/sample/num_samples': np.int32(3),
        'sample/sample/temperature': np.float32(0.7),
        'sample/sample/seed': np.int64(123),
        'sample/sample/context': e.contexts[3:6],
        'encode/encode/images': images,
        'encode/encode/seed': np.int64(11),
        'encode/encode/context': context,
        **{f'decode/decode/{k}': v for k, v in latents.items()},
        'decode/decode/context': context,
    }
    outputs = run_in_fresh_process(self, e.path, e.tmp, inputs)
    for name, value in expected_scores(e.glow, images,
                                       context=context).items():
      assert_close(self, outputs[f'score/{name}'], value, name)
    for name, value in latents.items():
      assert_close(self, outputs[f'encode/{name}'], value, name)
    assert_same_images(self, outputs['sample/images'],
                       expected_samples(e.glow, 3, 0.7, 123,
                                        context=e.contexts[3:6]), 'sample')
    np.testing.assert_array_equal(outputs['decode/images'], images)


class VectorContextTest(ConditionalSignaturesMixin, absltest.TestCase):
  """p(image | a vector, its label), with a classifier: `classify` too."""

  KIND = 'vector'

  def test_classify_matches_the_model(self):
    e = self.e
    images, context = e.images[:8], e.contexts[:8]
    result = self.call(export.CLASSIFY, images=images, context=context)
    expected = expected_classes(e.glow, images, context=context)
    assert_close(self, result['logits'].numpy(), expected['logits'],
                 'logits')
    self.assertEqual(result['classes'].dtype, tf.int64)
    np.testing.assert_array_equal(result['classes'].numpy(),
                                  expected['classes'])
    # The logits depend on the image, and on its context.
    logits = result['logits'].numpy()
    self.assertGreater(np.abs(logits - logits[:1]).max(), 1e-4)
    other = self.call(export.CLASSIFY, images=images,
                      context=e.contexts[8:16])['logits'].numpy()
    self.assertGreater(np.abs(logits - other).max(), 1e-4)

  def test_saved_model_cli_lists_the_context_labels_and_classify(self):
    _, blocks = show_signatures(self, self.e.path)
    self.assertEqual(sorted(blocks), sorted(
        ['__saved_model_init_op', *export.SIGNATURE_NAMES, export.CLASSIFY]))
    for name in (*export.SIGNATURE_NAMES, export.CLASSIFY):
      self.assertEqual(tensor_info(self, blocks[name], 'inputs', 'context'),
                       ('DT_FLOAT', '(-1, 6)'), name)
    for name in export.SIGNATURE_NAMES:
      self.assertEqual(tensor_info(self, blocks[name], 'inputs', 'labels'),
                       ('DT_INT64', '(-1)'), name)
    classify = blocks[export.CLASSIFY]
    self.assertNotIn("inputs['labels']", classify)
    self.assertEqual(tensor_info(self, classify, 'inputs', 'images'),
                     ('DT_UINT8', '(-1, 28, 28, 1)'))
    self.assertEqual(tensor_info(self, classify, 'outputs', 'logits'),
                     ('DT_FLOAT', '(-1, 10)'))
    self.assertEqual(tensor_info(self, classify, 'outputs', 'classes'),
                     ('DT_INT64', '(-1)'))


if __name__ == '__main__':
  absltest.main()
