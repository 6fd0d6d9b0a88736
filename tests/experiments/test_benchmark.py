"""Tests of experiments/benchmark.py end to end on a tiny configuration.

No timing is asserted.
"""

import json
import os
import subprocess
import sys

import tensorflow as tf

from benchmarks import torch_contender
from tests import fixtures


_ROOT = fixtures.REPO_ROOT
_HAVE_TORCH = torch_contender.import_torch() is not None


class BenchmarkBinaryTest(tf.test.TestCase):

  def test_tiny_run_writes_every_figure(self):
    output = os.path.join(self.get_temp_dir(), 'benchmark.json')
    path = [_ROOT] + [p for p in [os.environ.get('PYTHONPATH')] if p]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3',
               PYTHONPATH=os.pathsep.join(path))
    done = subprocess.run(
        [sys.executable, '-m', 'experiments.benchmark', '--widths=4,6',
         '--num_steps=1', '--batch_size=2', '--rounds=1',
         '--calls_per_round=1', '--memory_steps=1', '--memory_width=4',
         '--noxla', f'--output={output}'],
        cwd=_ROOT, env=env, capture_output=True, text=True, timeout=600,
        check=False)
    self.assertEqual(done.returncode, 0, done.stderr[-3000:])
    self.assertIn('speedup', done.stdout)
    with open(output) as f:
      results = json.load(f)
    self.assertGreater(results['peak_gflops'], 0)
    # The peak is at least every probe it took, the model's shapes among
    # them, and at least what any model reached.
    # Width 4's hidden matmul: 2 images x 14 x 14 pixels, 4 x 4.
    self.assertIn('392x4x4', results['peak_probes'])
    self.assertIn('4096x4096x4096', results['peak_probes'])
    for name, gflops in results['peak_probes'].items():
      self.assertGreaterEqual(results['peak_gflops'], gflops, name)
    self.assertIn('peak_underestimated', results)
    self.assertEqual([c['hidden_channels'] for c in results['configs']],
                     [4, 6])
    for config in results['configs']:
      for key in ('glow_tf_train_images_per_s', 'tfp_train_images_per_s',
                  'train_speedup_vs_tfp', 'glow_tf_sample_images_per_s',
                  'tfp_sample_images_per_s', 'sample_speedup_vs_tfp',
                  'fraction_of_peak', 'achieved_gflops', 'glow_tf_params',
                  'tfp_params', 'glow_tf_memory_saving_train_images_per_s',
                  'memory_saving_train_speedup_vs_tfp',
                  'matmul_floor_train_ms', 'matmul_floor_sample_ms',
                  'train_matmul_share', 'train_speedup_vs_tfp_floor_bound',
                  'sample_speedup_vs_tfp_floor_bound', 'pass_floor_train_ms',
                  'floor_with_passes_train_ms',
                  'train_speedup_vs_tfp_floor_with_passes_bound'):
        self.assertIn(key, config)
        self.assertGreater(config[key], 0, key)
      self.assertAllClose(config['floor_with_passes_train_ms'],
                          config['matmul_floor_train_ms'] +
                          config['pass_floor_train_ms'])
      self.assertLess(config['train_speedup_vs_tfp_floor_with_passes_bound'],
                      config['train_speedup_vs_tfp_floor_bound'])
      self.assertLessEqual(config['fraction_of_peak'], 1.0)
      if _HAVE_TORCH:
        for key in ('torch_train_images_per_s', 'train_speedup_vs_torch',
                    'torch_sample_images_per_s', 'sample_speedup_vs_torch',
                    'torch_achieved_gflops', 'torch_fraction_of_peak'):
          self.assertGreater(config[key], 0, key)
        low, high = config['train_speedup_vs_torch_range']
        self.assertBetween(config['train_speedup_vs_torch'], low, high)
        self.assertEqual(config['torch_params'], config['glow_tf_params'])
        self.assertTrue(config['torch_params_match'])
    if _HAVE_TORCH:
      self.assertEqual(results['torch']['threads'],
                       results['torch']['tensorflow_threads'])
      self.assertIn(f"PyTorch {results['torch']['version']}", done.stdout)
    else:
      self.assertIn('skipped', results['torch']['skipped'])
    self.assertEqual([m['num_steps'] for m in results['memory']], [1])
    for row in results['memory']:
      self.assertIn('plain_step_peak_mib', row)
      self.assertIn('memory_saving_step_peak_mib', row)
    self.assertIn('--widths=4,6', results['command'])
    self.assertIn('commit', results)  # None only outside a git checkout
