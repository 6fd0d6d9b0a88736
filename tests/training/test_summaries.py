"""Tests of glow_tf.training.summaries."""

import os

import numpy as np
import pytest
import tensorflow as tf

from glow_tf.training import summaries


def test_image_grid_tiles_row_by_row():
  images = tf.reshape(tf.range(6 * 2 * 3, dtype=tf.int32), [6, 2, 3, 1])
  grid = summaries.image_grid(images, num_rows=2)
  assert grid.shape == (1, 4, 9, 1)
  np.testing.assert_array_equal(grid[0, :2, 3:6, 0], images[1, :, :, 0])
  np.testing.assert_array_equal(grid[0, 2:, :3, 0], images[3, :, :, 0])
  assert summaries.image_grid(tf.zeros([16, 2, 2, 1])).shape == (1, 8, 8, 1)
  assert summaries.image_grid(tf.zeros([6, 2, 2, 1])).shape == (1, 4, 6, 1)
  with pytest.raises(ValueError, match='positive divisor'):
    summaries.image_grid(tf.zeros([6, 2, 2, 1]), num_rows=4)
  with pytest.raises(ValueError, match=r'must be \[N, H, W, C\]'):
    summaries.image_grid(tf.zeros([2, 2, 1]))


def test_records_in_tensorboard_format(tmp_path):
  writer = tf.summary.create_file_writer(str(tmp_path))
  with writer.as_default(step=3):
    assert summaries.scalar('loss', 1.5)
    assert summaries.image('samples', tf.fill([2, 4, 5, 1], tf.constant(
        200, tf.uint8)))
  writer.close()
  values = {}
  for name in os.listdir(tmp_path):
    for record in tf.data.TFRecordDataset(str(tmp_path / name)):
      event = tf.compat.v1.Event.FromString(record.numpy())
      for value in event.summary.value:
        values[value.tag] = (event.step, value.metadata.plugin_data.plugin_name,
                             tf.make_ndarray(value.tensor))
  step, plugin, tensor = values['loss']
  assert (step, plugin, float(tensor)) == (3, 'scalars', 1.5)
  step, plugin, tensor = values['samples']
  assert (step, plugin) == (3, 'images')
  assert list(tensor[:2]) == [b'5', b'4'] and len(tensor) == 4  # w, h, 2 PNGs
  png = tf.io.decode_png(tensor[2]).numpy()
  assert png.shape == (4, 5, 1) and (png == 200).all()
  with pytest.raises(ValueError, match='must be uint8'):
    summaries.image('x', tf.zeros([1, 2, 2, 1]))
