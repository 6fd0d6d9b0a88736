"""Tests of glow_tf.main_job.stages: the stages that need no training run.

The training, evaluation and samples stages run in `test_demo.py`.
"""

import os

import pytest

from glow_tf import training
from glow_tf.main_job import record as record_lib
from glow_tf.main_job import stages
from glow_tf.training import checkpoints
from tests import fixtures


def _record(tmp_path):
  return record_lib.Record(str(tmp_path / 'metrics.json'), {}, print, 0.0)


def _settings(tmp_path, **overrides):
  return stages.DemoSettings(
      str(tmp_path), fixtures.tiny_config(),
      training.TrainConfig(time_budget_s=90.0), log=print, **overrides)


def test_the_model_is_restored_once(tmp_path, monkeypatch):
  settings = _settings(tmp_path)
  fixtures.make_model_dir(settings.model_dir, step=7)
  restores = []
  original = training.restore_model
  monkeypatch.setattr(stages.training, 'restore_model',
                      lambda *args: restores.append(args) or original(*args))
  model, record = stages.TrainedModel(settings.model_dir), _record(tmp_path)
  assert not model.restored
  stages.restore(record, model)
  glow, step = model.restore()
  assert model.restored and step == 7 and model.step == 7
  assert glow.config == fixtures.tiny_config()
  assert record.metrics['step'] == 7 and len(restores) == 1


def test_the_curve_without_the_train_stage_is_the_model_dirs(tmp_path):
  settings = _settings(tmp_path)
  points = [training.EvalPoint(0, 0.0, None, 5.5),
            training.EvalPoint(10, 3.0, 5.0, 4.5)]
  checkpoints.write_json(
      os.path.join(settings.model_dir, 'history.json'),
      {'history': [vars(p) for p in points], 'evaluation_seconds': 1.0})
  record = _record(tmp_path)
  stages.draw_curve(record, settings, None)
  assert record.metrics['files'] == {'training_curve': 'training_curve.png'}
  fixtures.check_png(os.path.join(str(tmp_path), 'training_curve.png'))


def test_a_training_loss_spike_runs_off_the_curves_axis(tmp_path):
  # Test points 7.6 (untrained) .. 3.1; train 5.8 .. 3.05, then one spike.
  points = [training.EvalPoint(0, 0.0, None, 7.6),
            training.EvalPoint(250, 1.0, 5.8, 4.7),
            training.EvalPoint(500, 2.0, 3.05, 3.1)]
  assert stages.training_curve_ylim(points) is None  # every point shown
  spiked = points + [training.EvalPoint(750, 3.0, 25.2, 3.1)]
  low, high = stages.training_curve_ylim(spiked)
  assert low < 3.05 and 7.6 < high < 25.2
  assert high - 7.6 == pytest.approx(0.05 * (7.6 - 3.05))
  assert stages.training_curve_ylim(points[:1]) is None  # no train point
  # A warm restart: the training loss starts above the first test points,
  # by less than the curve's span; no spike, every point shown.
  warm = [training.EvalPoint(0, 0.0, None, 3.069),
          training.EvalPoint(250, 1.0, 3.12, 3.077),
          training.EvalPoint(12820, 2.0, 3.015, 3.040)]
  assert stages.training_curve_ylim(warm) is None
  low, high = stages.training_curve_ylim(
      warm + [training.EvalPoint(13000, 3.0, 3.3, 3.040)])
  assert high == pytest.approx(3.12 + 0.05 * (3.12 - 3.015))
  assert low == pytest.approx(3.015 - 0.05 * (3.12 - 3.015))
  path = stages.write_training_curve(tmp_path / 'curve.png', spiked)
  fixtures.check_png(path)


def test_an_exported_step_is_not_exported_again(tmp_path, monkeypatch):
  settings = _settings(tmp_path)
  os.makedirs(os.path.join(str(tmp_path), 'export', '7'))

  def no_export(*args, **kwargs):
    raise AssertionError('exported again')

  monkeypatch.setattr(stages.export_lib, 'export_from_model_dir', no_export)
  model = stages.TrainedModel(settings.model_dir)
  model.glow, model.step = object(), 7  # As if restored.
  record = _record(tmp_path)
  stages.export_model(record, settings, model)
  assert record.metrics['files'] == {'export': os.path.join('export', '7')}


def test_settings_are_frozen(tmp_path):
  settings = _settings(tmp_path)
  assert settings.model_dir == os.path.join(str(tmp_path), 'model')
  with pytest.raises(AttributeError):
    settings.output_dir = 'elsewhere'
