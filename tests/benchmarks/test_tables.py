"""Tests of benchmarks.tables: the printed tables show what ran.

No timing is asserted.
"""

from absl.testing import parameterized
import tensorflow as tf

import benchmarks


class TablesTest(tf.test.TestCase, parameterized.TestCase):
  """The variant tables."""

  def test_table_shows_the_variants_it_has(self):
    row = {'hidden_channels': 8, 'glow_tf_params': 10, 'tfp_params': 9,
           'glow_tf_train_images_per_s': 4.0, 'tfp_train_images_per_s': 2.0,
           'train_speedup_vs_tfp': 2.0, 'glow_tf_sample_images_per_s': 6.0,
           'tfp_sample_images_per_s': 3.0, 'sample_speedup_vs_tfp': 2.0,
           'achieved_gflops': 1.0, 'fraction_of_peak': 0.5}
    results = {'peak_gflops': 2.0, 'configs': [row],
               'machine': {'cpu_model': 'cpu', 'nproc': 2}}
    table = benchmarks.format_table(results)
    self.assertIn('2.00x', table)
    self.assertNotIn('XLA', table)
    self.assertNotIn('memory_saving', table)
    self.assertNotIn('PyTorch', table)
    row.update({'glow_tf_memory_saving_train_images_per_s': 3.5,
                'memory_saving_train_speedup_vs_tfp': 1.75})
    table = benchmarks.format_table(results)
    self.assertIn('memory_saving', table)
    self.assertIn('    8          3.5   1.75x', table)
    self.assertNotIn('XLA', table)
    self.assertNotIn('matmul floor', table)
    row.update({'matmul_floor_train_ms': 80.0, 'train_matmul_share': 0.5,
                'train_speedup_vs_tfp_floor_bound': 8.0,
                'matmul_floor_sample_ms': 32.0, 'sample_matmul_share': 0.25,
                'sample_speedup_vs_tfp_floor_bound': 4.0})
    table = benchmarks.format_table(results)
    self.assertIn('matmul floor', table)
    self.assertIn('    8      80.0    50%         8.00x        32.0    25%'
                  '         4.00x', table)
    self.assertNotIn('gradient passes', table)  # JSON from before the passes
    row.update({'pass_floor_train_ms': 20.0,
                'floor_with_passes_train_ms': 100.0,
                'train_speedup_vs_tfp_floor_with_passes_bound': 6.4})
    table = benchmarks.format_table(results)
    self.assertIn('gradient passes', table)
    self.assertIn('    8       20.0                100.0         6.40x', table)
    self.assertNotIn('lowest-highest', table)  # JSON from before the ranges
    row.update({'train_speedup_vs_tfp_range': [1.5, 2.25],
                'sample_speedup_vs_tfp_range': [1.75, 2.5]})
    table = benchmarks.format_table(results)
    self.assertIn('per-round speed-ups, lowest-highest', table)
    # No PyTorch ran: a dash in its columns.
    self.assertIn('    8   1.50- 2.25x             -   1.75- 2.50x'
                  '             -', table)

  def test_table_shows_pytorch_where_it_ran(self):
    row = {'hidden_channels': 8, 'glow_tf_params': 10, 'tfp_params': 9,
           'glow_tf_train_images_per_s': 4.0, 'tfp_train_images_per_s': 2.0,
           'train_speedup_vs_tfp': 2.0, 'glow_tf_sample_images_per_s': 6.0,
           'tfp_sample_images_per_s': 3.0, 'sample_speedup_vs_tfp': 2.0,
           'achieved_gflops': 1.0, 'fraction_of_peak': 0.5}
    ran = dict(row, hidden_channels=16, torch_params=10,
               torch_params_match=True, torch_train_images_per_s=1.6,
               train_speedup_vs_torch=2.5, torch_sample_images_per_s=2.0,
               sample_speedup_vs_torch=3.25, torch_fraction_of_peak=0.2,
               sample_achieved_gflops=1.25, sample_fraction_of_peak=0.625)
    results = {'peak_gflops': 2.0, 'configs': [row, ran],
               'peak_probes': {'8x8x8': 1.5, '16x16x16': 2.0},
               'machine': {'cpu_model': 'cpu', 'nproc': 2},
               'torch': {'version': '9.9', 'threads': 2,
                         'tensorflow_threads': 2,
                         'memory_format': 'channels_last'}}
    table = benchmarks.format_table(results)
    self.assertIn('PyTorch 9.9: intra-op threads 2', table)
    self.assertIn('best of 2 matmul probes (16x16x16: 2 GFLOP/s)', table)
    self.assertIn('2.50x', table)
    self.assertIn('3.25x', table)
    self.assertIn('3.25x       1.2    62.5%', table)  # sampling's GFLOP/s
    self.assertIn('yes', table)
    width8 = [line for line in table.splitlines() if line.startswith('    8')]
    self.assertLen(width8, 3)  # parameters, training, sampling
    for line in width8:
      self.assertIn(' -', line)
    results['torch'] = {'skipped': 'not installed'}
    self.assertIn('PyTorch: not run', benchmarks.format_table(results))
