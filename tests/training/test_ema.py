"""Tests of glow_tf.training.ema."""

import numpy as np
import pytest
import tensorflow as tf

import glow_tf
from glow_tf.training import ema
from tests import fixtures


class _Pair(tf.Module):

  def __init__(self, value, name):
    super().__init__(name=name)
    with self.name_scope:
      self.weight = tf.Variable([value, value], name='weight')
      self.flag = tf.Variable(False, trainable=False, name='flag')


def test_effective_decay_warms_up():
  np.testing.assert_allclose(
      [float(ema.effective_decay(0.999, t)) for t in (0, 10, 10_000)],
      [0.1, 11 / 20, 0.999], rtol=1e-6)


def test_reset_copies_and_update_averages():
  model, average = _Pair(1.0, 'model'), _Pair(0.0, 'average')
  model.flag.assign(True)
  averaging = ema.ExponentialMovingAverage(model, average, decay=0.5)
  averaging.reset()
  np.testing.assert_array_equal(average.weight.numpy(), [1.0, 1.0])
  assert bool(average.flag.numpy())
  model.weight.assign([3.0, 5.0])
  averaging.update(num_updates=100)  # decay min(0.5, 101/110) = 0.5
  np.testing.assert_allclose(average.weight.numpy(), [2.0, 3.0])
  averaging.update(num_updates=0)    # decay 0.1
  np.testing.assert_allclose(average.weight.numpy(), [2.9, 4.8])


def test_mismatched_models_and_bad_decay_raise():
  with pytest.raises(ValueError, match='same architecture'):
    ema.ExponentialMovingAverage(glow_tf.Glow(fixtures.tiny_config()),
                                 glow_tf.Glow(fixtures.tiny_config(num_steps=2)),
                                 decay=0.9)
  with pytest.raises(ValueError, match=r'decay must be a float in \(0, 1\)'):
    ema.ExponentialMovingAverage(_Pair(1.0, 'a'), _Pair(1.0, 'b'), decay=1.0)
