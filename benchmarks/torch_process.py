"""The PyTorch contender in a process of its own, driven over a pipe.

Timed inside the benchmark's process, `TorchGlow` trained at 8.6 images/s
at width 128 on the 2-core machine, where the same model ran at 92-220
images/s alone: TensorFlow's and PyTorch's (OpenMP) thread pools then share
the cores of one process. `TorchProcess` therefore runs the contender in a
spawned child process. Each timed call of the parent sends the task and
waits for the child's reply, so the interleaved rounds of
`benchmarks.timing` time both libraries exactly as before (the
pipe adds well under a millisecond to calls of 100 ms and more), but each
library owns its process and one of them waits while the other computes.

#### Examples

```python
with TorchProcess(config, images, batch_size=64, threads=2) as torch_glow:
  torch_glow.facts['params']        # its parameter count
  times = time_interleaved({'train/torch': lambda: torch_glow.call('train'),
                            ...})
```
"""

import dataclasses
import multiprocessing

import numpy as np

__all__ = ['TorchProcess', 'TorchProcessError']

_TASKS = ('train', 'sample')


class TorchProcessError(RuntimeError):
  """The PyTorch process failed, or stopped answering."""


class TorchProcess:
  """`TorchGlow` (its training step and sampler) in a child process.

  Args:
    config: the `GlowConfig` (float32) to build in PyTorch.
    images: float model-space images `[N, H, W, C]` (numpy or a tensor):
      the initialisation and training batch, as glow_tf's.
    batch_size: images per sampling call.
    threads: PyTorch's intra-op threads in the child.
    seed: seed of the initial weights.
    timeout: seconds to wait for the child's start and for each reply.

  Raises:
    TorchProcessError: the child could not build the model, or failed or
      timed out on a call.
  """

  def __init__(self, config, images, batch_size, threads, seed=0,
               timeout=600.0):
    self._timeout = float(timeout)
    context = multiprocessing.get_context('spawn')
    self._conn, child = context.Pipe()
    self._process = context.Process(
        target=_serve, daemon=True,
        args=(child, dataclasses.asdict(config),
              np.asarray(images, np.float32), int(batch_size), int(threads),
              int(seed)))
    self._process.start()
    child.close()
    try:
      self.facts = self._receive('starting')
    except Exception:
      self.close()
      raise

  def _receive(self, what):
    if not self._conn.poll(self._timeout):
      raise TorchProcessError(
          f'The PyTorch process did not answer within {self._timeout:g} s '
          f'({what}).')
    try:
      status, value = self._conn.recv()
    except EOFError as e:
      raise TorchProcessError(
          f'The PyTorch process exited ({what}); exit code '
          f'{self._process.exitcode}.') from e
    if status != 'ok':
      raise TorchProcessError(f'The PyTorch process failed ({what}): {value}')
    return value

  @property
  def pid(self):
    """The child's process id."""
    return self._process.pid

  def call(self, task):
    """Runs one `'train'` step or one `'sample'` draw; returns its summary.

    `'train'` returns the loss (a float), `'sample'` the samples' shape.
    """
    if task not in _TASKS:
      raise ValueError(f'task must be one of {_TASKS}, got {task!r}.')
    self._conn.send(task)
    return self._receive(task)

  def close(self):
    """Stops the child (politely, then by force)."""
    if self._process.is_alive():
      try:
        self._conn.send('stop')
      except (BrokenPipeError, OSError):
        pass
      self._process.join(10)
      if self._process.is_alive():
        self._process.kill()
        self._process.join(10)
    self._conn.close()

  def __enter__(self):
    return self

  def __exit__(self, *exc_info):
    self.close()


def _serve(conn, config_fields, images, batch_size, threads, seed):
  """The child: builds the contender, then answers tasks until 'stop'."""
  # pylint: disable=g-import-not-at-top,broad-except
  try:
    from benchmarks import torch_contender
    from glow_tf.config import GlowConfig
    torch = torch_contender.import_torch()
    if torch is None:
      raise ImportError('PyTorch is not installed: '
                        f'{torch_contender.INSTALL_HINT}')
    torch_contender.set_torch_threads(threads)
    model, calls = torch_contender.contenders(GlowConfig(**config_fields),
                                              images, batch_size, seed=seed)
    conn.send(('ok', {'params': model.count_parameters(),
                      'threads': torch.get_num_threads(),
                      'version': torch.__version__}))
  except Exception as e:
    conn.send(('error', f'{type(e).__name__}: {e}'))
    return
  while True:
    try:
      task = conn.recv()
    except EOFError:  # The parent went away.
      return
    if task == 'stop':
      return
    try:
      out = calls[task]()
      value = float(out) if task == 'train' else list(out.shape)
      conn.send(('ok', value))
    except Exception as e:
      conn.send(('error', f'{type(e).__name__}: {e}'))
