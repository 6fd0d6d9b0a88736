"""Tests of glow_tf.kernels: names, the interface's plain defaults."""

import tensorflow as tf

from glow_tf import kernels


class InterfaceTest(tf.test.TestCase):

  def test_get_by_name_and_refuses_others(self):
    self.assertEqual(kernels.KERNELS, ('fast', 'matmul', 'reference'))
    for name in kernels.KERNELS:
      backend = kernels.get(name)
      self.assertIsInstance(backend, kernels.Kernels)
      self.assertEqual(backend.name, name)
      self.assertIs(kernels.get(backend), backend)
    self.assertTrue(kernels.get('fast').xla)
    self.assertFalse(kernels.get('matmul').xla)
    for bad in ('xla', None, 1):
      with self.assertRaisesRegex(ValueError, '`kernels` must be one of'):
        kernels.get(bad)

  def test_defaults_run_every_part_alone_on_the_whole_batch(self):
    backend = kernels.Kernels()
    parts = [object(), object()]
    self.assertEqual(backend.units(parts), parts)
    x = tf.ones([4, 2, 2, 1])
    calls = []
    out = backend.map_batch(lambda x: calls.append(x.shape) or x, x)
    self.assertIs(out, x)
    self.assertEqual(calls, [[4, 2, 2, 1]])
    # Any number of conditions (labels, a context) reach `fn` as given.
    labels, context = tf.constant([0, 1, 2, 3]), tf.zeros([4, 2, 2, 5])
    out = backend.map_batch(
        lambda x, *conditions: calls.append(conditions) or x, x, labels,
        None, context)
    self.assertIs(out, x)
    self.assertLen(calls, 2)
    self.assertIs(calls[1][0], labels)
    self.assertIsNone(calls[1][1])
    self.assertIs(calls[1][2], context)

  def test_fast_units_fold_an_act_norm_into_the_next_matrix(self):
    from glow_tf.bijectors import flow_step  # pylint: disable=g-import-not-at-top
    act_norm, conv, coupling = flow_step(4, hidden_channels=4).bijectors
    units = kernels.get('fast').units([act_norm, conv, coupling])
    self.assertLen(units, 2)
    self.assertIs(units[1], coupling)
    self.assertEqual(kernels.get('reference').units([act_norm, conv]),
                     [act_norm, conv])


if __name__ == '__main__':
  tf.test.main()
