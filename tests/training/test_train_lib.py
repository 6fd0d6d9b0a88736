"""Tests of glow_tf.training.train_lib: the train step, the loop, resume, errors."""

import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

import glow_tf
from glow_tf import data
from glow_tf.training import checkpoints
from glow_tf.training import initialization
from glow_tf.training import train_lib
from tests.training import common

_ITERATIONS = 'optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE'
_STEP = 'step/.ATTRIBUTES/VARIABLE_VALUE'


def _events(model_dir):
  """{tag: [(step, value or None), ...]} and {tag: plugin} of the summaries."""
  values, plugins = {}, {}
  summary_dir = os.path.join(model_dir, train_lib.SUMMARY_DIR)
  for name in sorted(os.listdir(summary_dir)):
    for record in tf.data.TFRecordDataset(os.path.join(summary_dir, name)):
      event = tf.compat.v1.Event.FromString(record.numpy())
      for value in event.summary.value:
        plugins[value.tag] = value.metadata.plugin_data.plugin_name
        tensor = tf.make_ndarray(value.tensor)
        values.setdefault(value.tag, []).append(
            (event.step, float(tensor) if tensor.ndim == 0 else None))
  return values, plugins


def _checkpoint_steps(model_dir):
  state = tf.train.get_checkpoint_state(model_dir)
  return sorted(int(p.rsplit('-', 1)[1])
                for p in state.all_model_checkpoint_paths)


@pytest.fixture(scope='module')
def trained_dir(tmp_path_factory):
  """A model_dir trained for 6 steps (checkpoints at 3 and 6)."""
  model_dir = str(tmp_path_factory.mktemp('trained') / 'model')
  metrics = train_lib.train(common.tiny_config(), common.tiny_train_config(),
                            model_dir, common.dataset_fn())
  return model_dir, metrics


@pytest.mark.parametrize('field, value, message', [
    ('batch_size', 0, 'batch_size must be a positive int'),
    ('learning_rate', -1.0, 'learning_rate must be a positive float'),
    ('optimizer', 'sgd', "optimizer must be one of \\['adamax', 'adam'\\]"),
    ('ema_decay', 1.0, 'ema_decay must be in \\[0, 1\\)'),
    ('clip_grad_norm', 0.0, 'clip_grad_norm must be a positive float'),
    ('warmup_steps', -1, 'warmup_steps must be a non-negative int'),
    ('random_flip', 1, 'random_flip must be True or False'),
    ('memory_saving', 'yes', 'memory_saving must be True or False'),
])
def test_train_config_rejects_bad_values(field, value, message):
  with pytest.raises(ValueError, match=message):
    train_lib.TrainConfig().replace(**{field: value})


def test_linear_warmup_and_epochs():
  schedule = train_lib.LinearWarmup(1e-3, warmup_steps=4)
  np.testing.assert_allclose([float(schedule(t)) for t in range(6)],
                             [2.5e-4, 5e-4, 7.5e-4, 1e-3, 1e-3, 1e-3])
  assert float(train_lib.LinearWarmup(1e-3, 0)(0)) == pytest.approx(1e-3)
  assert train_lib.steps_for_epochs(2, 60_000, 64) == 1875
  assert train_lib.steps_for_epochs(0.5, 10, 3) == 2
  for name in ('adamax', 'adam'):
    optimizer = train_lib.make_optimizer(train_lib.TrainConfig(optimizer=name))
    assert type(optimizer).__name__.lower() == name


def test_train_lowers_loss_writes_checkpoints_and_summaries(trained_dir):
  model_dir, metrics = trained_dir
  assert metrics['step'] == 6 and metrics['start_step'] == 0
  assert metrics['stop_reason'] == 'train_steps'
  assert metrics['nonfinite_steps'] == 0
  assert metrics['checkpoint'].endswith('ckpt-6')
  assert np.isfinite(metrics['bits_per_dim']) and metrics['images_per_sec'] > 0
  assert _checkpoint_steps(model_dir) == [3, 6]
  assert checkpoints.load_config(model_dir) == common.tiny_config()
  assert os.path.exists(os.path.join(model_dir, train_lib.TRAIN_CONFIG_FILE))

  values, plugins = _events(model_dir)
  for tag in ('loss', 'bits_per_dim', 'learning_rate', 'images_per_sec',
              'grad_norm', 'nonfinite_steps'):
    assert plugins[tag] == 'scalars', tag
  assert plugins['samples'] == 'images'
  assert [step for step, _ in values['samples']] == [3, 6]
  losses = [loss for _, loss in values['loss']]
  assert len(losses) == 6 and losses[-1] < losses[0] - 0.1, losses
  assert values['learning_rate'][0][1] == pytest.approx(1e-2)

  # The checkpoint holds the layout restore_model reads, averaged weights too.
  glow, step = checkpoints.restore_model(model_dir)
  assert step == 6 and initialization.is_initialized(glow)
  assert int(tf.train.load_variable(metrics['checkpoint'], _ITERATIONS)) == 6


def test_resume_after_a_crash_continues_from_the_last_checkpoint(
    tmp_path, monkeypatch):
  model_dir = str(tmp_path / 'model')
  config, train_config = common.tiny_config(), common.tiny_train_config(
      train_steps=9, summary_every=0, sample_every=0)
  original_step = train_lib.Trainer.train_step

  def crash_at_step_8(self, batch):
    if int(self.step.numpy()) == 7:
      raise KeyboardInterrupt('killed')
    return original_step(self, batch)

  monkeypatch.setattr(train_lib.Trainer, 'train_step', crash_at_step_8)
  with pytest.raises(KeyboardInterrupt):
    train_lib.train(config, train_config, model_dir, common.dataset_fn())
  assert _checkpoint_steps(model_dir) == [3, 6]
  saved_ema, _ = checkpoints.restore_model(
      model_dir, use_ema=True, checkpoint=os.path.join(model_dir, 'ckpt-6'))

  monkeypatch.setattr(train_lib.Trainer, 'train_step', original_step)
  restored = {}
  original_restore = train_lib.Trainer.restore

  def spy_restore(self, directory):
    step = original_restore(self, directory)
    restored.update(step=step, iterations=int(self.optimizer.iterations),
                    ema=[v.numpy() for v in self.ema_model.variables])
    return step

  def no_init(self, *args, **kwargs):
    raise AssertionError('the data-dependent init ran again on resume')

  monkeypatch.setattr(train_lib.Trainer, 'restore', spy_restore)
  monkeypatch.setattr(train_lib.Trainer, 'initialize', no_init)
  metrics = train_lib.train(config, train_config, model_dir,
                            common.dataset_fn())
  assert restored['step'] == 6 and restored['iterations'] == 6
  assert metrics['start_step'] == 6 and metrics['step'] == 9
  assert _checkpoint_steps(model_dir) == [3, 6, 9]  # None lost.
  last = os.path.join(model_dir, 'ckpt-9')
  assert int(tf.train.load_variable(last, _STEP)) == 9
  assert int(tf.train.load_variable(last, _ITERATIONS)) == 9
  for saved, value in zip(saved_ema.variables, restored['ema']):
    np.testing.assert_array_equal(saved.numpy(), value)

  # Rerunning a finished run does nothing.
  again = train_lib.train(config, train_config, model_dir,
                          common.dataset_fn())
  assert again['step'] == 9 and again['checkpoint'] is None


def test_time_budget_stops_with_a_checkpoint(tmp_path):
  model_dir = str(tmp_path / 'model')
  metrics = train_lib.train(
      common.tiny_config(),
      common.tiny_train_config(train_steps=1000, summary_every=0,
                               sample_every=0, ema_decay=0.0),
      model_dir, common.dataset_fn(), time_budget_s=1e-3)
  assert metrics['stop_reason'] == 'time_budget'
  assert metrics['step'] == 1
  assert _checkpoint_steps(model_dir) == [1]
  assert not checkpoints.has_ema_weights(metrics['checkpoint'])


def _copy(trained_dir, tmp_path):
  model_dir = str(tmp_path / 'copy')
  shutil.copytree(trained_dir[0], model_dir)
  return model_dir


@pytest.mark.parametrize('part', ['index', 'data-00000-of-00001'])
def test_corrupt_checkpoint_gives_a_clear_error(trained_dir, tmp_path, part):
  model_dir = _copy(trained_dir, tmp_path)
  path = os.path.join(model_dir, f'ckpt-6.{part}')
  size = os.path.getsize(path)
  with open(path, 'wb') as f:
    f.write(b'\x17' * size)
  with pytest.raises(checkpoints.CheckpointError, match='ckpt-6'):
    train_lib.train(common.tiny_config(),
                    common.tiny_train_config(train_steps=9), model_dir,
                    common.dataset_fn())


def test_missing_checkpoint_files_give_a_clear_error(trained_dir, tmp_path):
  model_dir = _copy(trained_dir, tmp_path)
  for name in os.listdir(model_dir):
    if name.startswith('ckpt-'):
      os.remove(os.path.join(model_dir, name))
  with pytest.raises(checkpoints.CheckpointError, match='files are missing'):
    train_lib.train(common.tiny_config(),
                    common.tiny_train_config(train_steps=9), model_dir,
                    common.dataset_fn())


def test_another_config_on_resume_gives_a_clear_error(trained_dir):
  with pytest.raises(checkpoints.CheckpointError,
                     match=r'num_steps: 1 \(saved\) != 2'):
    train_lib.train(common.tiny_config(num_steps=2),
                    common.tiny_train_config(), trained_dir[0],
                    common.dataset_fn())


def test_missing_dataset_gives_a_clear_error(tmp_path):
  dataset_fn = lambda context: data.load_dataset(
      'cifar10', 'train', data_dir=str(tmp_path / 'tfds'))
  with pytest.raises(data.DatasetNotFoundError, match='tfds build cifar10'):
    train_lib.train(common.tiny_config(image_shape=(32, 32, 3)),
                    common.tiny_train_config(), str(tmp_path / 'model'),
                    dataset_fn)


def test_memory_saving_loss_has_the_plain_gradients(monkeypatch):
  calls = []
  original = train_lib.memory.memory_saving_log_prob

  def counted(*args, **kwargs):
    calls.append(1)
    return original(*args, **kwargs)

  monkeypatch.setattr(train_lib.memory, 'memory_saving_log_prob', counted)
  trainer = train_lib.Trainer(common.tiny_config(),
                              common.tiny_train_config(memory_saving=True))
  batch = common.model_batch()
  assert trainer.initialize(batch['image'])
  for v in trainer.model.trainable_variables:  # off the identity init
    v.assign(v + tf.random.stateless_normal(v.shape, [0, len(v.name)], 0.0,
                                            0.02))
  variables = list(trainer.model.trainable_variables)
  results = []
  for memory_saving in (False, True):
    with tf.GradientTape() as tape:
      loss = tf.reduce_mean(train_lib._bits_per_dim(  # pylint: disable=protected-access
          trainer.model, batch, memory_saving))
    results.append([loss] + tape.gradient(loss, variables))
    assert len(calls) == int(memory_saving)
  for plain, saving in zip(*results):
    np.testing.assert_allclose(tf.convert_to_tensor(saving),
                               tf.convert_to_tensor(plain),
                               rtol=1e-3, atol=1e-5)
  out = trainer.train_step(batch)  # traced with the memory-saving loss
  assert len(calls) == 2
  assert bool(out['finite']) and int(out['step']) == 1
  assert int(trainer.optimizer.iterations) == 1


def test_non_finite_batch_is_skipped_and_counted():
  trainer = train_lib.Trainer(common.tiny_config(),
                              common.tiny_train_config(ema_decay=0.5))
  batch = common.model_batch()
  assert trainer.initialize(batch['image'])
  before = [v.numpy() for v in trainer.model.trainable_variables]
  ema_before = [v.numpy() for v in trainer.ema_model.trainable_variables]
  poisoned = dict(batch, image=tf.tensor_scatter_nd_update(
      batch['image'], [[3, 5, 5, 0]], [float('nan')]))
  out = trainer.train_step(poisoned)
  assert not bool(out['finite']) and int(out['step']) == 1
  assert not np.isfinite(float(out['loss']))
  assert int(trainer.optimizer.iterations) == 0
  for old, new in zip(before + ema_before,
                      trainer.model.trainable_variables +
                      trainer.ema_model.trainable_variables):
    np.testing.assert_array_equal(old, new.numpy())
  out = trainer.train_step(batch)
  assert bool(out['finite']) and int(out['step']) == 2
  assert int(trainer.optimizer.iterations) == 1
  assert any(np.any(old != new.numpy()) for old, new in
             zip(before, trainer.model.trainable_variables))


def test_non_finite_steps_in_a_row_stop_training(tmp_path, monkeypatch):
  """Labels 9 poison the loss: after 3 good steps, 3 bad ones stop the run."""
  original = train_lib._bits_per_dim  # pylint: disable=protected-access

  def poisoned(model, batch, *args):
    bpd = original(model, batch, *args)
    return tf.where(tf.equal(batch['label'], 9), float('nan'), bpd)

  monkeypatch.setattr(train_lib, '_bits_per_dim', poisoned)
  labels = np.where(np.arange(256) < 48, 0, 9)
  model_dir = str(tmp_path / 'model')
  train_config = common.tiny_train_config(
      train_steps=20, shuffle_buffer=1, max_consecutive_nonfinite=3,
      summary_every=0, sample_every=0)
  with pytest.raises(train_lib.NonFiniteLossError,
                     match=r'3 steps in a row \(to step 6\).*ckpt-3'):
    train_lib.train(common.tiny_config(), train_config, model_dir,
                    common.dataset_fn(num=256, labels=labels))
  assert _checkpoint_steps(model_dir) == [3]


def test_class_conditional_training_uses_labels(tmp_path):
  config = common.tiny_config(num_classes=10)
  model_dir = str(tmp_path / 'model')
  metrics = train_lib.train(
      config, common.tiny_train_config(train_steps=2, summary_every=0,
                                       sample_every=2, ema_decay=0.0),
      model_dir, common.dataset_fn())
  assert metrics['step'] == 2 and np.isfinite(metrics['bits_per_dim'])
  glow, _ = checkpoints.restore_model(model_dir)
  assert glow.config.num_classes == 10


def test_evaluate_bits_per_dim(trained_dir):
  glow, _ = checkpoints.restore_model(trained_dir[0])
  dataset = common.dataset_fn(num=20, seed=1)(None)
  results = train_lib.evaluate(glow, dataset, batch_size=8, log_every=1)
  assert results['num_examples'] == 20
  expected = glow_tf.bits_per_dim(glow, common.blob_images(20, seed=1))
  assert 0 < results['bits_per_dim'] < 8
  # Same figure as glow_tf.bits_per_dim up to the dequantisation noise.
  assert results['bits_per_dim'] == pytest.approx(float(np.mean(expected)),
                                                  abs=0.05)
  assert train_lib.evaluate(glow, dataset, batch_size=8,
                            max_examples=5)['num_examples'] == 5
  with pytest.raises(ValueError, match=r'shape \(32, 32, 3\)'):
    train_lib.evaluate(glow, tf.data.Dataset.from_tensor_slices(
        {'image': np.zeros([2, 32, 32, 3], np.uint8)}))
