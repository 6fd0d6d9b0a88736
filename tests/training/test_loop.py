"""Tests of glow_tf.training.train: the loop, resume, budgets, errors."""

import os
import re
import time

import numpy as np
import pytest
import tensorflow as tf

import glow_tf
from glow_tf import data
from glow_tf import pretrained_models
from glow_tf import training
from glow_tf.training import checkpoints
from glow_tf.training import initialization
from glow_tf.training import trainer as trainer_lib
from tests import fixtures

_ITERATIONS = 'optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE'
_STEP = 'step/.ATTRIBUTES/VARIABLE_VALUE'
_SECONDS = 'trained_seconds/.ATTRIBUTES/VARIABLE_VALUE'


def _events(model_dir):
  """{tag: [(step, value or None), ...]} and {tag: plugin} of the summaries."""
  values, plugins = {}, {}
  summary_dir = os.path.join(model_dir, training.callbacks.SUMMARY_DIR)
  for name in sorted(os.listdir(summary_dir)):
    for record in tf.data.TFRecordDataset(os.path.join(summary_dir, name)):
      event = tf.compat.v1.Event.FromString(record.numpy())
      for value in event.summary.value:
        plugins[value.tag] = value.metadata.plugin_data.plugin_name
        tensor = tf.make_ndarray(value.tensor)
        values.setdefault(value.tag, []).append(
            (event.step, float(tensor) if tensor.ndim == 0 else None))
  return values, plugins


def test_train_lowers_loss_writes_checkpoints_and_summaries(trained_dir):
  model_dir, metrics = trained_dir
  assert metrics['step'] == 6 and metrics['start_step'] == 0
  assert metrics['stop_reason'] == 'train_steps'
  assert metrics['nonfinite_steps'] == 0 and metrics['outlier_steps'] == 0
  assert metrics['checkpoint'].endswith('ckpt-6')
  assert np.isfinite(metrics['bits_per_dim']) and metrics['images_per_sec'] > 0
  assert fixtures.checkpoint_steps(model_dir) == [3, 6]
  assert checkpoints.load_config(model_dir) == fixtures.tiny_config()
  assert os.path.exists(os.path.join(model_dir, checkpoints.TRAIN_CONFIG_FILE))

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
  config, train_config = fixtures.tiny_config(), fixtures.tiny_train_config(
      train_steps=9, summary_every=0, sample_every=0)
  original_step = training.Trainer.train_step

  def crash_at_step_8(self, batch):
    if int(self.step.numpy()) == 7:
      raise KeyboardInterrupt('killed')
    return original_step(self, batch)

  monkeypatch.setattr(training.Trainer, 'train_step', crash_at_step_8)
  with pytest.raises(KeyboardInterrupt):
    training.train(config, train_config, model_dir, fixtures.dataset_fn())
  assert fixtures.checkpoint_steps(model_dir) == [3, 6]
  saved_ema, _ = checkpoints.restore_model(
      model_dir, use_ema=True, checkpoint=os.path.join(model_dir, 'ckpt-6'))

  monkeypatch.setattr(training.Trainer, 'train_step', original_step)
  restored = {}
  original_restore = training.Trainer.restore

  def spy_restore(self, directory):
    step = original_restore(self, directory)
    restored.update(step=step, iterations=int(self.optimizer.iterations),
                    ema=[v.numpy() for v in self.ema_model.variables])
    return step

  def no_init(self, *args, **kwargs):
    raise AssertionError('the data-dependent init ran again on resume')

  monkeypatch.setattr(training.Trainer, 'restore', spy_restore)
  monkeypatch.setattr(training.Trainer, 'initialize', no_init)
  metrics = training.train(config, train_config, model_dir,
                            fixtures.dataset_fn())
  assert restored['step'] == 6 and restored['iterations'] == 6
  assert metrics['start_step'] == 6 and metrics['step'] == 9
  assert fixtures.checkpoint_steps(model_dir) == [3, 6, 9]  # None lost.
  last = os.path.join(model_dir, 'ckpt-9')
  assert int(tf.train.load_variable(last, _STEP)) == 9
  assert int(tf.train.load_variable(last, _ITERATIONS)) == 9
  for saved, value in zip(saved_ema.variables, restored['ema']):
    np.testing.assert_array_equal(saved.numpy(), value)

  # Rerunning a finished run does nothing.
  again = training.train(config, train_config, model_dir,
                          fixtures.dataset_fn())
  assert again['step'] == 9 and again['stop_reason'] == 'already_trained'
  assert not checkpoints.train_config_changes(model_dir, train_config)
  assert again['bits_per_dim'] is None and again['images_per_sec'] is None
  assert fixtures.checkpoint_steps(model_dir) == [3, 6, 9]


def _train_for(model_dir, time_budget_s, callbacks=(), log=None):
  """Trains the tiny model for a time (1,000 steps at most)."""
  return training.train(
      fixtures.tiny_config(),
      fixtures.tiny_train_config(train_steps=1000, summary_every=0,
                                 sample_every=0, ema_decay=0.0,
                                 time_budget_s=time_budget_s),
      model_dir, fixtures.dataset_fn(), callbacks=callbacks, log=log)


def test_time_budget_stops_with_a_checkpoint(tmp_path):
  model_dir = str(tmp_path / 'model')
  metrics = _train_for(model_dir, 1e-3)
  assert metrics['stop_reason'] == 'time_budget'
  # The clock starts after the first (compiling) step: at least one more.
  first = metrics['step']
  assert 2 <= first < 1000
  assert fixtures.checkpoint_steps(model_dir) == [first]
  assert not checkpoints.has_ema_weights(metrics['checkpoint'])
  saved = float(tf.train.load_variable(metrics['checkpoint'], _SECONDS))
  assert saved >= 1e-3
  assert metrics['setup_seconds'] > 0

  # The budget counts across restarts: the same call has nothing left to do,
  # a larger budget trains on.
  config = fixtures.tiny_train_config(train_steps=first + 2, summary_every=0,
                                      sample_every=0, ema_decay=0.0,
                                      time_budget_s=1e-3)
  again = training.train(fixtures.tiny_config(), config, model_dir,
                         fixtures.dataset_fn())
  assert again['stop_reason'] == 'already_trained' and again['step'] == first
  more = training.train(fixtures.tiny_config(),
                        config.replace(time_budget_s=1e6), model_dir,
                        fixtures.dataset_fn())
  assert more['start_step'] == first and more['step'] == first + 2
  assert float(tf.train.load_variable(more['checkpoint'], _SECONDS)) > saved


class _SlowStart(training.Callback):
  """Sleeps in `on_train_begin`, like a long setup before the first step."""

  def __init__(self, seconds):
    self.seconds = seconds

  def on_train_begin(self, trainer, model_dir, step):
    time.sleep(self.seconds)


def test_time_budget_leaves_out_the_setup(tmp_path):
  # A setup (here a 4 s sleep before the first step) far longer than the
  # whole budget: the old clock, started at the call, stopped after one
  # step. The saved seconds leave the sleep out: they are at most the
  # call's seconds less the sleep, however long a step takes on a loaded
  # machine (seen: 2.7 s, then 5.6 s, of training for this 0.5 s budget
  # under a parallel suite).
  model_dir = str(tmp_path / 'model')
  lines = []
  metrics = _train_for(model_dir, 0.5, callbacks=[_SlowStart(4.0)],
                       log=lines.append)
  assert metrics['stop_reason'] == 'time_budget' and metrics['step'] >= 2
  assert metrics['setup_seconds'] >= 4.0
  saved = float(tf.train.load_variable(metrics['checkpoint'], _SECONDS))
  assert 0.5 <= saved <= metrics['seconds'] - 4.0  # Without the sleep.
  # The budget, not the 1,000 steps, ends the run: the progress lines show
  # the step and the budget's time left, never 'step 2/1000'.
  progress = [line for line in lines if line.startswith('step ')]
  assert progress, lines
  for line in progress:
    assert re.fullmatch(r'step \d+  bits/dim \d+\.\d{4}  \d+\.\d images/s  '
                        r'0:0\d of budget left  lr \S+', line), line


def test_cosine_decay_reaches_zero_by_the_last_step(tmp_path):
  model_dir = str(tmp_path / 'model')
  train_config = fixtures.tiny_train_config(lr_decay='cosine', sample_every=0)
  training.train(fixtures.tiny_config(), train_config, model_dir,
                 fixtures.dataset_fn())
  values, _ = _events(model_dir)
  rates = [rate for _, rate in sorted(values['learning_rate'])]
  # Step t (1-based) runs at progress (t - 1) / train_steps.
  expected = [1e-2 * (1 + np.cos(np.pi * t / 6)) / 2 for t in range(6)]
  np.testing.assert_allclose(rates, expected, rtol=1e-5)


def test_checkpoint_of_an_older_version_without_trained_seconds(tmp_path):
  model_dir = str(tmp_path / 'model')
  config, train_config = fixtures.tiny_config(), fixtures.tiny_train_config(
      train_steps=4, summary_every=0, sample_every=0, ema_decay=0.0)
  checkpoints.save_config(model_dir, config)
  trainer = training.Trainer(config, train_config)
  trainer.initialize(fixtures.model_batch()['image'])
  trainer.step.assign(2)
  old = tf.train.Checkpoint(step=trainer.step, model=trainer.model,
                            optimizer=trainer.optimizer)
  tf.train.CheckpointManager(old, model_dir, 1).save(checkpoint_number=2)
  metrics = training.train(config, train_config, model_dir,
                           fixtures.dataset_fn())
  assert metrics['start_step'] == 2 and metrics['step'] == 4


def test_changed_training_settings_on_resume_are_logged(tmp_path):
  model_dir = str(tmp_path / 'model')
  config = fixtures.tiny_config()
  first = fixtures.tiny_train_config(train_steps=3, summary_every=0,
                                     sample_every=0)
  training.train(config, first, model_dir, fixtures.dataset_fn())
  lines = []
  longer = first.replace(train_steps=4, batch_size=8)
  assert checkpoints.train_config_changes(model_dir, longer) == [
      f'batch_size: {first.batch_size} -> 8', 'train_steps: 3 -> 4']
  metrics = training.train(config, longer, model_dir, fixtures.dataset_fn(),
                           log=lines.append)
  assert metrics['start_step'] == 3 and metrics['step'] == 4
  notes = [line for line in lines if line.startswith('Note:')]
  assert notes == [f'Note: the training settings differ from the last run '
                   f'in {model_dir}: batch_size: {first.batch_size} -> 8, '
                   f'train_steps: 3 -> 4.'], lines
  # The file now holds this run's settings; an unreadable one is no change.
  assert not checkpoints.train_config_changes(model_dir, longer)
  with open(os.path.join(model_dir, checkpoints.TRAIN_CONFIG_FILE), 'w') as f:
    f.write('{not json')
  assert not checkpoints.train_config_changes(model_dir, first)


def test_another_config_on_resume_gives_a_clear_error(trained_dir):
  with pytest.raises(checkpoints.CheckpointError,
                     match=r'num_steps: 1 \(saved\) != 2'):
    training.train(fixtures.tiny_config(num_steps=2),
                    fixtures.tiny_train_config(), trained_dir[0],
                    fixtures.dataset_fn())


def test_missing_dataset_gives_a_clear_error(tmp_path):
  dataset_fn = lambda context: data.load_dataset(
      'cifar10', 'train', data_dir=str(tmp_path / 'tfds'))
  with pytest.raises(data.DatasetNotFoundError, match='tfds build cifar10'):
    training.train(fixtures.tiny_config(image_shape=(32, 32, 3)),
                    fixtures.tiny_train_config(), str(tmp_path / 'model'),
                    dataset_fn)


def test_non_finite_steps_in_a_row_stop_training(tmp_path, monkeypatch):
  """Labels 9 poison the loss: after 3 good steps, 3 bad ones stop the run."""
  original = trainer_lib.batch_objective  # what the train step minimises

  def poisoned(model, batch, *args):
    objective = original(model, batch, *args)
    return tf.where(tf.equal(batch['label'], 9), float('nan'), objective)

  monkeypatch.setattr(trainer_lib, 'batch_objective', poisoned)
  labels = np.where(np.arange(256) < 48, 0, 9)
  model_dir = str(tmp_path / 'model')
  train_config = fixtures.tiny_train_config(
      train_steps=20, shuffle_buffer=1, max_consecutive_nonfinite=3,
      summary_every=0, sample_every=0)
  with pytest.raises(training.NonFiniteLossError,
                     match=r'3 steps in a row \(to step 6\).*ckpt-3'):
    training.train(fixtures.tiny_config(), train_config, model_dir,
                    fixtures.dataset_fn(num=256, labels=labels))
  assert fixtures.checkpoint_steps(model_dir) == [3]


def test_class_conditional_training_uses_labels(tmp_path):
  config = fixtures.tiny_config(num_classes=10)
  model_dir = str(tmp_path / 'model')
  metrics = training.train(
      config, fixtures.tiny_train_config(train_steps=2, summary_every=0,
                                       sample_every=2, ema_decay=0.0),
      model_dir, fixtures.dataset_fn())
  assert metrics['step'] == 2 and np.isfinite(metrics['bits_per_dim'])
  glow, _ = checkpoints.restore_model(model_dir)
  assert glow.config.num_classes == 10


def test_a_model_dir_that_is_a_file_gives_a_clear_error(tmp_path):
  path = tmp_path / 'not_a_dir'
  path.write_text('')
  with pytest.raises(NotADirectoryError, match='`model_dir` must be a '
                     'directory'):
    training.train(fixtures.tiny_config(), fixtures.tiny_train_config(),
                   str(path), fixtures.dataset_fn())


def test_init_from_starts_a_new_run_at_the_saved_weights(tmp_path):
  # A warm restart: the saved weights, not a data-dependent initialisation
  # (which would set the ActNorms from the training batch), and a fresh
  # optimizer. A rate of 1e-30 leaves the weights where they started.
  config = fixtures.tiny_config()
  source = glow_tf.Glow(config, seed=5)
  source.initialize(glow_tf.dequantize(fixtures.blob_images(32, seed=3),
                                       seed=3) * 3.0)
  folder = str(tmp_path / 'weights')
  pretrained_models.save_pretrained(source, folder)
  model_dir, lines = str(tmp_path / 'model'), []
  train_config = fixtures.tiny_train_config(
      train_steps=1, learning_rate=1e-30, summary_every=0, sample_every=0,
      init_from=folder)
  metrics = training.train(config, train_config, model_dir,
                           fixtures.dataset_fn(), log=lines.append)
  assert metrics['step'] == 1
  assert any(f'Starting from the weights of {folder!r}' in line
             for line in lines), lines
  assert not any('Data-dependent' in line for line in lines), lines
  assert int(tf.train.load_variable(metrics['checkpoint'], _ITERATIONS)) == 1
  for use_ema in (False, True):
    glow, _ = checkpoints.restore_model(model_dir, use_ema=use_ema)
    assert len(glow.variables) == len(source.variables)
    for variable, value in zip(glow.variables, source.variables):
      np.testing.assert_allclose(variable.numpy(), value.numpy(), atol=1e-6,
                                 err_msg=variable.name)
  # Without init_from the same run initialises from its data: other weights.
  plain_dir = str(tmp_path / 'plain')
  training.train(config, train_config.replace(init_from=None), plain_dir,
                 fixtures.dataset_fn(), log=lines.append)
  glow, _ = checkpoints.restore_model(plain_dir)
  assert any(not np.allclose(variable.numpy(), value.numpy(), atol=1e-3)
             for variable, value in zip(glow.variables, source.variables))


def test_init_from_other_settings_or_nothing_gives_a_clear_error(tmp_path):
  config = fixtures.tiny_config()
  folder = str(tmp_path / 'weights')
  source = glow_tf.Glow(config.replace(hidden_channels=4))
  pretrained_models.save_pretrained(source, folder)
  train_config = fixtures.tiny_train_config(train_steps=1, summary_every=0,
                                            sample_every=0, init_from=folder)
  with pytest.raises(ValueError, match=r'hidden_channels=4 \(this run: 8\)'):
    training.train(config, train_config, str(tmp_path / 'a'),
                   fixtures.dataset_fn())
  with pytest.raises(ValueError, match='neither a model that ships'):
    training.train(config, train_config.replace(
        init_from=str(tmp_path / 'nothing')), str(tmp_path / 'b'),
                   fixtures.dataset_fn())
  with pytest.raises(ValueError, match='init_from must be'):
    train_config.replace(init_from='')
  # How the layers are computed is not part of the model: accepted.
  training.Trainer(config.replace(kernels='reference'),
                   train_config).warm_start(glow_tf.Glow(config))
