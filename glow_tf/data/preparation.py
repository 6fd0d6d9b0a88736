"""Preparing a TFDS data set once for all the processes sharing its folder.

`prepare_builder` prepares under an exclusive lock file,
`<data_dir>/.<builder name>.lock`, that names the process holding it: one
process prepares, the others wait and then read what it wrote.
"""

import contextlib
import fcntl
import io
import os
import socket
import time

from absl import logging

__all__ = ['prepare_builder']

_PREPARE_TIMEOUT_S = 600.0
_PREPARE_POLL_S = 0.2
_PREPARE_LOG_EVERY_S = 10.0


def _download_and_prepare(builder):
  """`builder.download_and_prepare()`; its printed notes only at absl INFO."""
  logging.info('Preparing %s in %s (once).', builder.name,
               os.fspath(builder.data_dir_root))
  if logging.level_info():
    builder.download_and_prepare()
    return
  with contextlib.redirect_stdout(io.StringIO()):
    builder.download_and_prepare()


def prepare_builder(builder, timeout_s=_PREPARE_TIMEOUT_S):
  """`builder.download_and_prepare()`, once for all processes sharing its dir.

  Several processes (the workers of `MultiWorkerMirroredStrategy`, or two
  trainings started together) may prepare the same data set into the same
  `data_dir` at once. TFDS writes each preparation into its own
  `incomplete.XXXXXX_<version>` folder and renames it to `<version>` at the
  end, so a reader never sees half-written data and a crashed preparation is
  never taken as complete; but every process but the first to finish then
  fails to rename its folder (`FileExistsError`). Here the check and the
  preparation run under an exclusive `fcntl.flock` on
  `<data_dir>/.<name>.lock`: the first process prepares, the others wait,
  then read what it wrote. The kernel releases the lock when its holder
  exits, even on a crash or `kill -9`; the folders such a crash leaves behind
  are removed by the next preparation, so every process that prepares into
  this `data_dir` must go through this function (a bare
  `builder.download_and_prepare()` running at the same time could lose its
  `incomplete.*` folder). The lock file itself stays. Paths with a
  `scheme://` (e.g. `gs://`) are prepared without a lock.

  Args:
    builder: a `tfds.core.DatasetBuilder`, e.g. `FashionMnistLocal`.
    timeout_s: how long to wait for the lock before giving up; progress is
      logged (absl, INFO) every 10 s while waiting.

  Returns:
    `builder`, prepared, its `info` read from disk.

  Raises:
    TimeoutError: if another process holds the lock for more than
      `timeout_s` seconds; the message names it and the lock file.
    Whatever `builder.download_and_prepare()` raises.

  #### Examples

  ```python
  builder = prepare_builder(FashionMnistLocal(data_dir='/tmp/tfds'))
  ds = builder.as_dataset(split='train')
  ```
  """
  if builder.is_prepared():
    return builder
  root = os.fspath(builder.data_dir_root)
  if '://' in root:
    logging.warning('Preparing %s in %s without a lock: concurrent processes '
                    'may collide.', builder.name, root)
    _download_and_prepare(builder)
    return builder
  os.makedirs(root, exist_ok=True)
  lock_path = os.path.join(root, f'.{builder.name}.lock')
  with _preparation_lock(lock_path, builder.name, root, timeout_s):
    if builder.is_prepared():  # By the process we waited for.
      builder.info.read_from_directory(builder.data_dir)
    else:
      _remove_interrupted_preparations(builder)
      _download_and_prepare(builder)
  return builder


@contextlib.contextmanager
def _preparation_lock(lock_path, name, root, timeout_s):
  """Holds the exclusive lock on `lock_path`; the file names its holder.

  The file says `pid <pid> on <host>` while this process holds the lock, so
  that a waiting process can name it, and is emptied before the lock is
  released (a later waiter must not name this process).
  """
  with open(lock_path, 'a+', encoding='utf-8') as lock_file:
    _wait_for_lock(lock_file, lock_path, name, root, timeout_s)
    try:
      lock_file.truncate(0)
      lock_file.write(f'pid {os.getpid()} on {socket.gethostname()}\n')
      lock_file.flush()
      yield
    finally:
      lock_file.truncate(0)
      lock_file.flush()
      fcntl.flock(lock_file, fcntl.LOCK_UN)


def _wait_for_lock(lock_file, lock_path, name, root, timeout_s):
  """Takes `fcntl.flock(lock_file)`, polling; logs every 10 s while waiting.

  Raises:
    TimeoutError: another process held it for more than `timeout_s` seconds.
  """
  start = time.monotonic()
  last_log = start - _PREPARE_LOG_EVERY_S  # Logs the first wait at once.
  while True:
    try:
      fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
      return
    except BlockingIOError:
      pass
    lock_file.seek(0)
    holder = lock_file.read().strip() or 'unknown process'
    waited = time.monotonic() - start
    if waited >= timeout_s:
      raise TimeoutError(
          f'Timed out after {timeout_s:g} s waiting for another process '
          f'({holder}) to finish preparing {name!r} in {root!r}: it still '
          f'holds the lock file {lock_path!r}. The lock is released when '
          'that process ends, even if it crashes; if it is stuck, stop it '
          'and run again.')
    if time.monotonic() - last_log >= _PREPARE_LOG_EVERY_S:
      last_log = time.monotonic()
      logging.info('Waiting for %s to finish preparing %s in %s (%.0f s of '
                   '%.0f s).', holder, name, root, waited, timeout_s)
    time.sleep(_PREPARE_POLL_S)


def _remove_interrupted_preparations(builder):
  """Removes the `incomplete.*` folders that crashed preparations left."""
  for stale in builder.data_path.parent.glob(
      f'incomplete.*_{builder.data_path.name}'):
    logging.info('Removing %s, left by an interrupted preparation.', stale)
    stale.rmtree()
