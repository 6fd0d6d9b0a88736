"""Tests of glow_tf.analysis.curves: scalars from event files."""

import numpy as np
import tensorflow as tf

from glow_tf import analysis


def test_read_scalars(tmp_path):
  writer = tf.summary.create_file_writer(str(tmp_path / 'logs' / 'eval'))
  with writer.as_default():
    for step in (0, 5):
      tf.summary.write('bits_per_dim', 4.0 - step / 10, step=step)
  writer.flush()
  curves = analysis.read_scalars(str(tmp_path / 'logs'),
                                 prefix_with_subdir=True)
  steps, values = zip(*curves['eval/bits_per_dim'])
  assert steps == (0, 5)
  np.testing.assert_allclose(values, [4.0, 3.5], rtol=1e-6)
  assert analysis.read_scalars(str(tmp_path / 'nothing')) == {}
