"""Tests of glow_tf.benchmarking.peak: the matmul peak is the best probe and never below a model.

No timing is asserted.
"""

from absl.testing import parameterized
import tensorflow as tf

import glow_tf
from glow_tf.benchmarking import peak
from glow_tf.benchmarking import run


class PeakTest(tf.test.TestCase, parameterized.TestCase):
  """The peak probes."""

  def test_model_matmul_shapes(self):
    config = glow_tf.preset('fashion_mnist', hidden_channels=400)
    # Level 0: 64 images x 14 x 14 pixels, 4 channels, 2 into the network.
    self.assertEqual(peak.model_matmul_shapes(config, batch_size=64),
                     ((12544, 18, 400), (12544, 400, 400)))

  def test_peak_is_the_best_probe_or_the_model_that_beat_it(self):
    probes = {'a': 10.0, 'b': 30.0}
    rows = [{'achieved_gflops': 20.0, 'torch_achieved_gflops': 25.0,
             'sample_achieved_gflops': 15.0}]
    results = {}
    run._peak(results, rows, probes)  # pylint: disable=protected-access
    self.assertEqual(results['peak_gflops'], 30.0)
    self.assertFalse(results['peak_underestimated'])
    self.assertAllClose([rows[0]['fraction_of_peak'],
                         rows[0]['torch_fraction_of_peak'],
                         rows[0]['sample_fraction_of_peak']],
                        [2 / 3, 5 / 6, 1 / 2])
    rows = [{'achieved_gflops': 40.0, 'tfp_achieved_gflops': 5.0}]
    run._peak(results, rows, probes)  # pylint: disable=protected-access
    self.assertTrue(results['peak_underestimated'])
    self.assertEqual(results['probe_peak_gflops'], 30.0)
    self.assertEqual(results['peak_gflops'], 40.0)
    self.assertEqual(rows[0]['fraction_of_peak'], 1.0)

  def test_probes_time_every_shape(self):
    probes = peak.matmul_probes([(64, 9, 16), (64, 16, 16)], repeats=1)
    self.assertEqual(list(probes)[-2:], ['64x9x16', '64x16x16'])
    self.assertEqual(list(probes)[:3], [peak.shape_name(s)
                                        for s in peak.SQUARE_SHAPES])
    for gflops in probes.values():
      self.assertGreater(gflops, 0)
