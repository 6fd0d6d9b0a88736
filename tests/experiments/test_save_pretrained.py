"""Tests of experiments/save_pretrained.py on a tiny training directory."""

import json

import numpy as np
import pytest
import tensorflow as tf

import glow_tf
from glow_tf import data
from glow_tf import pretrained_models as pretrained_lib
from glow_tf import training
from glow_tf.training import checkpoints
from tests import fixtures


def _model_dir_with_average(model_dir):
  config = fixtures.tiny_config()
  checkpoints.save_config(model_dir, config)
  raw, average = glow_tf.Glow(config, seed=0), glow_tf.Glow(config, seed=1)
  for glow in (raw, average):
    glow.initialize(fixtures.model_batch(16)['image'])
  ckpt = tf.train.Checkpoint(step=tf.Variable(11, dtype=tf.int64), model=raw,
                             ema_model=average)
  tf.train.CheckpointManager(ckpt, model_dir, max_to_keep=1).save()
  return average


def test_ships_the_averaged_weights_with_their_score(tmp_path):
  average = _model_dir_with_average(str(tmp_path / 'model'))
  idx = fixtures.fake_idx_folder(str(tmp_path / 'idx'), num_test=30,
                                num_train=8)
  # What trained it: a demo's command beside model/, after the commands of
  # the weights it started from (--init_from).
  start = tmp_path / 'start'
  pretrained_lib.save_pretrained(average, str(start),
                                 {'commands': ['made the start']})
  (tmp_path / 'metrics.json').write_text(
      json.dumps({'command': 'bash scripts/demo.sh --init_from=start'}))
  (tmp_path / 'model' / checkpoints.TRAIN_CONFIG_FILE).write_text(
      json.dumps({'init_from': str(start)}))
  out = tmp_path / 'weights'
  record = tmp_path / 'results.json'
  text = fixtures.run_binary(
      'save_pretrained', f'--model_dir={tmp_path / "model"}',
      f'--idx_dir={idx}',
      f'--output_dir={out}', '--num_images=20',
      f'--record_to={record}')
  assert 'step 11' in text
  info = json.loads((out / 'info.json').read_text())
  assert info['step'] == 11 and info['num_images'] == 20
  assert info['commands'][:2] == ['made the start',
                                  'bash scripts/demo.sh --init_from=start']
  assert 'experiments.save_pretrained' in info['commands'][2]
  loaded = pretrained_lib.load_pretrained(str(out))
  for a, b in zip(average.variables, loaded.variables):
    np.testing.assert_array_equal(a.numpy(), b.numpy())
  images, _ = data.load_idx_split(idx, 't10k')
  bits = float(np.mean(training.BitsPerDimScorer(loaded)(images[:20])))
  assert info['test_bits_per_dim'] == pytest.approx(bits, abs=1e-4)
  run, = json.loads(record.read_text())['runs']
  assert run['name'] == 'pretrained/fashion_mnist'
  assert run['test_bits_per_dim'] == info['test_bits_per_dim']
