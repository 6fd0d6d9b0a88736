"""Tests of glow_tf._files."""

import tensorflow as tf

from glow_tf import _files


class FilesTest(tf.test.TestCase):

  def test_make_dirs(self):
    root = self.get_temp_dir()
    path = f'{root}/a/b'
    _files.make_dirs(path, 'model_dir')
    self.assertTrue(tf.io.gfile.isdir(path))
    _files.make_dirs(path, 'model_dir')  # there already: fine
    with open(f'{root}/file', 'w'):
      pass
    for bad in (f'{root}/file', f'{root}/file/below'):
      with self.assertRaisesRegex(NotADirectoryError,
                                  '`model_dir` must be a directory'):
        _files.make_dirs(bad, 'model_dir')


if __name__ == '__main__':
  tf.test.main()
