"""Tests of glow_tf.machine: the machine a figure was measured on, and its matmul peak.

No timing is asserted.
"""

import os

from absl.testing import parameterized
import tensorflow as tf

import glow_tf
import glow_tf.kernels.taps
from glow_tf import machine


class MachineTest(tf.test.TestCase, parameterized.TestCase):
  """The machine's description and its matmul peak probes."""

  def test_machine_info_reads_this_machine(self):
    info = machine.machine_info()
    self.assertEqual(info['nproc'], len(os.sched_getaffinity(0)))
    with open('/proc/cpuinfo') as f:
      cpuinfo = f.read()
    self.assertEqual(info['avx512'],
                     ' avx512f ' in cpuinfo.replace('\n', ' '))
    self.assertTrue(info['cpu_model'])
    self.assertIn(info['cpu_model'], cpuinfo)
    line = machine.machine_description()
    self.assertStartsWith(line,
                          f'{info["nproc"]} CPU cores ({info["cpu_model"]})')
    self.assertIn('AVX-512', line)
    self.assertNotEqual('no AVX-512' in line, info['avx512'])

  def test_model_matmul_shapes(self):
    config = glow_tf.preset('fashion_mnist', hidden_channels=400)
    # Level 0: 64 images x 14 x 14 pixels, 4 channels, 2 into the network.
    self.assertEqual(machine.model_matmul_shapes(config, batch_size=64),
                     ((12544, 18, 400), (12544, 400, 400)))

  def test_model_matmul_shapes_wants_a_config(self):
    with self.assertRaisesRegex(ValueError, 'must be a glow_tf.GlowConfig'):
      machine.model_matmul_shapes({'hidden_channels': 400})

  def test_probes_time_every_shape(self):
    probes = machine.matmul_probes([(64, 9, 16), (64, 16, 16)], repeats=1)
    self.assertEqual(list(probes)[-2:], ['64x9x16', '64x16x16'])
    self.assertEqual(list(probes)[:3], [machine.shape_name(s)
                                        for s in machine.SQUARE_SHAPES])
    for gflops in probes.values():
      self.assertGreater(gflops, 0)

  @parameterized.parameters((2, 16), (16, 4), (3, 3), (4, 36))
  def test_conv3x3_matmul_is_the_matmul_the_network_runs(self, c_in, c_out):
    # The probe's (and the FLOP count's) shape is the one matmul in the
    # traced convolution.
    x = tf.TensorSpec([2, 5, 6, c_in], tf.float32)
    kernel = tf.zeros([3, 3, c_in, c_out])
    graph = tf.function(
        lambda x: glow_tf.kernels.taps.conv_as_matmul(x, kernel)
    ).get_concrete_function(x).graph
    matmuls = [op for op in graph.get_operations() if op.type == 'MatMul']
    self.assertLen(matmuls, 1)
    a, b = (t.shape.as_list() for t in matmuls[0].inputs)
    self.assertEqual((a[0], a[1], b[1]),
                     machine.conv3x3_matmul(60, c_in, c_out))
    self.assertEqual(glow_tf.kernels.taps_on_output(c_in, c_out),
                     c_in > c_out)


if __name__ == '__main__':
  tf.test.main()
