"""Tests of glow_tf.export's signatures: layout, results, checks, labels."""

import os

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from glow_tf import export
from glow_tf.training import checkpoints
from tests.export import exported
from tests.export.exported import assert_close
from tests.export.exported import assert_same_images
from tests.export.exported import expected_decoded
from tests.export.exported import expected_latents
from tests.export.exported import expected_samples
from tests.export.exported import expected_scores
from tests.export.exported import make_model_dir
from tests.export.exported import run
from tests.export.exported import run_in_fresh_process
from tests.export.exported import show_signatures
from tests.export.exported import STEP
from tests.export.exported import tensor_info
from tests.export.exported import tensorflow_tool
from tests.export.exported import tiny_config
from tests.fixtures import xla_compiled_functions

E = None  # exported.exported(), set by setUpModule.


def setUpModule():
  global E
  E = exported.exported()


class ExportLayoutTest(absltest.TestCase):

  def test_version_is_the_training_step(self):
    self.assertEqual(E.path, os.path.join(E.export_dir, str(STEP)))
    for name in ('saved_model.pb', 'variables', export.WARMUP_FILE):
      self.assertTrue(os.path.exists(os.path.join(E.path, name)), name)
    # Only the version: no temporary directory is left behind.
    self.assertEqual(os.listdir(E.export_dir), [str(STEP)])

  def test_graph_has_no_xla_clusters(self):
    # TF Serving's CPU server compiles none (by default): the export traces
    # the networks' plain taps, which glow_tf otherwise runs with XLA.
    from tensorflow.core.protobuf import saved_model_pb2  # pylint: disable=g-import-not-at-top
    saved = saved_model_pb2.SavedModel()
    with open(os.path.join(E.path, 'saved_model.pb'), 'rb') as f:
      saved.ParseFromString(f.read())
    graph_def = saved.meta_graphs[0].graph_def
    self.assertNotEmpty(graph_def.library.function)
    self.assertEmpty(xla_compiled_functions(graph_def))
    # The same model traced outside the export has them.
    spec = tf.TensorSpec([None, *E.glow.config.image_shape], E.glow.dtype)
    traced = tf.function(E.glow.log_prob).get_concrete_function(spec)
    self.assertNotEmpty(xla_compiled_functions(traced.graph.as_graph_def()))

  def test_signatures_accept_any_batch_size(self):
    for n in (0, 1, 3):
      images = tf.constant(E.images[:n])
      scores = E.loaded.signatures['serving_default'](images=images)
      self.assertEqual(scores['bits_per_dim'].shape, [n])
      self.assertEqual(scores['log_prob'].shape, [n])
      latents = E.loaded.signatures['encode'](
          images=images, seed=tf.constant(0, tf.int64))
      decoded = E.loaded.signatures['decode'](**latents)['images']
      self.assertEqual(decoded.shape, [n, 28, 28, 1])
      samples = E.loaded.signatures['sample'](
          num_samples=tf.constant(n), temperature=tf.constant(0.7),
          seed=tf.constant(1, tf.int64))['images']
      self.assertEqual(samples.shape, [n, 28, 28, 1])
    for spec in E.loaded.signatures['serving_default'].structured_input_signature[1].values():
      self.assertEqual(spec.shape.as_list(), [None, 28, 28, 1])

  def test_encode_decode_round_trip(self):
    latents = E.loaded.signatures['encode'](
        images=tf.constant(E.images[:4]), seed=tf.constant(3, tf.int64))
    self.assertEqual(sorted(latents), ['z_level_0', 'z_level_1'])
    decoded = E.loaded.signatures['decode'](**latents)['images'].numpy()
    np.testing.assert_array_equal(decoded, E.images[:4])

  def test_seeds_make_results_reproducible(self):
    def sample(s):
      return E.loaded.signatures['sample'](
          num_samples=tf.constant(2), temperature=tf.constant(1.0),
          seed=tf.constant(s, tf.int64))['images'].numpy()
    np.testing.assert_array_equal(sample(5), sample(5))
    self.assertFalse(np.array_equal(sample(5), sample(6)))
    # Seeds differing only in their high 32 bits differ too.
    self.assertFalse(np.array_equal(sample(5), sample(5 + 2**40)))


class FreshProcessTest(absltest.TestCase):
  """The SavedModel served by a process that imports only TensorFlow."""

  def test_signatures_match_the_in_process_model(self):
    images = E.images[:6]
    latents = expected_latents(E.glow, images, encode_seed=11)
    inputs = {
        'score6/serving_default/images': images,
        'score1/serving_default/images': E.images[6:7],
        'sample/sample/num_samples': np.int32(3),
        'sample/sample/temperature': np.float32(0.7),
        'sample/sample/seed': np.int64(123),
        'encode/encode/images': images,
        'encode/encode/seed': np.int64(11),
        **{f'decode/decode/{k}': v for k, v in latents.items()},
    }
    outputs = run_in_fresh_process(self, E.path, E.tmp, inputs)

    for call, batch in (('score6', images), ('score1', E.images[6:7])):
      for name, value in expected_scores(E.glow, batch).items():
        assert_close(self, outputs[f'{call}/{name}'], value, f'{call} {name}')
    for name, value in latents.items():
      assert_close(self, outputs[f'encode/{name}'], value, name)
    assert_same_images(self, outputs['sample/images'],
                       expected_samples(E.glow, 3, 0.7, 123), 'sample')
    assert_same_images(self, outputs['decode/images'],
                       expected_decoded(E.glow, latents), 'decode')
    # Sanity of the model itself: scores of real images are plausible.
    self.assertTrue(np.all(np.isfinite(outputs['score6/bits_per_dim'])))
    self.assertTrue(np.all(outputs['score6/bits_per_dim'] > 0))


class SavedModelCliTest(absltest.TestCase):

  def test_show_all_lists_the_signatures_with_dtypes_and_shapes(self):
    text, blocks = show_signatures(self, E.path)
    for name in export.SIGNATURE_NAMES:
      self.assertIn(name, blocks)
    self.assertNotIn(export.CLASSIFY, blocks)
    self.assertNotIn("inputs['context']", text)
    self.assertIn("MetaGraphDef with tag-set: 'serve'", text)

    def tensor(block, kind, name):
      return tensor_info(self, block, kind, name)

    score = blocks['serving_default']
    self.assertEqual(tensor(score, 'inputs', 'images'),
                     ('DT_UINT8', '(-1, 28, 28, 1)'))
    self.assertEqual(tensor(score, 'outputs', 'bits_per_dim'),
                     ('DT_FLOAT', '(-1)'))
    self.assertEqual(tensor(score, 'outputs', 'log_prob'),
                     ('DT_FLOAT', '(-1)'))
    sample = blocks['sample']
    self.assertEqual(tensor(sample, 'inputs', 'num_samples'),
                     ('DT_INT32', '()'))
    self.assertEqual(tensor(sample, 'inputs', 'temperature'),
                     ('DT_FLOAT', '()'))
    self.assertEqual(tensor(sample, 'inputs', 'seed'), ('DT_INT64', '()'))
    self.assertEqual(tensor(sample, 'outputs', 'images'),
                     ('DT_UINT8', '(-1, 28, 28, 1)'))
    encode = blocks['encode']
    self.assertEqual(tensor(encode, 'inputs', 'images'),
                     ('DT_UINT8', '(-1, 28, 28, 1)'))
    self.assertEqual(tensor(encode, 'inputs', 'seed'), ('DT_INT64', '()'))
    decode = blocks['decode']
    for level, (h, w, c) in enumerate(E.glow.latent_shapes):
      shape = f'(-1, {h}, {w}, {c})'
      self.assertEqual(tensor(encode, 'outputs', f'z_level_{level}'),
                       ('DT_FLOAT', shape))
      self.assertEqual(tensor(decode, 'inputs', f'z_level_{level}'),
                       ('DT_FLOAT', shape))
    self.assertEqual(tensor(decode, 'outputs', 'images'),
                     ('DT_UINT8', '(-1, 28, 28, 1)'))

  def test_run_serving_default_on_a_npy_file(self):
    images = E.images[10:14]
    npy = os.path.join(E.tmp, 'images.npy')
    np.save(npy, images)
    outdir = os.path.join(E.tmp, 'cli_run')
    result = run(tensorflow_tool('saved_model_cli'), 'run', '--dir', E.path, '--tag_set',
                 'serve', '--signature_def', 'serving_default', '--inputs',
                 f'images={npy}', '--outdir', outdir)
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    for name, value in expected_scores(E.glow, images).items():
      assert_close(self, np.load(os.path.join(outdir, f'{name}.npy')), value,
                   name)


class BadInputTest(parameterized.TestCase):
  """Bad requests get an InvalidArgumentError naming the input."""

  def call(self, signature, **kwargs):
    return E.loaded.signatures[signature](
        **{k: tf.constant(v) for k, v in kwargs.items()})

  def sample_args(self, **overrides):
    args = {'num_samples': np.int32(2), 'temperature': np.float32(0.7),
            'seed': np.int64(0)}
    args.update(overrides)
    return args

  def latents(self, batch=1, **overrides):
    z = {f'z_level_{level}': np.zeros([batch, *shape], np.float32)
         for level, shape in enumerate(E.glow.latent_shapes)}
    z.update(overrides)
    return z

  @parameterized.named_parameters(
      ('image_height', 'serving_default',
       {'images': np.zeros([2, 27, 28, 1], np.uint8)},
       r'images.*\[2,27,28,1\].*\[\?,28,28,1\]'),
      ('image_rank', 'serving_default',
       {'images': np.zeros([28, 28, 1], np.uint8)}, r'tensor images \[28,28,1\]'),
      ('encode_channels', 'encode',
       {'images': np.zeros([1, 28, 28, 3], np.uint8), 'seed': np.int64(0)},
       r'tensor images'),
      ('seed_shape', 'encode',
       {'images': np.zeros([1, 28, 28, 1], np.uint8),
        'seed': np.zeros([2], np.int64)}, r'tensor seed \[2\]'),
      ('num_samples_shape', 'sample', {'num_samples': np.int32([2])},
       r'tensor num_samples \[1\]'),
      ('negative_num_samples', 'sample', {'num_samples': np.int32(-1)},
       r'sample: `num_samples` must be >= 0'),
      ('too_many_samples', 'sample', {'num_samples': np.int32(10**6)},
       r'sample: `num_samples` must be <= 1024'),
      ('negative_temperature', 'sample', {'temperature': np.float32(-0.1)},
       r'sample: `temperature` must be >= 0'),
      ('nan_temperature', 'sample', {'temperature': np.float32(np.nan)},
       r'sample: `temperature` must be finite'),
      ('huge_temperature', 'sample', {'temperature': np.float32(1e30)},
       r'sample: the samples are not finite'),
      ('latent_shape', 'decode',
       {'z_level_0': np.zeros([1, 14, 14, 3], np.float32)},
       r'tensor z_level_0 \[1,14,14,3\]'),
      ('latent_batch', 'decode',
       {'z_level_1': np.zeros([2, 7, 7, 8], np.float32)},
       r'decode: `z_level_1` must have the batch size of `z_level_0`'),
      ('latent_nan', 'decode',
       {'z_level_0': np.full([1, 14, 14, 2], np.nan, np.float32)},
       r'decode: `z_level_0` must be finite'),
  )
  def test_rejected_with_a_message_naming_the_input(self, signature, inputs,
                                                    message):
    if signature == 'sample':
      inputs = self.sample_args(**inputs)
    elif signature == 'decode':
      inputs = self.latents(**inputs)
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError, message):
      self.call(signature, **inputs)
    # The process (and the model) survive: a good request still works.
    scores = self.call('serving_default', images=E.images[:1])
    self.assertTrue(np.isfinite(scores['log_prob'].numpy()).all())

  def test_wrong_dtype_is_rejected(self):
    # TF's runtime names the input by position and the dtype it expects.
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError,
                                r'input #0.*uint8 tensor but is a float'):
      E.loaded.signatures['serving_default'](
          images=tf.zeros([1, 28, 28, 1], tf.float32))
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError,
                                'expected to be a int64 tensor'):
      E.loaded.signatures['encode'](images=tf.constant(E.images[:1]),
                                   seed=tf.constant(1, tf.int32))


class ClassConditionalTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    model_dir = make_model_dir(os.path.join(E.tmp, 'conditional'),
                               tiny_config(num_classes=10), E.images)
    cls.glow, _ = checkpoints.restore_model(model_dir)
    path = export.export_from_model_dir(
        model_dir, os.path.join(E.tmp, 'conditional_export'))
    cls.loaded = tf.saved_model.load(path)

  def test_signatures_take_labels_and_match(self):
    # Labels, but no context (the model is not conditional) nor classify
    # (it has no classifier).
    self.assertEqual(sorted(self.loaded.signatures),
                     sorted(export.SIGNATURE_NAMES))
    for signature in self.loaded.signatures.values():
      inputs = signature.structured_input_signature[1]
      self.assertIn('labels', inputs)
      self.assertNotIn('context', inputs)
    images, labels = E.images[:4], E.labels[:4]
    scores = self.loaded.signatures['serving_default'](
        images=tf.constant(images), labels=tf.constant(labels))
    for name, value in expected_scores(self.glow, images, labels).items():
      assert_close(self, scores[name].numpy(), value, name)
    latents = self.loaded.signatures['encode'](
        images=tf.constant(images), seed=tf.constant(4, tf.int64),
        labels=tf.constant(labels))
    for name, value in expected_latents(self.glow, images, 4, labels).items():
      assert_close(self, latents[name].numpy(), value, name)
    decoded = self.loaded.signatures['decode'](**latents,
                                               labels=tf.constant(labels))
    np.testing.assert_array_equal(decoded['images'].numpy(), images)
    samples = self.loaded.signatures['sample'](
        num_samples=tf.constant(2), temperature=tf.constant(0.5),
        seed=tf.constant(9, tf.int64), labels=tf.constant([3, 7], tf.int64))
    assert_same_images(self, samples['images'].numpy(),
                       expected_samples(self.glow, 2, 0.5, 9,
                                        tf.constant([3, 7], tf.int64)),
                       'sample')

  def test_bad_labels(self):
    score = self.loaded.signatures['serving_default']
    images = tf.constant(E.images[:2])
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError,
                                r'serving_default: `labels` must be < '
                                'num_classes = 10'):
      score(images=images, labels=tf.constant([1, 10], tf.int64))
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError,
                                r'`labels` must be >= 0'):
      score(images=images, labels=tf.constant([-1, 0], tf.int64))
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError,
                                r'`labels` must hold one label per example'):
      score(images=images, labels=tf.constant([1], tf.int64))
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError,
                                r'sample: `labels` must hold one label per '
                                'example'):
      self.loaded.signatures['sample'](
          num_samples=tf.constant(3), temperature=tf.constant(0.5),
          seed=tf.constant(9, tf.int64), labels=tf.constant([3], tf.int64))


if __name__ == '__main__':
  absltest.main()
