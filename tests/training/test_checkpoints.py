"""Tests of glow_tf.training.checkpoints: a damaged checkpoint costs only itself."""

import logging
import os
import shutil

import numpy as np
import pytest

from glow_tf import training
from glow_tf.training import checkpoints
from tests import fixtures

_DATA = 'data-00000-of-00001'


def _copy(trained_dir, tmp_path):
  model_dir = str(tmp_path / 'copy')
  shutil.copytree(trained_dir[0], model_dir)
  return model_dir


def _truncate(path):
  with open(path, 'r+b') as f:
    f.truncate(1000)


def _garbage(path):
  size = os.path.getsize(path)
  with open(path, 'wb') as f:
    f.write(b'\x17' * size)


_DAMAGES = {
    'truncated data': (_DATA, _truncate),
    'garbage data': (_DATA, _garbage),
    'garbage index': ('index', _garbage),
    'missing data': (_DATA, os.remove),
    'missing index': ('index', os.remove),
}


def _damage(model_dir, step, how):
  part, damage = _DAMAGES[how]
  damage(os.path.join(model_dir, f'ckpt-{step}.{part}'))


def _warnings(caplog):
  return ' '.join(r.getMessage() for r in caplog.records
                  if r.levelno >= logging.WARNING)


@pytest.mark.parametrize('how', sorted(_DAMAGES))
def test_training_resumes_from_the_newest_intact_checkpoint(
    trained_dir, tmp_path, caplog, how):
  model_dir = _copy(trained_dir, tmp_path)
  assert os.path.getsize(os.path.join(model_dir, f'ckpt-6.{_DATA}')) > 1000
  _damage(model_dir, 6, how)
  with pytest.raises(checkpoints.CheckpointError, match='ckpt-6'):
    checkpoints.verify_checkpoint(os.path.join(model_dir, 'ckpt-6'))
  caplog.set_level(logging.WARNING)
  metrics = training.train(fixtures.tiny_config(),
                           fixtures.tiny_train_config(train_steps=9), model_dir,
                           fixtures.dataset_fn())
  assert metrics['start_step'] == 3 and metrics['step'] == 9
  assert 'ckpt-6' in _warnings(caplog) and 'ckpt-3' in _warnings(caplog)
  # ckpt-6 was written again, whole, on the way to step 9.
  checkpoints.verify_checkpoint(os.path.join(model_dir, 'ckpt-6'))
  assert checkpoints.restore_model(model_dir)[1] == 9


@pytest.mark.parametrize('how', ['truncated data', 'missing index'])
def test_restore_model_skips_a_damaged_checkpoint(trained_dir, tmp_path,
                                                  caplog, how):
  model_dir = _copy(trained_dir, tmp_path)
  older, _ = checkpoints.restore_model(
      model_dir, checkpoint=os.path.join(model_dir, 'ckpt-3'))
  _damage(model_dir, 6, how)
  caplog.set_level(logging.WARNING)
  glow, step = checkpoints.restore_model(model_dir)
  assert step == 3 and 'ckpt-6' in _warnings(caplog)
  for expected, value in zip(older.variables, glow.variables):
    np.testing.assert_array_equal(expected.numpy(), value.numpy())
  with pytest.raises(checkpoints.CheckpointError, match='ckpt-6'):
    checkpoints.restore_model(model_dir,
                              checkpoint=os.path.join(model_dir, 'ckpt-6'))


def test_no_intact_checkpoint_names_every_damaged_one(trained_dir, tmp_path):
  model_dir = _copy(trained_dir, tmp_path)
  _damage(model_dir, 6, 'truncated data')
  _damage(model_dir, 3, 'garbage index')
  with pytest.raises(checkpoints.CheckpointError,
                     match=r'No intact checkpoint.*ckpt-6[^;]*\); .*ckpt-3.*\)\. Delete'):
    training.train(fixtures.tiny_config(),
                   fixtures.tiny_train_config(train_steps=9), model_dir,
                   fixtures.dataset_fn())
  with pytest.raises(checkpoints.CheckpointError, match='No intact'):
    checkpoints.restore_model(model_dir)


def test_checkpoints_are_found_without_the_index_file(trained_dir, tmp_path):
  model_dir = _copy(trained_dir, tmp_path)
  os.remove(os.path.join(model_dir, 'checkpoint'))
  assert [os.path.basename(p) for p in checkpoints.checkpoint_candidates(
      model_dir)] == ['ckpt-6', 'ckpt-3']
  assert checkpoints.restore_model(model_dir)[1] == 6
  with open(os.path.join(model_dir, 'checkpoint'), 'w') as f:
    f.write('this is { not a checkpoint index')
  assert checkpoints.find_intact_checkpoint(model_dir).endswith('ckpt-6')


def test_config_files(tmp_path):
  config = fixtures.tiny_config()
  model_dir = str(tmp_path / 'model')
  checkpoints.check_or_save_config(model_dir, config)
  assert checkpoints.load_config(model_dir) == config
  checkpoints.check_or_save_config(model_dir, config)  # Same: no error.
  with pytest.raises(checkpoints.CheckpointError,
                     match=r'num_steps: 1 \(saved\) != 2'):
    checkpoints.check_or_save_config(model_dir, config.replace(num_steps=2))
  # An unconditional model has no context: its width is not the model's.
  checkpoints.check_or_save_config(model_dir,
                                   config.replace(context_channels=9))
  conditional_dir = str(tmp_path / 'conditional')
  conditional = config.replace(context_shape=(2,), context_channels=3)
  checkpoints.check_or_save_config(conditional_dir, conditional)
  with pytest.raises(checkpoints.CheckpointError,
                     match=r'context_channels: 3 \(saved\) != 4'):
    checkpoints.check_or_save_config(
        conditional_dir, conditional.replace(context_channels=4))
  with open(os.path.join(model_dir, checkpoints.CONFIG_FILE), 'w') as f:
    f.write('{"num_levels": ')
  with pytest.raises(checkpoints.CheckpointError, match='Corrupt'):
    checkpoints.load_config(model_dir)
  with pytest.raises(checkpoints.CheckpointError, match='No config.json'):
    checkpoints.load_config(str(tmp_path / 'elsewhere'))
  with pytest.raises(checkpoints.CheckpointError, match='No checkpoint'):
    checkpoints.latest_checkpoint(str(tmp_path))


def test_a_relative_model_dir_has_no_phantom_damaged_checkpoints(
    trained_dir, tmp_path, monkeypatch, caplog):
  _copy(trained_dir, tmp_path)
  monkeypatch.chdir(tmp_path)
  caplog.set_level(logging.WARNING)
  assert [os.path.basename(p) for p in checkpoints.checkpoint_candidates(
      'copy')] == ['ckpt-6', 'ckpt-3']
  assert checkpoints.find_intact_checkpoint('copy') == os.path.join(
      'copy', 'ckpt-6')
  assert not _warnings(caplog)
