"""Tests of glow_tf.export and experiments/export.py: SavedModels for TF Serving.

A tiny Glow (one step per level, width 8) is initialised on real
Fashion-MNIST test images, moved off its initial weights, saved as a
training `model_dir` at step 42 and exported once for the whole module, by
the binary `experiments/export.py`.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from unittest import mock

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np
import tensorflow as tf

import glow_tf
from glow_tf import export
from glow_tf import images as images_lib
from glow_tf.data import idx
from glow_tf.training import checkpoints
from tests.bijector_checks import perturb_variables
from tests.fixtures import xla_compiled_functions

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FASHION_MNIST = '/usr/share/datasets/fashion-mnist'
STEP = 42
_SUBPROCESS_ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2',
                       CUDA_VISIBLE_DEVICES='')

# Set by setUpModule.
_TMP = None
_IMAGES = None   # uint8 [N, 28, 28, 1], Fashion-MNIST test images.
_LABELS = None
_MODEL_DIR = None
_GLOW = None     # The model as restored from _MODEL_DIR.
_EXPORT_DIR = None
_PATH = None     # <_EXPORT_DIR>/42
_BINARY_OUTPUT = None  # stdout of the binary that wrote _PATH
_LOADED = None   # tf.saved_model.load(_PATH)


def tiny_config(**overrides):
  return glow_tf.preset('fashion_mnist', num_steps=1, hidden_channels=8,
                        **overrides)


def make_model_dir(model_dir, config, step=STEP):
  """A training directory holding a Glow initialised on real images."""
  checkpoints.save_config(model_dir, config)
  glow = glow_tf.Glow(config, seed=1)
  glow.initialize(images_lib.dequantize(_IMAGES[:256], config.n_bits,
                                        seed=1))
  perturb_variables(glow.bijector, seed=2, scale=0.05)
  ckpt = tf.train.Checkpoint(step=tf.Variable(step, dtype=tf.int64),
                             model=glow)
  tf.train.CheckpointManager(ckpt, model_dir, 3).save(checkpoint_number=step)
  return model_dir


def setUpModule():
  global _TMP, _IMAGES, _LABELS, _MODEL_DIR, _GLOW, _EXPORT_DIR, _PATH
  global _LOADED, _BINARY_OUTPUT
  _TMP = tempfile.mkdtemp(prefix='test_export_')
  images, labels = idx.load_idx_split(FASHION_MNIST, 't10k')
  _IMAGES, _LABELS = images[:512], labels[:512]
  _MODEL_DIR = make_model_dir(os.path.join(_TMP, 'model'), tiny_config())
  _GLOW, _ = checkpoints.restore_model(_MODEL_DIR)
  _EXPORT_DIR = os.path.join(_TMP, 'export')
  result = run_export_binary(f'--model_dir={_MODEL_DIR}',
                             f'--export_dir={_EXPORT_DIR}')
  if result.returncode:
    raise AssertionError(f'experiments/export.py failed:\n{result.stderr}')
  _BINARY_OUTPUT = result.stdout
  _PATH = os.path.join(_EXPORT_DIR, str(STEP))
  _LOADED = tf.saved_model.load(_PATH, tags=['serve'])


def tearDownModule():
  shutil.rmtree(_TMP, ignore_errors=True)


def seed(value):
  return export.stateless_seed(tf.constant(value, tf.int64))


def expected_scores(glow, images, labels=None):
  """In-process `serving_default`: log p at the bin centres, and bits/dim."""
  x = images_lib.dequantize(images, glow.config.n_bits, noise=False)
  log_prob = glow.log_prob(x, labels=labels)
  return {'log_prob': log_prob.numpy(),
          'bits_per_dim': images_lib.bits_per_dim_from_log_prob(
              log_prob, glow.config.num_dims, glow.config.n_bits).numpy()}


def expected_latents(glow, images, encode_seed, labels=None):
  x = images_lib.dequantize(images, glow.config.n_bits,
                            seed=seed(encode_seed))
  return {export.latent_name(level): z.numpy()
          for level, z in enumerate(glow.encode(x, labels=labels))}


def expected_samples(glow, num_samples, temperature, sample_seed,
                     labels=None):
  x = glow.sample(num_samples, seed=seed(sample_seed),
                  temperature=temperature, labels=labels)
  return images_lib.to_uint8(x, glow.config.n_bits).numpy()


def expected_decoded(glow, latents, labels=None):
  x = glow.decode([tf.constant(latents[export.latent_name(level)])
                   for level in range(len(latents))], labels=labels)
  return images_lib.to_uint8(x, glow.config.n_bits).numpy()


def assert_close(testcase, actual, expected, name):
  """1e-5 relative to the array's scale (latents cross zero)."""
  expected = np.asarray(expected)
  scale = max(float(np.max(np.abs(expected), initial=0.0)), 1e-6)
  np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5 * scale,
                             err_msg=name)
  testcase.assertEqual(actual.shape, expected.shape, name)


def assert_same_images(testcase, actual, expected, name):
  """uint8 images equal, but for a rare pixel on a bin edge (one bin off)."""
  testcase.assertEqual(actual.dtype, np.uint8, name)
  testcase.assertEqual(actual.shape, expected.shape, name)
  diff = np.abs(actual.astype(int) - expected.astype(int))
  testcase.assertLessEqual(diff.max(), 1, name)
  testcase.assertLessEqual(np.count_nonzero(diff), max(1, diff.size // 1000),
                           name)


def run(*args, timeout=240):
  return subprocess.run([*map(str, args)], cwd=REPO_ROOT, env=_SUBPROCESS_ENV,
                        capture_output=True, text=True, timeout=timeout,
                        check=False)


def run_export_binary(*flags):
  return run(sys.executable, '-m', 'experiments.export', *flags)


class ExportLayoutTest(absltest.TestCase):

  def test_version_is_the_training_step(self):
    self.assertEqual(_PATH, os.path.join(_EXPORT_DIR, str(STEP)))
    for name in ('saved_model.pb', 'variables', export.WARMUP_FILE):
      self.assertTrue(os.path.exists(os.path.join(_PATH, name)), name)
    # Only the version: no temporary directory is left behind.
    self.assertEqual(os.listdir(_EXPORT_DIR), [str(STEP)])

  def test_graph_has_no_xla_clusters(self):
    # TF Serving's CPU server compiles none (by default): the export traces
    # the networks' plain taps, which glow_tf otherwise runs with XLA.
    from tensorflow.core.protobuf import saved_model_pb2  # pylint: disable=g-import-not-at-top
    saved = saved_model_pb2.SavedModel()
    with open(os.path.join(_PATH, 'saved_model.pb'), 'rb') as f:
      saved.ParseFromString(f.read())
    graph_def = saved.meta_graphs[0].graph_def
    self.assertNotEmpty(graph_def.library.function)
    self.assertEmpty(xla_compiled_functions(graph_def))
    # The same model traced outside the export has them.
    spec = tf.TensorSpec([None, *_GLOW.config.image_shape], _GLOW.dtype)
    traced = tf.function(_GLOW.log_prob).get_concrete_function(spec)
    self.assertNotEmpty(xla_compiled_functions(traced.graph.as_graph_def()))

  def test_signatures_accept_any_batch_size(self):
    for n in (0, 1, 3):
      images = tf.constant(_IMAGES[:n])
      scores = _LOADED.signatures['serving_default'](images=images)
      self.assertEqual(scores['bits_per_dim'].shape, [n])
      self.assertEqual(scores['log_prob'].shape, [n])
      latents = _LOADED.signatures['encode'](
          images=images, seed=tf.constant(0, tf.int64))
      decoded = _LOADED.signatures['decode'](**latents)['images']
      self.assertEqual(decoded.shape, [n, 28, 28, 1])
      samples = _LOADED.signatures['sample'](
          num_samples=tf.constant(n), temperature=tf.constant(0.7),
          seed=tf.constant(1, tf.int64))['images']
      self.assertEqual(samples.shape, [n, 28, 28, 1])
    for spec in _LOADED.signatures['serving_default'].structured_input_signature[1].values():
      self.assertEqual(spec.shape.as_list(), [None, 28, 28, 1])

  def test_encode_decode_round_trip(self):
    latents = _LOADED.signatures['encode'](
        images=tf.constant(_IMAGES[:4]), seed=tf.constant(3, tf.int64))
    self.assertEqual(sorted(latents), ['z_level_0', 'z_level_1'])
    decoded = _LOADED.signatures['decode'](**latents)['images'].numpy()
    np.testing.assert_array_equal(decoded, _IMAGES[:4])

  def test_seeds_make_results_reproducible(self):
    def sample(s):
      return _LOADED.signatures['sample'](
          num_samples=tf.constant(2), temperature=tf.constant(1.0),
          seed=tf.constant(s, tf.int64))['images'].numpy()
    np.testing.assert_array_equal(sample(5), sample(5))
    self.assertFalse(np.array_equal(sample(5), sample(6)))
    # Seeds differing only in their high 32 bits differ too.
    self.assertFalse(np.array_equal(sample(5), sample(5 + 2**40)))


class FreshProcessTest(absltest.TestCase):
  """The SavedModel served by a process that imports only TensorFlow."""

  def test_signatures_match_the_in_process_model(self):
    images = _IMAGES[:6]
    latents = expected_latents(_GLOW, images, encode_seed=11)
    inputs = {
        'score6/serving_default/images': images,
        'score1/serving_default/images': _IMAGES[6:7],
        'sample/sample/num_samples': np.int32(3),
        'sample/sample/temperature': np.float32(0.7),
        'sample/sample/seed': np.int64(123),
        'encode/encode/images': images,
        'encode/encode/seed': np.int64(11),
        **{f'decode/decode/{k}': v for k, v in latents.items()},
    }
    inputs_path = os.path.join(_TMP, 'fresh_inputs.npz')
    outputs_path = os.path.join(_TMP, 'fresh_outputs.npz')
    np.savez(inputs_path, **inputs)
    result = run(sys.executable, 'tests/export_run_signatures.py', _PATH,
                 inputs_path, outputs_path)
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    with np.load(outputs_path) as out:
      outputs = {key: out[key] for key in out.files}
    self.assertFalse(outputs['modules/glow_tf'])
    self.assertFalse(outputs['modules/tensorflow_probability'])

    for call, batch in (('score6', images), ('score1', _IMAGES[6:7])):
      for name, value in expected_scores(_GLOW, batch).items():
        assert_close(self, outputs[f'{call}/{name}'], value, f'{call} {name}')
    for name, value in latents.items():
      assert_close(self, outputs[f'encode/{name}'], value, name)
    assert_same_images(self, outputs['sample/images'],
                       expected_samples(_GLOW, 3, 0.7, 123), 'sample')
    assert_same_images(self, outputs['decode/images'],
                       expected_decoded(_GLOW, latents), 'decode')
    # Sanity of the model itself: scores of real images are plausible.
    self.assertTrue(np.all(np.isfinite(outputs['score6/bits_per_dim'])))
    self.assertTrue(np.all(outputs['score6/bits_per_dim'] > 0))


class SavedModelCliTest(absltest.TestCase):

  def test_show_all_lists_the_signatures_with_dtypes_and_shapes(self):
    result = run('saved_model_cli', 'show', '--dir', _PATH, '--all')
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    text = result.stdout
    blocks = dict(re.findall(
        r"signature_def\['(\w+)'\]:\n(.*?)(?=\nsignature_def|\n\nConcrete|\Z)",
        text, re.S))
    for name in export.SIGNATURE_NAMES:
      self.assertIn(name, blocks)
    self.assertIn("MetaGraphDef with tag-set: 'serve'", text)

    def tensor(block, kind, name):
      match = re.search(rf"{kind}\['{name}'\] tensor_info:\n\s+dtype: (\w+)\n"
                        r'\s+shape: (\(.*?\)|unknown_rank)', block)
      self.assertIsNotNone(match, f'{kind} {name} in\n{block}')
      return match.group(1), match.group(2)

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
    for level, (h, w, c) in enumerate(_GLOW.latent_shapes):
      shape = f'(-1, {h}, {w}, {c})'
      self.assertEqual(tensor(encode, 'outputs', f'z_level_{level}'),
                       ('DT_FLOAT', shape))
      self.assertEqual(tensor(decode, 'inputs', f'z_level_{level}'),
                       ('DT_FLOAT', shape))
    self.assertEqual(tensor(decode, 'outputs', 'images'),
                     ('DT_UINT8', '(-1, 28, 28, 1)'))

  def test_run_serving_default_on_a_npy_file(self):
    images = _IMAGES[10:14]
    npy = os.path.join(_TMP, 'images.npy')
    np.save(npy, images)
    outdir = os.path.join(_TMP, 'cli_run')
    result = run('saved_model_cli', 'run', '--dir', _PATH, '--tag_set',
                 'serve', '--signature_def', 'serving_default', '--inputs',
                 f'images={npy}', '--outdir', outdir)
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    for name, value in expected_scores(_GLOW, images).items():
      assert_close(self, np.load(os.path.join(outdir, f'{name}.npy')), value,
                   name)


class WarmupTest(absltest.TestCase):

  def test_warmup_file_holds_a_valid_request_per_signature(self):
    from tensorflow_serving.apis import prediction_log_pb2  # pylint: disable=g-import-not-at-top
    records = list(tf.data.TFRecordDataset(
        os.path.join(_PATH, export.WARMUP_FILE)).as_numpy_iterator())
    logs = [prediction_log_pb2.PredictionLog.FromString(r) for r in records]
    self.assertEqual(
        sorted(log.predict_log.request.model_spec.signature_name
               for log in logs), sorted(export.SIGNATURE_NAMES))
    for log in logs:
      request = log.predict_log.request
      self.assertEqual(request.model_spec.name, 'glow')
      signature = _LOADED.signatures[request.model_spec.signature_name]
      specs = signature.structured_input_signature[1]
      self.assertEqual(sorted(request.inputs), sorted(specs))
      inputs = {}
      for key, proto in request.inputs.items():
        value = tf.make_ndarray(proto)
        self.assertEqual(tf.as_dtype(value.dtype), specs[key].dtype, key)
        self.assertTrue(specs[key].shape.is_compatible_with(value.shape), key)
        inputs[key] = tf.constant(value)
      signature(**inputs)  # The server replays it: it must run.


class BadInputTest(parameterized.TestCase):
  """Bad requests get an InvalidArgumentError naming the input."""

  def call(self, signature, **kwargs):
    return _LOADED.signatures[signature](
        **{k: tf.constant(v) for k, v in kwargs.items()})

  def sample_args(self, **overrides):
    args = {'num_samples': np.int32(2), 'temperature': np.float32(0.7),
            'seed': np.int64(0)}
    args.update(overrides)
    return args

  def latents(self, batch=1, **overrides):
    z = {f'z_level_{level}': np.zeros([batch, *shape], np.float32)
         for level, shape in enumerate(_GLOW.latent_shapes)}
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
    scores = self.call('serving_default', images=_IMAGES[:1])
    self.assertTrue(np.isfinite(scores['log_prob'].numpy()).all())

  def test_wrong_dtype_is_rejected(self):
    # TF's runtime names the input by position and the dtype it expects.
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError,
                                r'input #0.*uint8 tensor but is a float'):
      _LOADED.signatures['serving_default'](
          images=tf.zeros([1, 28, 28, 1], tf.float32))
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError,
                                'expected to be a int64 tensor'):
      _LOADED.signatures['encode'](images=tf.constant(_IMAGES[:1]),
                                   seed=tf.constant(1, tf.int32))


class ExportErrorsTest(absltest.TestCase):

  def test_an_existing_version_is_never_overwritten(self):
    pb = os.path.join(_PATH, 'saved_model.pb')
    before = (os.path.getmtime(pb), os.path.getsize(pb))
    with self.assertRaisesRegex(export.ExportError, 'exists already'):
      export.export_from_model_dir(_MODEL_DIR, _EXPORT_DIR)
    with self.assertRaisesRegex(export.ExportError, 'exists already'):
      export.export_saved_model(_GLOW, _EXPORT_DIR, STEP)
    self.assertEqual((os.path.getmtime(pb), os.path.getsize(pb)), before)

  def test_invalid_versions(self):
    for version in (-1, 1.5, '3', True):
      with self.assertRaisesRegex(export.ExportError, '`version`'):
        export.export_saved_model(_GLOW, _EXPORT_DIR, version)

  def test_a_failed_export_leaves_nothing(self):
    export_dir = os.path.join(_TMP, 'failed_export')

    def save_half_and_fail(module, path, signatures):
      del module, signatures
      os.makedirs(os.path.join(path, 'variables'))
      raise RuntimeError('disk full')

    with mock.patch.object(export.ServingModule, 'signatures',
                           return_value={}), \
         mock.patch.object(tf.saved_model, 'save',
                           side_effect=save_half_and_fail):
      with self.assertRaisesRegex(RuntimeError, 'disk full'):
        export.export_saved_model(_GLOW, export_dir, 1)
    self.assertEqual(os.listdir(export_dir), [])

  def test_missing_model_dir_or_checkpoint(self):
    export_dir = os.path.join(_TMP, 'missing_export')
    with self.assertRaisesRegex(checkpoints.CheckpointError, 'config.json'):
      export.export_from_model_dir(os.path.join(_TMP, 'nowhere'), export_dir)
    empty = os.path.join(_TMP, 'no_checkpoint')
    checkpoints.save_config(empty, tiny_config())
    with self.assertRaisesRegex(checkpoints.CheckpointError, 'No checkpoint'):
      export.export_from_model_dir(empty, export_dir)
    self.assertFalse(os.path.exists(export_dir))

  def test_corrupt_checkpoint(self):
    corrupt = os.path.join(_TMP, 'corrupt')
    shutil.copytree(_MODEL_DIR, corrupt)
    for name in os.listdir(corrupt):
      if '.data-' in name:
        with open(os.path.join(corrupt, name), 'r+b') as f:
          f.truncate(os.path.getsize(f.name) // 2)
    export_dir = os.path.join(_TMP, 'corrupt_export')
    with self.assertRaisesRegex(checkpoints.CheckpointError, 'corrupt'):
      export.export_from_model_dir(corrupt, export_dir)
    self.assertFalse(os.path.exists(os.path.join(export_dir, str(STEP))))


class LoadTest(absltest.TestCase):

  def test_load_takes_a_version_or_the_base_folder(self):
    self.assertEqual(export.latest_version(_EXPORT_DIR), _PATH)
    images = _IMAGES[:2].astype(np.uint8)
    expected = expected_scores(_GLOW, images)['bits_per_dim']
    for path in (_PATH, _EXPORT_DIR):
      loaded = export.load(path)
      scores = loaded.signatures['serving_default'](images=images)
      assert_close(self, scores['bits_per_dim'].numpy(), expected, path)

  def test_latest_version_skips_temporary_and_incomplete_folders(self):
    base = os.path.join(_TMP, 'versions')
    shutil.copytree(_PATH, os.path.join(base, '7'))
    shutil.copytree(_PATH, os.path.join(base, '12'))
    os.makedirs(os.path.join(base, '100'))  # no saved_model.pb
    shutil.copytree(_PATH, os.path.join(base, 'tmp-export-1234'))
    self.assertEqual(export.latest_version(base), os.path.join(base, '12'))
    empty = os.path.join(_TMP, 'no_versions')
    os.makedirs(empty)
    for bad in (empty, os.path.join(_TMP, 'nowhere')):
      with self.assertRaisesRegex(export.ExportError,
                                  'No exported version in .*<version>'):
        export.load(bad)


class BinaryTest(absltest.TestCase):

  def test_export_binary_wrote_the_step_version(self):
    # setUpModule exported with the binary: version = the training step.
    self.assertIn(f'to {_PATH} ', _BINARY_OUTPUT)

  def test_export_binary_refuses_an_existing_version(self):
    result = run_export_binary(f'--model_dir={_MODEL_DIR}',
                               f'--export_dir={_EXPORT_DIR}',
                               f'--version={STEP}')
    self.assertNotEqual(result.returncode, 0)
    self.assertIn('export: error: Export version', result.stderr)
    self.assertIn('exists already', result.stderr)
    self.assertNotIn('Traceback', result.stderr)


class ClassConditionalTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    model_dir = make_model_dir(os.path.join(_TMP, 'conditional'),
                               tiny_config(num_classes=10))
    cls.glow, _ = checkpoints.restore_model(model_dir)
    path = export.export_from_model_dir(
        model_dir, os.path.join(_TMP, 'conditional_export'))
    cls.loaded = tf.saved_model.load(path)

  def test_signatures_take_labels_and_match(self):
    images, labels = _IMAGES[:4], _LABELS[:4]
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
    images = tf.constant(_IMAGES[:2])
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
