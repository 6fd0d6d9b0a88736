"""Tests of the argument checks behind Glow's methods (glow_tf/_glow_inputs.py)."""

from unittest import mock

import numpy as np
import pytest
import tensorflow as tf

from glow_tf import _glow_inputs as inputs

_SHAPE = (4, 4, 1)


def test_conditions_go_to_the_bijector():
  distribution_kwargs, bijector_kwargs = inputs.conditions_to_bijector(
      {'labels': 1, 'context': None, 'bijector_kwargs': {'other': 2},
       'distribution_kwargs': {'d': 3}})
  assert distribution_kwargs == {'d': 3}
  assert bijector_kwargs == {'other': 2, 'labels': 1}
  assert inputs.condition_kwargs(None, 5) == {'context': 5}


def test_bijector_kwargs_merge_with_the_keywords():
  assert inputs.merge_bijector_kwargs(None, 1, 2) == (1, 2)
  assert inputs.merge_bijector_kwargs({'context': 2}, 1, None) == (1, 2)
  with pytest.raises(ValueError, match=r"\['scale'\]"):
    inputs.merge_bijector_kwargs({'scale': 2}, None, None)
  with pytest.raises(ValueError, match='`labels` given twice'):
    inputs.merge_bijector_kwargs({'labels': 1}, 1, None)


@pytest.mark.parametrize('good', [0, 3, (2, 3), [1], np.int64(2),
                                  tf.constant([2])])
def test_sample_shapes_accepted(good):
  inputs.check_sample_shape(good)


@pytest.mark.parametrize('bad', [-1, 2.5, True, (2, -1), '3'])
def test_sample_shapes_refused(bad):
  with pytest.raises(ValueError, match='sample_shape'):
    inputs.check_sample_shape(bad)


@pytest.mark.parametrize('bad', [-0.1, float('nan'), float('inf'), 'hot',
                                 None])
def test_bad_temperatures_are_refused(bad):
  with pytest.raises(ValueError, match='temperature'):
    inputs.checked_temperature(bad, tf.float32)


def test_temperatures_pass_as_scalars():
  assert float(inputs.checked_temperature(0.7, tf.float32)) == pytest.approx(
      0.7)
  with pytest.raises(ValueError, match='scalar'):
    inputs.checked_temperature(tf.constant([0.5, 0.5]), tf.float32)
  with pytest.raises(ValueError, match='temperature'):
    inputs.checked_temperature(tf.constant(-1.0), tf.float32)


def test_a_symbolic_temperature_is_checked_when_it_runs():
  @tf.function(input_signature=[tf.TensorSpec([], tf.float32)])
  def scaled(t):
    return 2.0 * inputs.checked_temperature(t, tf.float32)

  assert float(scaled(tf.constant(0.5))) == 1.0
  with pytest.raises(tf.errors.InvalidArgumentError, match='>= 0'):
    scaled(tf.constant(-0.5))
  with pytest.raises(tf.errors.InvalidArgumentError):
    scaled(tf.constant(np.nan, tf.float32))


def test_images_must_be_model_space_floats_of_the_model():
  x = tf.zeros([2, *_SHAPE])
  assert inputs.check_images(x, _SHAPE, tf.float32) is not None
  with pytest.raises(ValueError, match='glow_tf.dequantize'):
    inputs.check_images(tf.zeros([2, *_SHAPE], tf.uint8), _SHAPE, tf.float32)
  with pytest.raises(ValueError, match='dtype float32'):
    inputs.check_images(tf.zeros([2, *_SHAPE], tf.float64), _SHAPE,
                        tf.float32)
  with pytest.raises(ValueError, match=r'\[\.\.\., 4, 4, 1\].*\(2, 4, 4, 3\)'):
    inputs.check_images(tf.zeros([2, 4, 4, 3]), _SHAPE, tf.float32)
  with pytest.raises(ValueError, match='images'):
    inputs.check_uint8_shape(tf.zeros([4, 4], tf.uint8), _SHAPE)


def test_unknown_rank_images_say_how_to_trace():
  @tf.function(input_signature=[tf.TensorSpec(None, tf.float32)])
  def check(x):
    return inputs.check_images(x, _SHAPE, tf.float32)

  with pytest.raises(ValueError, match='input_signature'):
    check.get_concrete_function()


def test_labels_must_match_the_batch():
  labels = inputs.labels_for([1, 2], [2], num_classes=3)
  np.testing.assert_array_equal(labels, [1, 2])
  with pytest.raises(ValueError, match=r'batch shape \[3\]'):
    inputs.labels_for([1, 2], [3], num_classes=3)
  assert inputs.labels_for([1, 2], [3], num_classes=None) == [1, 2]


def test_contexts_are_checked_against_the_model():
  with pytest.raises(ValueError, match='unconditional'):
    inputs.check_context(np.zeros([2, 3]), [2], None, tf.float32)
  assert inputs.check_context(None, [2], None, tf.float32) is None
  with pytest.raises(ValueError, match='conditional'):
    inputs.check_context(None, [2], (3,), tf.float32)
  with pytest.raises(ValueError, match='floats'):
    inputs.check_context(np.zeros([2, 3], np.int32), [2], (3,), tf.float32)
  with pytest.raises(ValueError, match='dtype float32'):
    inputs.check_context(tf.zeros([2, 3], tf.float64), [2], (3,),
                         tf.float32)
  with pytest.raises(ValueError, match=r'\(2, 3\).*\(5, 3\)'):
    inputs.check_context(np.zeros([5, 3]), [2], (3,), tf.float32)
  context = inputs.check_context(np.ones([2, 3]), [2], (3,), tf.float32)
  assert context.dtype == tf.float32
  np.testing.assert_array_equal(context, np.ones([2, 3]))


def test_one_context_is_broadcast_to_every_sample_and_checked_once():
  latents = tf.zeros([3, *_SHAPE])
  one = np.array([1., 2.])
  with mock.patch.object(inputs, 'check_context',
                         wraps=inputs.check_context) as check:
    context = inputs.context_per_sample(one, latents, (2,), tf.float32)
  assert check.call_count == 1
  np.testing.assert_array_equal(context, np.tile(one, [3, 1]))
  assert context.shape == (3, 2)
  per_sample = np.arange(6.).reshape(3, 2)
  np.testing.assert_array_equal(
      inputs.context_per_sample(per_sample, latents, (2,), tf.float32),
      per_sample)
  with pytest.raises(ValueError, match='context'):
    inputs.context_per_sample(np.zeros([4, 2]), latents, (2,), tf.float32)
