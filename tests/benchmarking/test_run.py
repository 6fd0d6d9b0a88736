"""Tests of glow_tf.benchmarking.run: the benchmark runs without PyTorch and says so.

No timing is asserted.
"""

from unittest import mock

from absl.testing import parameterized
import tensorflow as tf

import glow_tf
from glow_tf import benchmarking
from glow_tf.benchmarking import run
from glow_tf.benchmarking import torch_contender


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
                  benchmarking.format_table(results))

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
