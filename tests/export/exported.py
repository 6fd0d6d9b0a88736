"""The export the tests of glow_tf.export share, made once per process.

A tiny Glow (one step per level, width 8) is initialised on real
Fashion-MNIST test images, moved off its initial weights, saved as a
training `model_dir` at step 42 and exported by the binary
`experiments/export.py`. `exported()` does this on its first call (for
whichever test module runs first) and returns the same namespace after:

```
tmp, images, labels       the folder of everything; uint8 test images, labels
model_dir, glow           the training folder, and its model restored
export_dir, path          the model base path, and <export_dir>/42
binary_output, loaded     the binary's stdout; tf.saved_model.load(path)
```
The `expected_*` functions compute in-process what each signature returns.

`conditional_exported(kind)` does the same for a conditional model, once per
kind and process, exported in-process (`export_from_model_dir`):

```
'image'   p(x | its 2x2 average): context_shape (14, 14, 1)
'vector'  p(x | a vector, label), with a classifier: context_shape (6,),
          num_classes 10, class_loss_weight 0.01
```
"""

import atexit
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import types

import numpy as np
import tensorflow as tf

import glow_tf
from glow_tf import export
from glow_tf import images as images_lib
from glow_tf.data import idx
from glow_tf.training import checkpoints
from tests.bijector_checks import perturb_variables

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
FASHION_MNIST = '/usr/share/datasets/fashion-mnist'
STEP = 42
_SUBPROCESS_ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2',
                       CUDA_VISIBLE_DEVICES='')


def tiny_config(**overrides):
  return glow_tf.preset('fashion_mnist', num_steps=1, hidden_channels=8,
                        **overrides)


def make_model_dir(model_dir, config, images, step=STEP, contexts=None):
  """A training directory holding a Glow initialised on real images.

  A conditional model is initialised on `contexts` (one per image) too.
  """
  checkpoints.save_config(model_dir, config)
  glow = glow_tf.Glow(config, seed=1)
  glow.initialize(images_lib.dequantize(images[:256], config.n_bits,
                                        seed=1),
                  context=None if contexts is None else contexts[:256])
  perturb_variables(glow.bijector, seed=2, scale=0.05)
  if glow.classifier is not None:  # zero at first: every class alike
    perturb_variables(glow.classifier, seed=3, scale=0.05)
  ckpt = tf.train.Checkpoint(step=tf.Variable(step, dtype=tf.int64),
                             model=glow)
  tf.train.CheckpointManager(ckpt, model_dir, 3).save(checkpoint_number=step)
  return model_dir


@functools.cache
def exported():
  """The shared export (see the module docstring), made on the first call."""
  tmp = tempfile.mkdtemp(prefix='test_export_')
  atexit.register(shutil.rmtree, tmp, ignore_errors=True)
  images, labels = idx.load_idx_split(FASHION_MNIST, 't10k')
  images, labels = images[:512], labels[:512]
  model_dir = make_model_dir(os.path.join(tmp, 'model'), tiny_config(),
                             images)
  glow, _ = checkpoints.restore_model(model_dir)
  export_dir = os.path.join(tmp, 'export')
  result = run_export_binary(f'--model_dir={model_dir}',
                             f'--export_dir={export_dir}')
  if result.returncode:
    raise AssertionError(f'experiments/export.py failed:\n{result.stderr}')
  path = os.path.join(export_dir, str(STEP))
  return types.SimpleNamespace(
      tmp=tmp, images=images, labels=labels, model_dir=model_dir, glow=glow,
      export_dir=export_dir, path=path, binary_output=result.stdout,
      loaded=tf.saved_model.load(path, tags=['serve']))


CONDITIONAL_CONFIGS = {
    'image': dict(context_shape=(14, 14, 1)),
    'vector': dict(context_shape=(6,), num_classes=10, class_loss_weight=0.01),
}


def contexts_of(images, context_shape):
  """float32 contexts of uint8 `images`, `[N, *context_shape]`.

  An image context is the model-space image (bin centres) averaged over
  2x2 blocks, as for 2x super-resolution; a vector context `(d,)` a fixed
  random projection of it.
  """
  x = images_lib.dequantize(images, 8, noise=False)
  if len(context_shape) == 3:
    return tf.nn.avg_pool2d(x, 2, 2, 'VALID').numpy()
  flat = tf.reshape(x, [len(images), -1])
  projection = tf.random.stateless_normal(
      [flat.shape[1], context_shape[0]], [7, 7]) / np.sqrt(flat.shape[1])
  return (4.0 * flat @ projection).numpy()


@functools.cache
def conditional_exported(kind):
  """A conditional model's export (see the module docstring), made once."""
  tmp = tempfile.mkdtemp(prefix=f'test_export_{kind}_')
  atexit.register(shutil.rmtree, tmp, ignore_errors=True)
  images, labels = idx.load_idx_split(FASHION_MNIST, 't10k')
  images, labels = images[:256], labels[:256].astype(np.int64)
  config = tiny_config(**CONDITIONAL_CONFIGS[kind])
  contexts = contexts_of(images, config.context_shape)
  model_dir = make_model_dir(os.path.join(tmp, 'model'), config, images,
                             contexts=contexts)
  glow, _ = checkpoints.restore_model(model_dir)
  path = export.export_from_model_dir(model_dir, os.path.join(tmp, 'export'))
  return types.SimpleNamespace(
      tmp=tmp, images=images, labels=labels, contexts=contexts, glow=glow,
      path=path, loaded=tf.saved_model.load(path, tags=['serve']))


def seed(value):
  return export.stateless_seed(tf.constant(value, tf.int64))


def expected_scores(glow, images, labels=None, context=None):
  """In-process `serving_default`: log p at the bin centres, and bits/dim."""
  x = images_lib.dequantize(images, glow.config.n_bits, noise=False)
  log_prob = glow.log_prob(x, labels=labels, context=context)
  return {'log_prob': log_prob.numpy(),
          'bits_per_dim': images_lib.bits_per_dim_from_log_prob(
              log_prob, glow.config.num_dims, glow.config.n_bits).numpy()}


def expected_latents(glow, images, encode_seed, labels=None, context=None):
  x = images_lib.dequantize(images, glow.config.n_bits,
                            seed=seed(encode_seed))
  latents = glow.encode(x, labels=labels, context=context)
  return {export.latent_name(level): z.numpy()
          for level, z in enumerate(latents)}


def expected_samples(glow, num_samples, temperature, sample_seed,
                     labels=None, context=None):
  x = glow.sample(num_samples, seed=seed(sample_seed),
                  temperature=temperature, labels=labels, context=context)
  return images_lib.to_uint8(x, glow.config.n_bits).numpy()


def expected_decoded(glow, latents, labels=None, context=None):
  x = glow.decode([tf.constant(latents[export.latent_name(level)])
                   for level in range(len(latents))], labels=labels,
                  context=context)
  return images_lib.to_uint8(x, glow.config.n_bits).numpy()


def expected_classes(glow, images, context=None):
  """In-process `classify`: the class logits at the bin centres, argmax."""
  x = images_lib.dequantize(images, glow.config.n_bits, noise=False)
  logits = glow.class_logits(x, context=context).numpy()
  return {'logits': logits, 'classes': np.argmax(logits, axis=-1)}


def run_in_fresh_process(testcase, export_path, tmp, inputs):
  """The signatures' outputs on `inputs`, from a process importing only TF.

  Runs tests/export_run_signatures.py; returns its outputs (a dict of
  arrays) after checking that it loaded neither glow_tf nor TFP.
  """
  inputs_path = os.path.join(tmp, 'fresh_inputs.npz')
  outputs_path = os.path.join(tmp, 'fresh_outputs.npz')
  np.savez(inputs_path, **inputs)
  result = run(sys.executable, 'tests/export_run_signatures.py', export_path,
               inputs_path, outputs_path)
  testcase.assertEqual(result.returncode, 0, result.stderr[-3000:])
  with np.load(outputs_path) as out:
    outputs = {key: out[key] for key in out.files}
  testcase.assertFalse(outputs['modules/glow_tf'])
  testcase.assertFalse(outputs['modules/tensorflow_probability'])
  return outputs


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


def tensorflow_tool(name):
  """A TensorFlow console script (`saved_model_cli`): beside this Python.

  The one in the environment of the running interpreter, which need not be
  activated (on PATH), as when `scripts/test.sh` runs `.venv/bin/python`.
  """
  beside = os.path.join(os.path.dirname(sys.executable), name)
  return beside if os.path.exists(beside) else name


def show_signatures(testcase, path):
  """`saved_model_cli show --all` of `path`: `(its text, {name: block})`.

  A block is the text of one signature_def, its inputs and outputs.
  """
  result = run(tensorflow_tool('saved_model_cli'), 'show', '--dir', path,
               '--all')
  testcase.assertEqual(result.returncode, 0, result.stderr[-3000:])
  blocks = dict(re.findall(
      r"signature_def\['(\w+)'\]:\n(.*?)(?=\nsignature_def|\n\nConcrete|\Z)",
      result.stdout, re.S))
  return result.stdout, blocks


def tensor_info(testcase, block, kind, name):
  """`(dtype, shape)` of the input or output (`kind`) `name` of a block."""
  match = re.search(rf"{kind}\['{name}'\] tensor_info:\n\s+dtype: (\w+)\n"
                    r'\s+shape: (\(.*?\)|unknown_rank)', block)
  testcase.assertIsNotNone(match, f'{kind} {name} in\n{block}')
  return match.group(1), match.group(2)


def run(*args, timeout=240):
  return subprocess.run([*map(str, args)], cwd=REPO_ROOT, env=_SUBPROCESS_ENV,
                        capture_output=True, text=True, timeout=timeout,
                        check=False)


def run_export_binary(*flags):
  return run(sys.executable, '-m', 'experiments.export', *flags)
