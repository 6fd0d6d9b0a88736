"""Tests for glow_tf.data.preparation: several processes preparing one data_dir."""

import hashlib
import json
import logging
import os
import pathlib
import re
import signal
import subprocess
import sys
import time

import pytest

from glow_tf.data import fashion_mnist
from glow_tf.data import preparation
from tests.data import test_fashion_mnist

_REPO_ROOT = str(pathlib.Path(__file__).resolve().parents[2])
_NUM_PROCESSES = 3

# argv: data_dir idx_dir go_file mode. Imports TF, says it is ready, waits
# for `go_file`, then loads both splits of fashion_mnist (preparing them) and
# prints what it read as JSON. mode 'race': preparation is slowed down by 1 s
# so that the others arrive while it runs; 'crash': the process kills itself
# (SIGKILL) half-way through writing the train split.
_CHILD = r'''
import hashlib, json, os, signal, sys, time
from absl import logging
from glow_tf.data import fashion_mnist, loaders

data_dir, idx_dir, go_file, mode = sys.argv[1:5]
logging.set_verbosity(logging.INFO)
builder_cls = fashion_mnist.FashionMnistLocal
calls = []
split_generators = builder_cls._split_generators
generate_examples = builder_cls._generate_examples

def slow_split_generators(self, dl_manager):
  calls.append(os.getpid())
  time.sleep(1.0)
  return split_generators(self, dl_manager)

def crashing_generate_examples(self, prefix):
  for i, example in enumerate(generate_examples(self, prefix)):
    if i == 3:
      os.kill(os.getpid(), signal.SIGKILL)
    yield example

builder_cls._split_generators = slow_split_generators
if mode == 'crash':
  builder_cls._generate_examples = crashing_generate_examples
open(f'{go_file}.ready.{os.getpid()}', 'w').close()
while not os.path.exists(go_file):
  time.sleep(0.01)
start = time.monotonic()
digests = {}
for split in ('train', 'test'):
  dataset = loaders.load_dataset('fashion_mnist', split, data_dir=data_dir,
                                  idx_dir=idx_dir)
  digests[split] = sorted(
      hashlib.sha1(e['image'].tobytes() + bytes([e['label']])).hexdigest()
      for e in dataset.as_numpy_iterator())
print(json.dumps({'prepared': len(calls), 'digests': digests,
                  'seconds': time.monotonic() - start}))
'''

# argv: lock_file. Holds the lock as prepare_builder does until killed.
_HOLDER = r'''
import fcntl, os, socket, sys, time
lock_file = open(sys.argv[1], 'a+')
fcntl.flock(lock_file, fcntl.LOCK_EX)
lock_file.truncate(0)
lock_file.write(f'pid {os.getpid()} on {socket.gethostname()}\n')
lock_file.flush()
print('locked', flush=True)
time.sleep(600)
'''


def _env():
  return dict(os.environ, PYTHONPATH=_REPO_ROOT, TF_CPP_MIN_LOG_LEVEL='2',
              CUDA_VISIBLE_DEVICES='')


def _expected_digests(arrays):
  return {split: sorted(hashlib.sha1(image.tobytes() + bytes([label]))
                        .hexdigest() for image, label in zip(*arrays[prefix]))
          for split, prefix in (('train', 'train'), ('test', 't10k'))}


def _run_children(tmp_path, modes, timeout=300):
  """Starts one child per mode, releases them at once; returns their runs."""
  go_file = tmp_path / 'go'
  children = [
      subprocess.Popen(
          [sys.executable, '-c', _CHILD, str(tmp_path / 'tfds'),
           str(tmp_path / 'idx'), str(go_file), mode],
          cwd=_REPO_ROOT, env=_env(), stdout=subprocess.PIPE,
          stderr=subprocess.PIPE, text=True)
      for mode in modes]
  try:
    deadline = time.monotonic() + timeout
    while len(list(tmp_path.glob('go.ready.*'))) < len(children):
      for child in children:
        if child.poll() is not None:
          pytest.fail(f'A child exited before the start: {child.returncode}\n'
                      f'{child.stderr.read()[-3000:]}')
      assert time.monotonic() < deadline, 'children did not start in time'
      time.sleep(0.05)
    go_file.touch()
    runs = []
    for child in children:
      stdout, stderr = child.communicate(timeout=timeout)
      runs.append((child.returncode, stdout, stderr))
    return runs
  finally:
    for child in children:
      if child.poll() is None:
        child.kill()
        child.wait()


def test_concurrent_processes_prepare_once(tmp_path):
  arrays = test_fashion_mnist._fake_fashion_mnist(tmp_path / 'idx')
  start = time.monotonic()
  runs = _run_children(tmp_path, ['race'] * _NUM_PROCESSES)
  print(f'{_NUM_PROCESSES} processes: {time.monotonic() - start:.1f} s')
  results = []
  for returncode, stdout, stderr in runs:
    assert returncode == 0, f'{stdout}\n{stderr[-5000:]}'
    results.append(json.loads(stdout.strip().splitlines()[-1]))
  print('load_dataset seconds per process:',
        [round(r['seconds'], 2) for r in results])
  # One process prepared, the others waited and read its data.
  assert sum(r['prepared'] for r in results) == 1, results
  expected = _expected_digests(arrays)
  assert expected['train'] and expected['test']
  for result in results:
    assert result['digests'] == expected
  assert any(re.search(r'Waiting for pid \d+ on .* to finish preparing '
                       'fashion_mnist_local', stderr)
             for _, _, stderr in runs)
  assert sorted(os.listdir(tmp_path / 'tfds' / 'fashion_mnist_local')) == [
      '1.0.0']
  assert (tmp_path / 'tfds' / '.fashion_mnist_local.lock').is_file()


def test_crash_mid_prepare_is_not_taken_as_prepared(tmp_path):
  arrays = test_fashion_mnist._fake_fashion_mnist(tmp_path / 'idx')
  [(returncode, stdout, stderr)] = _run_children(tmp_path, ['crash'])
  assert returncode == -signal.SIGKILL, f'{stdout}\n{stderr[-5000:]}'
  # TFDS wrote into incomplete.XXXXXX_1.0.0, never renamed to 1.0.0.
  builder_dir = tmp_path / 'tfds' / 'fashion_mnist_local'
  leftovers = os.listdir(builder_dir)
  assert len(leftovers) == 1 and re.fullmatch(r'incomplete\.\w{6}_1\.0\.0',
                                              leftovers[0]), leftovers
  builder = fashion_mnist.FashionMnistLocal(data_dir=tmp_path / 'tfds',
                                            idx_dir=tmp_path / 'idx')
  assert not builder.is_prepared()
  # The dead process's lock is released; the next one prepares everything
  # and removes the leftovers.
  preparation.prepare_builder(builder, timeout_s=5)
  assert os.listdir(builder_dir) == ['1.0.0']
  for split, expected in _expected_digests(arrays).items():
    examples = builder.as_dataset(split=split).as_numpy_iterator()
    assert sorted(
        hashlib.sha1(e['image'].tobytes() + bytes([e['label']])).hexdigest()
        for e in examples) == expected


def test_lock_held_too_long_times_out(tmp_path, caplog):
  test_fashion_mnist._fake_fashion_mnist(tmp_path / 'idx')
  data_dir = tmp_path / 'tfds'
  data_dir.mkdir()
  lock_file = data_dir / '.fashion_mnist_local.lock'
  holder = subprocess.Popen([sys.executable, '-c', _HOLDER, str(lock_file)],
                            stdout=subprocess.PIPE, text=True)
  try:
    assert holder.stdout.readline().strip() == 'locked'
    builder = fashion_mnist.FashionMnistLocal(data_dir=data_dir,
                                              idx_dir=tmp_path / 'idx')
    start = time.monotonic()
    with caplog.at_level(logging.INFO, logger='absl'), pytest.raises(
        TimeoutError,
        match=rf'Timed out after 1 s waiting for another process \(pid '
        rf'{holder.pid} on .*\) to finish preparing .fashion_mnist_local. '
        r'in .*: it still holds the lock file .*\.fashion_mnist_local\.lock'):
      preparation.prepare_builder(builder, timeout_s=1.0)
    waited = time.monotonic() - start
    assert 1.0 <= waited < 10.0, waited
    assert f'Waiting for pid {holder.pid} on' in caplog.text
    assert not builder.is_prepared()
  finally:
    holder.kill()
    holder.wait()
  # Killed: the kernel released its lock.
  preparation.prepare_builder(builder, timeout_s=5.0)
  assert builder.is_prepared()
  assert len(list(builder.as_dataset(split='test'))) == 5
