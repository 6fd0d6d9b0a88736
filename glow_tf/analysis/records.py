"""Records of real runs for `docs/results.json`, with the machine they ran on.

```
{"runs": [{"name", "commands", "commit", "wall_clock_seconds",
           "test_bits_per_dim", "permutation", "coupling", "machine", "date",
           ...}, ...]}
```
`commands` lists every command that produced the run's figure, in order (one
for most runs; a resumed training lists each), and `commit` the code's git
commit (with `+dirty` when the working tree had changes).
One entry per run; `record_runs` replaces entries of the same name and
keeps the others, so each experiment can add its own.
"""

import datetime
import os
import shlex
import subprocess
import sys

from glow_tf.machine import machine_description
from glow_tf.analysis import figures

__all__ = ['machine_description', 'command_line', 'git_commit', 'run_record',
           'record_runs']

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def command_line(argv=None, module=None):
  """The command that ran this process, as one shell-quoted line.

  Args:
    argv: the arguments (default `sys.argv`).
    module: for `python -m <module>` binaries, the module's name; the
      command is then written `python -m <module> <args>`.
  """
  argv = list(sys.argv if argv is None else argv)
  if module:
    return shlex.join(['python', '-m', module] + argv[1:])
  return shlex.join(['python'] + argv)


def git_commit(repo=_REPO_ROOT):
  """The commit of the code (`'<sha>'`, `'<sha>+dirty'`), or None outside git."""
  try:
    sha = subprocess.run(['git', '-C', repo, 'rev-parse', 'HEAD'],
                         capture_output=True, text=True, check=True,
                         timeout=10).stdout.strip()
    dirty = subprocess.run(['git', '-C', repo, 'status', '--porcelain',
                            '--untracked-files=no'], capture_output=True,
                           text=True, check=True, timeout=10).stdout.strip()
  except (OSError, subprocess.SubprocessError):
    return None
  return f'{sha}+dirty' if dirty else sha


def run_record(name, command, wall_clock_seconds, test_bits_per_dim, config,
               **extra):
  """One entry of `docs/results.json` (see the module docstring).

  Args:
    name: the run's name (an entry of that name is replaced).
    command: the command that produced it, or a list of commands.
    wall_clock_seconds: the wall clock of the command(s).
    test_bits_per_dim: the figure (None when there is none).
    config: its `GlowConfig`.
    **extra: more fields (steps, batch size, ...).
  """
  commands = [command] if isinstance(command, str) else list(command)
  record = {'name': str(name), 'commands': [str(c) for c in commands],
            'commit': git_commit(),
            'wall_clock_seconds': round(float(wall_clock_seconds), 1),
            'test_bits_per_dim': (None if test_bits_per_dim is None
                                  else round(float(test_bits_per_dim), 4)),
            'permutation': config.permutation, 'coupling': config.coupling,
            'num_levels': config.num_levels, 'num_steps': config.num_steps,
            'hidden_channels': config.hidden_channels,
            'n_bits': config.n_bits,
            'machine': machine_description(),
            'date': datetime.datetime.now(datetime.timezone.utc).strftime(
                '%Y-%m-%d %H:%M UTC')}
  # Settings off the paper's defaults, only where set (older records lack
  # them, and they were off there).
  if config.edge_padding:
    record['edge_padding'] = True
  if config.network_dtype is not None:
    record['network_dtype'] = config.network_dtype
  if config.act_norm_log_scale_factor != 1.0:
    record['act_norm_log_scale_factor'] = config.act_norm_log_scale_factor
  record.update(extra)
  return record


def record_runs(path, records):
  """Adds `records` to the `{"runs": [...]}` file at `path`, by name."""
  runs = []
  if os.path.exists(path):
    runs = figures.read_json(path).get('runs', [])
  names = {r['name'] for r in records}
  runs = [r for r in runs if r.get('name') not in names] + list(records)
  figures.write_json(path, {'runs': runs})
  return path
