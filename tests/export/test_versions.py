"""Tests of glow_tf.export's versioned writes and version lookup, and the binary.

experiments/export.py wrote the shared export (`exported.exported()`).
"""

import os
import shutil
from unittest import mock

from absl.testing import absltest
import numpy as np
import tensorflow as tf

from glow_tf import export
from glow_tf.training import checkpoints
from tests.export import exported
from tests.export.exported import assert_close
from tests.export.exported import expected_scores
from tests.export.exported import run_export_binary
from tests.export.exported import STEP
from tests.export.exported import tiny_config

E = None  # exported.exported(), set by setUpModule.


def setUpModule():
  global E
  E = exported.exported()


class ExportErrorsTest(absltest.TestCase):

  def test_an_existing_version_is_never_overwritten(self):
    pb = os.path.join(E.path, 'saved_model.pb')
    before = (os.path.getmtime(pb), os.path.getsize(pb))
    with self.assertRaisesRegex(export.ExportError, 'exists already'):
      export.export_from_model_dir(E.model_dir, E.export_dir)
    with self.assertRaisesRegex(export.ExportError, 'exists already'):
      export.export_saved_model(E.glow, E.export_dir, STEP)
    self.assertEqual((os.path.getmtime(pb), os.path.getsize(pb)), before)

  def test_invalid_versions(self):
    for version in (-1, 1.5, '3', True):
      with self.assertRaisesRegex(export.ExportError, '`version`'):
        export.export_saved_model(E.glow, E.export_dir, version)

  def test_a_failed_export_leaves_nothing(self):
    export_dir = os.path.join(E.tmp, 'failed_export')

    def save_half_and_fail(module, path, signatures):
      del module, signatures
      os.makedirs(os.path.join(path, 'variables'))
      raise RuntimeError('disk full')

    with mock.patch.object(export.ServingModule, 'signatures',
                           return_value={}), \
         mock.patch.object(tf.saved_model, 'save',
                           side_effect=save_half_and_fail):
      with self.assertRaisesRegex(RuntimeError, 'disk full'):
        export.export_saved_model(E.glow, export_dir, 1)
    self.assertEqual(os.listdir(export_dir), [])

  def test_missing_model_dir_or_checkpoint(self):
    export_dir = os.path.join(E.tmp, 'missing_export')
    with self.assertRaisesRegex(checkpoints.CheckpointError, 'config.json'):
      export.export_from_model_dir(os.path.join(E.tmp, 'nowhere'), export_dir)
    empty = os.path.join(E.tmp, 'no_checkpoint')
    checkpoints.save_config(empty, tiny_config())
    with self.assertRaisesRegex(checkpoints.CheckpointError, 'No checkpoint'):
      export.export_from_model_dir(empty, export_dir)
    self.assertFalse(os.path.exists(export_dir))

  def test_corrupt_checkpoint(self):
    corrupt = os.path.join(E.tmp, 'corrupt')
    shutil.copytree(E.model_dir, corrupt)
    for name in os.listdir(corrupt):
      if '.data-' in name:
        with open(os.path.join(corrupt, name), 'r+b') as f:
          f.truncate(os.path.getsize(f.name) // 2)
    export_dir = os.path.join(E.tmp, 'corrupt_export')
    with self.assertRaisesRegex(checkpoints.CheckpointError, 'corrupt'):
      export.export_from_model_dir(corrupt, export_dir)
    self.assertFalse(os.path.exists(os.path.join(export_dir, str(STEP))))


class LoadTest(absltest.TestCase):

  def test_load_takes_a_version_or_the_base_folder(self):
    self.assertEqual(export.latest_version(E.export_dir), E.path)
    images = E.images[:2].astype(np.uint8)
    expected = expected_scores(E.glow, images)['bits_per_dim']
    for path in (E.path, E.export_dir):
      loaded = export.load(path)
      scores = loaded.signatures['serving_default'](images=images)
      assert_close(self, scores['bits_per_dim'].numpy(), expected, path)

  def test_latest_version_skips_temporary_and_incomplete_folders(self):
    base = os.path.join(E.tmp, 'versions')
    shutil.copytree(E.path, os.path.join(base, '7'))
    shutil.copytree(E.path, os.path.join(base, '12'))
    os.makedirs(os.path.join(base, '100'))  # no saved_model.pb
    shutil.copytree(E.path, os.path.join(base, 'tmp-export-1234'))
    self.assertEqual(export.latest_version(base), os.path.join(base, '12'))
    empty = os.path.join(E.tmp, 'no_versions')
    os.makedirs(empty)
    for bad in (empty, os.path.join(E.tmp, 'nowhere')):
      with self.assertRaisesRegex(export.ExportError,
                                  'No exported version in .*<version>'):
        export.load(bad)


class BinaryTest(absltest.TestCase):

  def test_export_binary_wrote_the_step_version(self):
    # setUpModule exported with the binary: version = the training step.
    self.assertIn(f'to {E.path} ', E.binary_output)

  def test_export_binary_refuses_an_existing_version(self):
    result = run_export_binary(f'--model_dir={E.model_dir}',
                               f'--export_dir={E.export_dir}',
                               f'--version={STEP}')
    self.assertNotEqual(result.returncode, 0)
    self.assertIn('export: error: Export version', result.stderr)
    self.assertIn('exists already', result.stderr)
    self.assertNotIn('Traceback', result.stderr)


if __name__ == '__main__':
  absltest.main()
