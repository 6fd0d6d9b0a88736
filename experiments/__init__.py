"""Thin absl binaries over the glow_tf library (run `python -m experiments.<name>`
or `python experiments/<name>.py`).

Importing this package loads TensorFlow with its start-up lines (the C++
INFO lines about oneDNN, CUDA and CPU instructions, which no environment
variable of TensorFlow 2.21 silences) kept off the console, unless the
command line asks for `--verbosity`. Errors still show: an import that fails
raises after the console is restored.
"""

import os
import sys


def _load_tensorflow_quietly():
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  if any(arg.startswith(('--verbosity', '-v')) for arg in sys.argv[1:]):
    return
  sys.stderr.flush()
  saved = os.dup(2)
  devnull = os.open(os.devnull, os.O_WRONLY)
  os.dup2(devnull, 2)
  try:
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    tf.config.list_physical_devices()  # Device discovery logs too.
  finally:
    os.dup2(saved, 2)
    os.close(saved)
    os.close(devnull)


_load_tensorflow_quietly()
