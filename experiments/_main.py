"""How every binary under experiments/ runs: quiet, clear errors, progress lines.

```
if __name__ == '__main__':
  _main.run(main)
```
* the console shows the binary's own progress lines (`_main.progress`) and
  warnings; library INFO chatter (absl, TensorFlow, tensorflow-datasets'
  progress bars) only with `--verbosity=0` or more;
* a bad flag or input ends the binary with one line,
  `<binary>: error: <message>`, and exit status 1 (2 for usage errors), not
  a traceback; `--verbosity=1` shows the traceback too.
"""

import os
import sys

from absl import app
from absl import flags
from absl import logging

__all__ = ['run', 'progress', 'EXPECTED_ERRORS']

# Errors that a user's flags or data can cause; anything else is a bug and
# keeps its traceback.
EXPECTED_ERRORS = (ValueError, FileNotFoundError, NotADirectoryError,
                   PermissionError, RuntimeError, ImportError)


def progress(line):
  """Prints one progress line at once."""
  print(line, flush=True)


def _from_tfds(record):
  """False for tensorflow-datasets' own warnings (folder listings and such)."""
  return not (record.levelno < logging.converter.STANDARD_ERROR and
              f'{os.sep}tensorflow_datasets{os.sep}' in record.pathname)


def _quiet():
  """Hides INFO chatter unless --verbosity was given."""
  if flags.FLAGS['verbosity'].present:
    return
  logging.set_verbosity(logging.WARNING)
  logging.get_absl_logger().addFilter(_from_tfds)
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  tf.get_logger().setLevel('ERROR')
  try:
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  except ImportError:
    return
  tfds.disable_progress_bar()


def run(main):
  """`app.run(main)` with the quiet console and one-line errors above."""
  name = os.path.splitext(os.path.basename(sys.argv[0]))[0]

  def wrapped(argv):
    _quiet()
    try:
      return main(argv)
    except app.UsageError as e:
      if flags.FLAGS.verbosity >= 1:
        raise
      print(f'{name}: usage error: {e}', file=sys.stderr)
      sys.exit(2)
    except EXPECTED_ERRORS as e:
      if flags.FLAGS.verbosity >= 1:
        raise
      print(f'{name}: error: {e}', file=sys.stderr)
      sys.exit(1)

  app.run(wrapped)
