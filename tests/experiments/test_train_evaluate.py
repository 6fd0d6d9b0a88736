"""experiments/train.py and experiments/evaluate.py end to end, in subprocesses."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
import tensorflow as tf

import glow_tf
from glow_tf import data
from glow_tf import training
from glow_tf.training import checkpoints
from tests import fixtures

_TINY_MODEL = ('--num_levels=2', '--num_steps=1', '--hidden_channels=8',
               '--batch_size=16', '--init_batch_size=32', '--shuffle_buffer=64',
               '--warmup_steps=0')
_TIMEOUT_S = 300


def _env(**extra):
  return dict(os.environ, PYTHONPATH=fixtures.REPO_ROOT,
              CUDA_VISIBLE_DEVICES='', **extra)


def _start(name, args, log_path, **env):
  log = open(log_path, 'w')  # pylint: disable=consider-using-with
  process = subprocess.Popen(
      [sys.executable, '-m', f'experiments.{name}', *args],
      cwd=fixtures.REPO_ROOT, env=_env(**env), stdout=log,
      stderr=subprocess.STDOUT)
  process.log = log
  return process


def _finish(process, log_path, timeout=_TIMEOUT_S):
  try:
    process.wait(timeout=timeout)
  finally:
    if process.poll() is None:
      process.kill()
      process.wait()
    process.log.close()
  with open(log_path) as f:
    return f.read()


def _checkpoint_steps(model_dir):
  state = tf.train.get_checkpoint_state(model_dir)
  steps = sorted(int(p.rsplit('-', 1)[1])
                 for p in state.all_model_checkpoint_paths)
  for step in steps:
    assert os.path.exists(os.path.join(model_dir, f'ckpt-{step}.index'))
  return steps


def test_train_and_evaluate_fashion_mnist(tmp_path):
  model_dir, data_dir = str(tmp_path / 'model'), str(tmp_path / 'tfds')
  # Flow++'s variational dequantization (the default, uniform, is every
  # other test's): trained, checkpointed and evaluated with the model.
  out = fixtures.run_binary(
      'train', f'--model_dir={model_dir}', f'--data_dir={data_dir}',
      '--dataset=fashion_mnist', '--train_steps=3', '--checkpoint_every=2',
      '--log_every=1', '--sample_every=3', '--dequantization=variational',
      *_TINY_MODEL)
  assert 'Data-dependent initialisation on 32 images' in out
  assert 'step 1/3  bits/dim' in out and 'step 3/3  bits/dim' in out
  assert 'images/s' in out and ' left ' in out
  assert 'Trained to step 3 (train_steps)' in out
  # A quiet console: no absl/TensorFlow INFO lines, no progress bars, no NaN.
  assert not re.search(r'^I\d{4} ', out, re.M), out
  assert 'nan' not in out.lower().replace('fashion_mnist', ''), out
  assert '%|' not in out, out
  assert _checkpoint_steps(model_dir) == [2, 3]
  config = checkpoints.load_config(model_dir)
  assert (config.image_shape, config.num_steps) == ((28, 28, 1), 1)
  assert config.dequantization == 'variational'
  assert os.listdir(os.path.join(model_dir, 'train'))

  out = fixtures.run_binary(
      'evaluate', f'--model_dir={model_dir}', f'--data_dir={data_dir}',
      '--max_examples=64', '--batch_size=16')
  assert 'fashion_mnist test:' in out
  assert re.search(r'Worst images \(position in the split: bits/dim\): '
                   r'\d+: \d+\.\d\d, ', out), out
  results = fixtures.read_json(
      os.path.join(model_dir, 'eval', 'fashion_mnist_test.json'),
      ['bits_per_dim', 'num_examples', 'step', 'ema_weights', 'split'])
  assert results['num_examples'] == 64 and results['step'] == 3
  assert results['ema_weights'] and results['split'] == 'test'
  assert 0 < results['bits_per_dim'] < 9

  # MNIST-style IDX files as out-of-distribution data, raw weights, with the
  # binary run as a script (`python experiments/evaluate.py`).
  mnist_dir = fixtures.fake_idx_folder(str(tmp_path / 'mnist'), num_test=40)
  output = str(tmp_path / 'ood.json')
  fixtures.run_binary(
      'evaluate', f'--model_dir={model_dir}', '--dataset=mnist_idx',
      f'--idx_dir={mnist_dir}', '--max_examples=32', '--nouse_ema',
      f'--output={output}', as_script=True)
  ood = fixtures.read_json(output, ['bits_per_dim'])
  assert ood['num_examples'] == 32 and not ood['ema_weights']
  assert ood['dataset'] == 'mnist_idx'


def test_conditional_training_resumes_and_is_evaluated_with_its_context(
    tmp_path):
  # --context=low_res and --class_loss_weight on one model: p(x | y, its 2x2
  # average) with the class-prediction loss; then a resumed run, and an
  # evaluation that finds the context from the model's config.
  idx_dir = fixtures.fake_idx_folder(str(tmp_path / 'idx'), num_test=20,
                                    num_train=64)
  model_dir, data_dir = str(tmp_path / 'model'), str(tmp_path / 'tfds')
  args = [f'--model_dir={model_dir}', f'--data_dir={data_dir}',
          f'--idx_dir={idx_dir}', '--dataset=fashion_mnist',
          '--context=low_res', '--class_loss_weight=0.01',
          '--checkpoint_every=2', '--log_every=1', '--sample_every=1',
          '--random_flip', *_TINY_MODEL]
  out = fixtures.run_binary('train', *args, '--train_steps=2')
  assert 'Data-dependent initialisation on 32 images' in out
  assert 'Trained to step 2 (train_steps)' in out
  assert 'nan' not in out.lower().replace('fashion_mnist', ''), out
  config = checkpoints.load_config(model_dir)
  assert config.context_shape == (14, 14, 1)
  assert (config.num_classes, config.class_loss_weight) == (10, 0.01)

  out = fixtures.run_binary('train', *args, '--train_steps=3')
  assert 'Resuming from step 2' in out
  assert 'Data-dependent initialisation' not in out
  assert 'Trained to step 3 (train_steps)' in out
  assert _checkpoint_steps(model_dir) == [2, 3]

  fixtures.run_binary('evaluate', f'--model_dir={model_dir}',
                      f'--data_dir={data_dir}', f'--idx_dir={idx_dir}',
                      '--max_examples=16', '--batch_size=8')
  results = fixtures.read_json(
      os.path.join(model_dir, 'eval', 'fashion_mnist_test.json'),
      ['bits_per_dim', 'num_examples', 'step', 'context'])
  assert results['context'] == 'low_res'
  assert results['num_examples'] == 16 and results['step'] == 3
  # The figure of the library's evaluation with the low_res contexts.
  glow, _ = checkpoints.restore_model(model_dir)
  expected = training.evaluate(glow, data.with_context(data.load_dataset(
      'fashion_mnist', 'test', data_dir=data_dir, idx_dir=idx_dir),
                                                      'low_res'),
                               batch_size=8, max_examples=16, log_every=0)
  assert results['bits_per_dim'] == pytest.approx(expected['bits_per_dim'],
                                                  rel=1e-5)


def test_killed_run_resumes_from_its_last_checkpoint(tmp_path):
  # 30 epochs of 64 images in batches of 16: 120 steps.
  idx_dir = fixtures.fake_idx_folder(str(tmp_path / 'idx'), num_test=0,
                                    num_train=64)
  model_dir = str(tmp_path / 'model')
  args = [f'--model_dir={model_dir}', '--dataset=mnist_idx',
          f'--idx_dir={idx_dir}', '--epochs=30', '--checkpoint_every=20',
          '--keep_checkpoints=10', '--log_every=20', '--summary_every=0',
          '--sample_every=0', *_TINY_MODEL]
  log_path = str(tmp_path / 'first.log')
  first = _start('train', args, log_path)
  deadline = time.monotonic() + _TIMEOUT_S
  while (not os.path.exists(os.path.join(model_dir, 'checkpoint'))
         and first.poll() is None and time.monotonic() < deadline):
    time.sleep(0.05)
  still_running = first.poll() is None
  first.send_signal(signal.SIGKILL)
  out = _finish(first, log_path)
  assert still_running, f'The run ended before it could be killed:\n{out}'
  killed_at = _checkpoint_steps(model_dir)
  assert killed_at and killed_at[-1] < 120, (killed_at, out)

  out = fixtures.run_binary('train', *args)
  assert f'Resuming from step {killed_at[-1]}' in out
  assert 'Data-dependent initialisation' not in out
  assert 'Trained to step 120 (train_steps)' in out
  steps = _checkpoint_steps(model_dir)
  assert steps[:len(killed_at)] == killed_at and steps[-1] == 120, steps
  assert checkpoints.restore_model(model_dir)[1] == 120

  out = fixtures.run_binary('train', *args)
  assert 'Already trained to step 120' in out and 'nan' not in out, out


def _free_ports(count):
  sockets = [socket.socket() for _ in range(count)]
  for s in sockets:
    s.bind(('127.0.0.1', 0))
  ports = [s.getsockname()[1] for s in sockets]
  for s in sockets:
    s.close()
  return ports


def test_multi_worker_mirrored_strategy_with_two_local_workers(tmp_path):
  idx_dir = fixtures.fake_idx_folder(str(tmp_path / 'idx'), num_test=0,
                                    num_train=64)
  model_dir = str(tmp_path / 'model')
  processes = _start_two_workers(
      tmp_path, model_dir, idx_dir,
      ['--train_steps=4', '--checkpoint_every=2', '--log_every=2',
       '--time_budget_s=3600',  # Agreed on by all-reduce each step.
       '--sample_every=4'])
  outputs = [_finish(process, log_path) for process, log_path in processes]
  for (process, _), out in zip(processes, outputs):
    assert process.returncode == 0, out[-5000:]
    assert 'with 2 replica(s)' in out and 'Trained to step 4' in out, out[-3000:]
  assert _checkpoint_steps(model_dir) == [2, 4]
  assert not [n for n in os.listdir(model_dir) if n.endswith('_tmp')]
  glow, step = checkpoints.restore_model(model_dir)
  assert step == 4 and glow.config.num_steps == 1


def test_missing_dataset_gives_a_clear_error(tmp_path):
  result = subprocess.run(
      [sys.executable, '-m', 'experiments.train', '--dataset=cifar10',
       f'--data_dir={tmp_path / "tfds"}', f'--model_dir={tmp_path / "m"}'],
      cwd=fixtures.REPO_ROOT, env=_env(), capture_output=True, text=True,
      timeout=_TIMEOUT_S, check=False)
  assert result.returncode == 1
  assert 'train: error:' in result.stderr
  assert 'tfds build cifar10' in result.stderr
  assert 'Traceback' not in result.stderr, result.stderr
  assert not os.path.exists(tmp_path / 'm' / 'config.json')


@pytest.mark.parametrize('args, message', [
    (['--batch_size=0'], '`batch_size` must be a positive integer, got 0'),
    (['--train_steps=0'], '`train_steps` must be a positive integer, got 0'),
    (['--learning_rate=-1'], '`learning_rate` must be a positive float'),
    (['--num_levels=5'], 'num_levels'),
    ([], '--model_dir'),
])
def test_bad_flags_end_with_one_clear_line(tmp_path, args, message):
  model_dir = [] if not args else [f'--model_dir={tmp_path / "m"}']
  result = subprocess.run(
      [sys.executable, os.path.join('experiments', 'train.py'),
       '--dataset=mnist_idx', f'--idx_dir={tmp_path}', *model_dir, *args],
      cwd=fixtures.REPO_ROOT, env=_env(), capture_output=True, text=True,
      timeout=_TIMEOUT_S, check=False)
  assert result.returncode != 0
  assert message in result.stderr, result.stderr
  assert 'Traceback' not in result.stderr, result.stderr
  assert len(result.stderr.strip().splitlines()) <= 2, result.stderr


def _start_two_workers(tmp_path, model_dir, idx_dir, extra_args):
  workers = [f'127.0.0.1:{port}' for port in _free_ports(2)]
  processes = []
  for index in range(2):
    tf_config = json.dumps({'cluster': {'worker': workers},
                            'task': {'type': 'worker', 'index': index}})
    log_path = str(tmp_path / f'worker_{index}.log')
    processes.append((_start(
        'train', [f'--model_dir={model_dir}', '--dataset=mnist_idx',
                  f'--idx_dir={idx_dir}', '--strategy=multi_worker',
                  '--summary_every=0', '--sample_every=0', *extra_args,
                  *_TINY_MODEL],
        log_path, TF_CONFIG=tf_config), log_path))
  return processes


def _wait_for(log_path, text, processes, timeout=_TIMEOUT_S):
  deadline = time.monotonic() + timeout
  while time.monotonic() < deadline:
    with open(log_path) as f:
      if text in f.read():
        return
    if any(p.poll() is not None for p, _ in processes):
      break
    time.sleep(0.2)
  with open(log_path) as f:
    raise AssertionError(f'{text!r} not seen in {log_path}:\n{f.read()}')


@pytest.mark.parametrize('signal_name', ['SIGTERM', 'SIGKILL'])
def test_a_stopped_worker_saves_or_names_itself(tmp_path, signal_name):
  """SIGTERM: the cluster saves a checkpoint first; SIGKILL: one clear line."""
  idx_dir = fixtures.fake_idx_folder(str(tmp_path / 'idx'), num_test=0,
                                    num_train=64)
  model_dir = str(tmp_path / 'model')
  processes = _start_two_workers(
      tmp_path, model_dir, idx_dir,
      ['--train_steps=100000', '--checkpoint_every=100000', '--log_every=5'])
  _wait_for(processes[1][1], 'step 10/100000', processes)
  processes[1][0].send_signal(getattr(signal, signal_name))
  outputs = [_finish(process, log_path) for process, log_path in processes]
  chief = outputs[0]
  if signal_name == 'SIGTERM':
    assert 'Preemption checkpoints on' in chief, chief[-3000:]
    steps = _checkpoint_steps(model_dir)
    assert steps and 10 <= steps[-1] < 100000, (steps, chief[-3000:])
    assert checkpoints.restore_model(model_dir)[1] == steps[-1]
  else:
    assert processes[0][0].returncode not in (0, None)
    assert 'train: error: Lost contact with' in chief, chief[-3000:]
    assert 'Restart every worker with the same command' in chief
    assert 'Traceback' not in chief, chief[-3000:]


def test_evaluate_the_pretrained_model(tmp_path):
  info = glow_tf.pretrained_info('fashion_mnist')
  output = tmp_path / 'eval.json'
  out = fixtures.run_binary(
      'evaluate', '--pretrained=fashion_mnist', '--dataset=mnist_idx',
      f'--idx_dir={fixtures.FASHION_MNIST_IDX}', '--max_examples=20',
      '--batch_size=20', f'--output={output}')
  assert "Evaluating glow_tf.pretrained('fashion_mnist')" in out
  results = fixtures.read_json(output, ['bits_per_dim', 'pretrained',
                                        'pretrained_info', 'step'])
  assert 'model_dir' not in results and results['ema_weights']
  assert results['pretrained'] == 'fashion_mnist'
  assert results['step'] == results['pretrained_info']['step'] == info['step']
  assert (results['pretrained_info']['test_bits_per_dim'] ==
          info['test_bits_per_dim'])
  # The shipped weights, not an untrained model: near its recorded score
  # (3.09 bits/dim on the first 1,000 test images).
  assert abs(results['bits_per_dim'] - info['test_bits_per_dim']) < 0.5
