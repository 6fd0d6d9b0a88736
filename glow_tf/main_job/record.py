"""`Record`: the demo's `metrics.json`, written again after every stage.

```
record.run('evaluate', stages.evaluate, settings, model)
    runs the stage, times it, catches its failure, then writes metrics.json
metrics["stages"]   {name: {'status': 'ok', 'seconds': s} or
                           {'status': 'failed', 'error': 'OSError: ...'}}
metrics["files"]    {what: path relative to the output folder}
```
"""

import time

from glow_tf.analysis import figures

__all__ = ['Record']


class Record:
  """The metrics of the demo, and the file that holds them.

  Args:
    path: the `metrics.json` to write.
    metrics: the first metrics (a JSON-able dict); `stages` and `files` are
      added if missing.
    log: callable taking a line (a failed stage is logged with its reason).
    start: `time.time()` at the start of the demo (for
      `metrics["wall_clock_seconds"]`).
  """

  def __init__(self, path, metrics, log, start):
    self.path, self.metrics = path, metrics
    metrics.setdefault('stages', {})
    metrics.setdefault('files', {})
    self._log, self._start = log, start

  def update(self, **values):
    """Sets metrics (written with the next stage's end)."""
    self.metrics.update(values)

  def add_file(self, what, relative_path):
    """Names a file or folder the demo wrote (relative to its output folder)."""
    self.metrics['files'][what] = relative_path

  def run(self, name, stage, *args):
    """Runs `stage(self, *args)`; records how it went; writes metrics.json.

    A failure of the stage, whatever it is, is logged and recorded, not
    raised: the other stages still run.

    Returns:
      What the stage returned, or None if it failed.
    """
    tick = time.time()
    result = None
    try:
      result = stage(self, *args)
    except Exception as e:  # pylint: disable=broad-except
      reason = f'{type(e).__name__}: {e}'
      self.metrics['stages'][name] = {'status': 'failed', 'error': reason}
      self._log(f'Stage {name!r} failed: {reason}')
    else:
      self.metrics['stages'][name] = {'status': 'ok',
                                      'seconds': round(time.time() - tick, 1)}
    self.metrics['wall_clock_seconds'] = time.time() - self._start
    figures.write_json(self.path, self.metrics)
    return result

  def failed_stages(self):
    """The names of the stages that failed, in the order they ran."""
    return [name for name, stage in self.metrics['stages'].items()
            if stage['status'] != 'ok']
