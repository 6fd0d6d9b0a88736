"""Folders the package writes into (private)."""

import tensorflow as tf

__all__ = ['make_dirs']


def make_dirs(path, name):
  """Creates the directory `path` (and its parents), or a NotADirectoryError.

  `tf.io.gfile.makedirs` fails with a bare `FailedPreconditionError` when
  `path` or one of its parents is a file; this names the argument instead.
  """
  try:
    tf.io.gfile.makedirs(path)
  except (tf.errors.OpError, OSError) as e:
    reason = getattr(e, 'message', None) or str(e)
    raise NotADirectoryError(
        f'`{name}` must be a directory (or a path where one can be made), '
        f'got {path!r}: {reason}') from None
  if not tf.io.gfile.isdir(path):
    raise NotADirectoryError(f'`{name}` must be a directory, got {path!r}, '
                             'which is a file.')
