"""Tests of glow_tf._checks: checks whose messages name the argument."""

import re

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from glow_tf import _checks


class _Named:
  """Stands for a bijector: the event checks only read its name."""
  name = 'my_bijector'


class ChecksTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(1, 7, np.int32(3), np.int64(12), np.uint8(2))
  def test_positive_int_returns_a_python_int(self, value):
    result = _checks.positive_int(value, 'num_steps')
    self.assertIs(type(result), int)
    self.assertEqual(result, int(value))

  @parameterized.parameters(0, -1, True, False, 2.0, '3', None, np.float32(2))
  def test_positive_int_rejects(self, value):
    message = '`num_steps` must be a positive integer, got ' + re.escape(
        repr(value))
    with self.assertRaisesRegex(ValueError, message):
      _checks.positive_int(value, 'num_steps')

  def test_positive_int_allow_zero(self):
    self.assertEqual(_checks.positive_int(0, 'warmup', allow_zero=True), 0)
    self.assertEqual(_checks.positive_int(np.int64(0), 'warmup',
                                          allow_zero=True), 0)
    with self.assertRaisesRegex(
        ValueError, '`warmup` must be a non-negative integer, got -1'):
      _checks.positive_int(-1, 'warmup', allow_zero=True)
    with self.assertRaisesRegex(ValueError, 'non-negative integer, got True'):
      _checks.positive_int(True, 'warmup', allow_zero=True)

  @parameterized.parameters(0.5, 3, np.float32(0.25), np.int64(2), 1e-300)
  def test_positive_float_returns_a_python_float(self, value):
    result = _checks.positive_float(value, 'learning_rate')
    self.assertIs(type(result), float)
    self.assertEqual(result, float(value))

  @parameterized.parameters(0, 0.0, -1, -0.5, float('nan'), float('inf'),
                            np.float64('inf'), True, '1.0', None)
  def test_positive_float_rejects(self, value):
    with self.assertRaisesRegex(
        ValueError, '`learning_rate` must be a positive float, got '):
      _checks.positive_float(value, 'learning_rate')

  @parameterized.parameters('float16', 'bfloat16', 'float32', 'float64',
                            tf.float64, np.float32)
  def test_float_dtype_returns_the_tf_dtype(self, dtype):
    self.assertEqual(_checks.float_dtype(dtype), tf.as_dtype(dtype))
    self.assertIsInstance(_checks.float_dtype(dtype), tf.DType)

  @parameterized.parameters('int32', tf.uint8, 'complex64', tf.bool)
  def test_float_dtype_rejects(self, dtype):
    with self.assertRaisesRegex(
        ValueError, f'`dtype` must be a float dtype, got '
        f'{tf.as_dtype(dtype).name}'):
      _checks.float_dtype(dtype)

  def test_seed_pair(self):
    self.assertEqual(_checks.seed_pair(5), [0, 5])
    self.assertEqual(_checks.seed_pair(np.int64(7)), [0, 7])
    for good in ([1, 2], (3, 4), np.array([5, 6]), tf.constant([7, 8])):
      self.assertIs(_checks.seed_pair(good), good)
    for bad, problem in (('a', 'dtype string'), (1.5, 'dtype float64'),
                         (True, 'dtype bool'), ([1, 2, 3], 'shape [3]'),
                         (tf.constant([1.0, 2.0]), 'dtype float32'),
                         ([[1, 2]], 'shape [1, 2]')):
      with self.assertRaisesRegex(
          ValueError, r'`noise_seed` must be an int or a stateless seed of '
          rf'two integers \(shape \[2\]\), got .*\({re.escape(problem)}\)'):
        _checks.seed_pair(bad, 'noise_seed')

  def test_one_of(self):
    choices = ('lu_conv', 'conv', 'shuffle')
    self.assertEqual(_checks.one_of('conv', 'permutation', choices), 'conv')
    with self.assertRaisesRegex(
        ValueError, r"`permutation` must be one of \['lu_conv', 'conv', "
        r"'shuffle'\], got 'LU'"):
      _checks.one_of('LU', 'permutation', choices)

  def test_check_event(self):
    bijector = _Named()
    x = tf.zeros([2, 4, 4, 3])
    self.assertIs(_checks.check_event(x, bijector, 3, min_rank=3), x)
    with self.assertRaisesRegex(
        ValueError, r'my_bijector: expected 3 channels \(last axis\), got '
        r'shape \(2, 4, 4, 2\)'):
      _checks.check_event(tf.zeros([2, 4, 4, 2]), bijector, 3, min_rank=3)
    with self.assertRaisesRegex(
        ValueError, r'my_bijector: expected a tensor of rank >= 3 shaped '
        r'\[\.\.\., H, W, C\]'):
      _checks.check_event(tf.zeros([4, 3]), bijector, 3, min_rank=3)
    with self.assertRaisesRegex(ValueError, r'rank >= 1 shaped \[\.\.\., C\]'):
      _checks.check_event(tf.zeros([]), bijector, 3, min_rank=1)

  def test_check_event_lets_unknown_dimensions_through(self):
    bijector = _Named()

    @tf.function(input_signature=[tf.TensorSpec(None, tf.float32)])
    def unknown_rank(x):
      return _checks.check_event(x, bijector, 3, min_rank=3)

    @tf.function(input_signature=[tf.TensorSpec([None, 4, None], tf.float32)])
    def unknown_channels(x):
      return _checks.check_event(x, bijector, 3, min_rank=3)

    self.assertAllEqual(unknown_rank(tf.ones([2, 2])), tf.ones([2, 2]))
    self.assertAllEqual(unknown_channels(tf.ones([1, 4, 5])),
                        tf.ones([1, 4, 5]))

  @parameterized.parameters(0, 0.0, 0.01, 3, np.float32(0.5), np.int64(2))
  def test_non_negative_float_returns_a_python_float(self, value):
    result = _checks.non_negative_float(value, 'class_loss_weight')
    self.assertIs(type(result), float)
    self.assertEqual(result, float(value))

  @parameterized.parameters(-0.01, -1, float('nan'), float('inf'), True,
                            '0.1', None)
  def test_non_negative_float_rejects(self, value):
    with self.assertRaisesRegex(
        ValueError, '`class_loss_weight` must be a non-negative float, got ' +
        re.escape(repr(value))):
      _checks.non_negative_float(value, 'class_loss_weight')

  def test_check_context(self):
    like = tf.zeros([2, 4, 4, 5], tf.float64)
    context = tf.ones([2, 4, 4, 3], tf.float64)
    self.assertIs(_checks.check_context(context, 3, like, 'coupling'),
                  context)
    # A NumPy context of another float dtype is converted.
    converted = _checks.check_context(np.ones([2, 4, 4, 3], np.float32), 3,
                                      like, 'coupling')
    self.assertEqual(converted.dtype, tf.float64)
    self.assertIsNone(_checks.check_context(None, 0, like, 'coupling'))
    for context, channels, message in (
        (None, 3, r'coupling: this bijector is conditional '
         r'\(context_channels=3\): pass `context`, a tensor shaped like its '
         r'input but with 3 channels, \[\.\.\., H, W, 3\]'),
        (context, 0, r'coupling: this bijector is unconditional '
         r'\(context_channels=0\) but got a `context`'),
        (tf.ones([2, 4, 4, 3]), 3, r'coupling: `context` must have dtype '
         r"float64 \(its input's\), got float32"),
        (tf.ones([2, 4, 4, 2], tf.float64), 3,
         r'coupling: `context` must have shape \(2, 4, 4, 3\) \(the batch '
         r'and spatial shape \(2, 4, 4\) of the input, 3 channels\), got '
         r'shape \(2, 4, 4, 2\)'),
        (tf.ones([4, 4, 3], tf.float64), 3, r'got shape \(4, 4, 3\)')):
      with self.assertRaisesRegex(ValueError, message):
        _checks.check_context(context, channels, like, 'coupling')

  def test_check_context_lets_unknown_dimensions_through(self):

    @tf.function(input_signature=[tf.TensorSpec([None, 4, 4, 5], tf.float64),
                                  tf.TensorSpec([None, None, 4, 3],
                                                tf.float64)])
    def unknown(like, context):
      return _checks.check_context(context, 3, like, 'coupling')

    context = tf.ones([2, 4, 4, 3], tf.float64)
    self.assertAllEqual(unknown(tf.zeros([2, 4, 4, 5], tf.float64), context),
                        context)


if __name__ == '__main__':
  tf.test.main()
