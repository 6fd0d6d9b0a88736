"""Tests of benchmarks.run: the benchmark runs without PyTorch and says so.

No timing is asserted.
"""

from unittest import mock

from absl.testing import parameterized
import tensorflow as tf

import benchmarks
import glow_tf
from benchmarks import run
from benchmarks import torch_contender


class RunTest(tf.test.TestCase, parameterized.TestCase):
  """run_benchmark."""

  def test_runs_without_pytorch_and_says_so_once(self):
    messages = []
    config = glow_tf.GlowConfig(image_shape=(8, 8, 1), num_levels=2,
                                num_steps=1, hidden_channels=4)
    with mock.patch.object(torch_contender, 'import_torch',
                           return_value=None):
      results = run.run_benchmark(
          widths=(4,), base=config, batch_size=2, rounds=1,
          calls_per_round=1, memory_steps=(), extras=False,
          log=messages.append)
    skipped = [m for m in messages if 'PyTorch' in m]
    self.assertLen(skipped, 1)
    self.assertIn('skipped', skipped[0])
    self.assertIn("pip install -e '.[bench]'", skipped[0])
    self.assertEqual(results['torch'], {'skipped': skipped[0],
                                        'reason': 'not installed'})
    row, = results['configs']
    self.assertGreater(row['train_speedup_vs_tfp'], 0)
    # Sampling is one pass of the flow: a third of the training FLOPs.
    self.assertAllClose(3 * row['sample_gflop_per_image'],
                        row['train_gflop_per_image'])
    self.assertAllClose(row['sample_fraction_of_peak'],
                        row['sample_achieved_gflops'] / results['peak_gflops'])
    for task in ('train', 'sample'):
      # The median per-round ratio lies within the lowest and highest.
      low, high = row[f'{task}_speedup_vs_tfp_range']
      self.assertBetween(row[f'{task}_speedup_vs_tfp'], low, high)
    self.assertNotIn('torch_params', row)
    self.assertNotIn('train_speedup_vs_torch', row)
    self.assertNotIn('train_speedup_vs_torch_range', row)
    self.assertIn('PyTorch: not run (not installed)',
                  benchmarks.format_table(results))

  def test_runs_when_pytorch_is_not_asked_for(self):
    # `--notorch` crashed with a KeyError before the first timing (2026-12-03).
    # The timings themselves are the test above's: here they are stubbed.
    config = glow_tf.GlowConfig(image_shape=(8, 8, 1), num_levels=2,
                                num_steps=1, hidden_channels=4)
    row = {'hidden_channels': 4, 'achieved_gflops': 1.0,
           'sample_achieved_gflops': 0.5}
    with mock.patch.object(torch_contender, 'setup') as setup, \
        mock.patch.object(run, 'matmul_probes', return_value={'a': 2.0}), \
        mock.patch.object(run, 'benchmark_config',
                          return_value=row) as timed:
      results = run.run_benchmark(
          widths=(4,), base=config, batch_size=2, rounds=1,
          calls_per_round=1, memory_steps=(), extras=False, with_torch=False,
          log=None)
    setup.assert_not_called()
    self.assertFalse(timed.call_args.kwargs['with_torch'])
    self.assertIn('not asked for', results['torch']['skipped'])
    self.assertEqual(results['torch']['reason'], 'not asked for')
    self.assertEqual(results['configs'], [row])
    self.assertAllClose([row['fraction_of_peak'],
                         row['sample_fraction_of_peak']], [0.5, 0.25])

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
