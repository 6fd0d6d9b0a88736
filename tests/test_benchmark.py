"""Tests of the benchmark and of the fast and memory-saving paths it measures.

No timing is asserted: the tests check that the fast paths compute the same
function and gradients as the plain ones, and that the benchmark binary runs
end to end and writes every figure.
"""

import json
import os
import subprocess
import sys
from unittest import mock

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

import glow_tf
from glow_tf import benchmarking
from glow_tf import memory
from glow_tf import networks
from glow_tf.benchmarking import peak
from glow_tf.benchmarking import run
from glow_tf.benchmarking import torch_contender
from tests.bijector_checks import perturb_variables

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_HAVE_TORCH = torch_contender.import_torch() is not None


def _tiny_glow(**overrides):
  config = glow_tf.GlowConfig(image_shape=(8, 8, 2), num_levels=2,
                              num_steps=3, hidden_channels=8,
                              dtype='float64').replace(**overrides)
  glow = glow_tf.Glow(config, seed=1)
  glow.initialize(_images(8))
  perturb_variables(glow.bijector, seed=0, scale=0.1)
  return glow


def _images(n, seed=2, shape=(8, 8, 2)):
  return tf.random.stateless_uniform([n, *shape], seed=[1, seed],
                                     dtype=tf.float64) - 0.5


def _dense(g):
  return tf.convert_to_tensor(g)


class ConvolutionAsMatmulTest(tf.test.TestCase, parameterized.TestCase):

  def test_one_by_one_and_rank_check(self):
    x = tf.random.stateless_normal([2, 3, 4, 5], seed=[4, 1],
                                   dtype=tf.float64)
    kernel = tf.random.stateless_normal([1, 1, 5, 7], seed=[4, 2],
                                        dtype=tf.float64)
    self.assertAllClose(networks.conv_as_matmul(x, kernel),
                        tf.nn.conv2d(x, kernel, 1, 'SAME'), atol=1e-12)
    with self.assertRaisesRegex(ValueError, 'rank 4'):
      networks.conv_as_matmul(x[None], kernel)

  @parameterized.parameters((2, 16), (16, 4), (3, 3), (1, 1))
  def test_equals_conv2d_with_its_gradients(self, c_in, c_out):
    x = tf.random.stateless_normal([2, 5, 6, c_in], seed=[1, 1],
                                   dtype=tf.float64)
    kernel = tf.random.stateless_normal([3, 3, c_in, c_out], seed=[1, 2],
                                        dtype=tf.float64)
    weights = tf.random.stateless_normal([2, 5, 6, c_out], seed=[1, 3],
                                         dtype=tf.float64)
    results = []
    for conv in (networks.conv3x3_as_matmul,
                 lambda x, k: tf.nn.conv2d(x, k, 1, 'SAME')):
      with tf.GradientTape() as tape:
        tape.watch([x, kernel])
        y = conv(x, kernel)
        loss = tf.reduce_sum(weights * y)
      results.append([y] + tape.gradient(loss, [x, kernel]))
    for fast, reference in zip(*results):
      self.assertAllClose(fast, reference, rtol=1e-12, atol=1e-12)

  def test_gradient_of_the_taps_is_their_adjoint(self):
    for c_in, c_out in ((2, 5), (5, 2)):
      x = tf.random.stateless_normal([1, 3, 4, c_in], seed=[2, c_in],
                                     dtype=tf.float64)
      kernel = tf.random.stateless_normal([3, 3, c_in, c_out], seed=[2, 9],
                                          dtype=tf.float64)
      theoretical, numerical = tf.test.compute_gradient(
          lambda x, k=kernel: networks.conv3x3_as_matmul(x, k), [x])
      self.assertAllClose(theoretical[0], numerical[0], atol=1e-6)


class FastCouplingNetworkTest(tf.test.TestCase, parameterized.TestCase):

  def _unfolded(self, net, x):
    """The network as written in the paper: conv -> ActNorm -> ReLU ..."""
    h = tf.nn.conv2d(x, net.conv_in.kernel, 1, 'SAME')
    h = tf.nn.relu(net.norm_in(h))
    h = tf.nn.conv2d(h, net.conv_hidden.kernel, 1, 'SAME')
    h = tf.nn.relu(net.norm_hidden(h))
    out = net.conv_out
    h = tf.nn.conv2d(h, out.kernel, 1, 'SAME') + out.bias
    return h * tf.exp(3.0 * out.log_scale)

  # (in, out, hidden): patches in and taps on the output (the usual shape);
  # more inputs than hidden channels (taps on the input conv's output); more
  # outputs than hidden channels (the output conv as patches).
  @parameterized.parameters((3, 6, 16), (6, 2, 4), (6, 12, 4), (2, 12, 4))
  def test_folded_network_equals_the_unfolded_one_with_gradients(
      self, c_in, c_out, hidden):
    net = networks.CouplingNetwork(c_in, c_out, hidden_channels=hidden,
                                   seed=0, dtype=tf.float64)
    x = tf.random.stateless_normal([4, 6, 6, c_in], seed=[3, 1],
                                   dtype=tf.float64)
    net(x, initialize=True)
    rng = np.random.default_rng(0)
    for v in net.trainable_variables:
      v.assign(v + rng.normal(0.0, 0.1, v.shape))
    results = []
    for fn in (net, lambda x: self._unfolded(net, x)):
      with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
        loss = tf.reduce_sum(tf.sin(y))
      results.append([y] + tape.gradient(loss, [x] + list(
          net.trainable_variables)))
    for fast, reference in zip(*results):
      self.assertAllClose(fast, reference, rtol=1e-10, atol=1e-10)


class MemorySavingTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(
      ('affine_lu', {}),
      ('additive', {'coupling': 'additive'}),
      ('shuffle', {'permutation': 'shuffle'}),
      ('plain_conv', {'permutation': 'conv'}),
      ('classes', {'num_classes': 3}),
  )
  def test_log_prob_and_gradients_equal_the_plain_path(self, overrides):
    glow = _tiny_glow(**overrides)
    x = _images(6)
    labels = (tf.constant([0, 1, 2, 0, 1, 2])
              if 'num_classes' in overrides else None)
    weights = tf.range(1.0, 7.0, dtype=tf.float64)
    variables = list(glow.trainable_variables)

    def value_and_grads(log_prob):
      with tf.GradientTape() as tape:
        tape.watch(x)
        lp = log_prob(x, labels=labels)
        loss = tf.reduce_sum(weights * lp)
      return [lp] + tape.gradient(loss, [x] + variables)

    def saving(x, labels=None):
      return memory.memory_saving_log_prob(glow, x, labels=labels)

    for compile_fn in (lambda f: f, tf.function):
      plain = compile_fn(lambda: value_and_grads(glow.log_prob))()
      reconstructed = compile_fn(lambda: value_and_grads(saving))()
      self.assertLen(reconstructed, len(plain))
      self.assertAllClose(plain[0], reconstructed[0], rtol=1e-10)
      names = ['x'] + [v.name for v in variables]
      for name, a, b in zip(names, plain[1:], reconstructed[1:]):
        self.assertIsNotNone(b, name)
        a, b = _dense(a), _dense(b)
        scale = max(float(tf.reduce_max(tf.abs(a))), 1e-12)
        self.assertLess(float(tf.reduce_max(tf.abs(a - b))) / scale, 1e-5,
                        name)

  def test_every_trainable_variable_gets_a_nonzero_gradient(self):
    glow = _tiny_glow()
    x = _images(4)
    with tf.GradientTape() as tape:
      loss = -tf.reduce_mean(memory.memory_saving_log_prob(glow, x))
    grads = tape.gradient(loss, glow.trainable_variables)
    for variable, grad in zip(glow.trainable_variables, grads):
      self.assertIsNotNone(grad, variable.name)
      self.assertGreater(float(tf.reduce_max(tf.abs(_dense(grad)))), 0.0,
                         variable.name)

  def test_rejects_steps_it_cannot_invert(self):
    glow = _tiny_glow()
    with self.assertRaisesRegex(ValueError, 'flow_step'):
      memory.reversible_steps(glow.bijector.top_prior, _images(2))


class BenchmarkLibraryTest(tf.test.TestCase):

  def test_flops_count_the_coupling_networks(self):
    config = glow_tf.preset('fashion_mnist', hidden_channels=400)
    # Level 0: 14x14 pixels, 4 channels; level 1: 7x7 pixels, 8 channels.
    level0 = 196 * (9 * 2 * 400 + 400 * 400 + 9 * 400 * 4 + 16)
    level1 = 49 * (9 * 4 * 400 + 400 * 400 + 9 * 400 * 8 + 64)
    split = 196 * 9 * 2 * 4
    expected = 2 * (8 * (level0 + level1) + split)
    self.assertEqual(benchmarking.forward_flops_per_image(config), expected)
    self.assertEqual(benchmarking.train_flops_per_image(config),
                     3 * expected)

  def test_tfp_glow_has_the_same_architecture(self):
    config = glow_tf.GlowConfig(image_shape=(8, 8, 1), num_levels=2,
                                num_steps=2, hidden_channels=16)
    theirs = benchmarking.build_tfp_glow(config)
    x = tf.random.stateless_uniform([3, 8, 8, 1], seed=[0, 1]) - 0.5
    self.assertEqual(theirs.log_prob(x).shape, [3])
    ours = glow_tf.Glow(config)
    # Same couplings, 1x1 convolutions, ActNorms and exits; glow_tf's
    # networks have ActNorms where tfp's have biases, plus a learned top
    # prior and the zero convolutions' output scales.
    self.assertEqual(sum(1 for v in theirs.trainable_variables
                         if 'kernel' in v.name),
                     sum(1 for v in ours.trainable_variables
                         if 'kernel' in v.name))
    ratio = (benchmarking.count_parameters(ours) /
             benchmarking.count_parameters(theirs))
    self.assertBetween(ratio, 0.9, 1.1)

  def test_table_shows_the_variants_it_has(self):
    row = {'hidden_channels': 8, 'glow_tf_params': 10, 'tfp_params': 9,
           'glow_tf_train_images_per_s': 4.0, 'tfp_train_images_per_s': 2.0,
           'train_speedup_vs_tfp': 2.0, 'glow_tf_sample_images_per_s': 6.0,
           'tfp_sample_images_per_s': 3.0, 'sample_speedup_vs_tfp': 2.0,
           'achieved_gflops': 1.0, 'fraction_of_peak': 0.5}
    results = {'peak_gflops': 2.0, 'configs': [row],
               'machine': {'cpu_model': 'cpu', 'nproc': 2}}
    table = benchmarking.format_table(results)
    self.assertIn('2.00x', table)
    self.assertNotIn('XLA', table)
    self.assertNotIn('memory_saving', table)
    self.assertNotIn('PyTorch', table)
    row.update({'glow_tf_memory_saving_train_images_per_s': 3.5,
                'memory_saving_train_speedup_vs_tfp': 1.75})
    table = benchmarking.format_table(results)
    self.assertIn('memory_saving', table)
    self.assertIn('    8          3.5   1.75x', table)
    self.assertNotIn('XLA', table)

  def test_table_shows_pytorch_where_it_ran(self):
    row = {'hidden_channels': 8, 'glow_tf_params': 10, 'tfp_params': 9,
           'glow_tf_train_images_per_s': 4.0, 'tfp_train_images_per_s': 2.0,
           'train_speedup_vs_tfp': 2.0, 'glow_tf_sample_images_per_s': 6.0,
           'tfp_sample_images_per_s': 3.0, 'sample_speedup_vs_tfp': 2.0,
           'achieved_gflops': 1.0, 'fraction_of_peak': 0.5}
    ran = dict(row, hidden_channels=16, torch_params=10,
               torch_params_match=True, torch_train_images_per_s=1.6,
               train_speedup_vs_torch=2.5, torch_sample_images_per_s=2.0,
               sample_speedup_vs_torch=3.25, torch_fraction_of_peak=0.2)
    results = {'peak_gflops': 2.0, 'configs': [row, ran],
               'peak_probes': {'8x8x8': 1.5, '16x16x16': 2.0},
               'machine': {'cpu_model': 'cpu', 'nproc': 2},
               'torch': {'version': '9.9', 'threads': 2,
                         'tensorflow_threads': 2,
                         'memory_format': 'channels_last'}}
    table = benchmarking.format_table(results)
    self.assertIn('PyTorch 9.9: intra-op threads 2', table)
    self.assertIn('best of 2 matmul probes (16x16x16: 2 GFLOP/s)', table)
    self.assertIn('2.50x', table)
    self.assertIn('3.25x', table)
    self.assertIn('yes', table)
    width8 = [line for line in table.splitlines() if line.startswith('    8')]
    self.assertLen(width8, 3)  # parameters, training, sampling
    for line in width8:
      self.assertIn(' -', line)
    results['torch'] = {'skipped': 'not installed'}
    self.assertIn('PyTorch: not run', benchmarking.format_table(results))

  def test_model_matmul_shapes(self):
    config = glow_tf.preset('fashion_mnist', hidden_channels=400)
    # Level 0: 64 images x 14 x 14 pixels, 4 channels, 2 into the network.
    self.assertEqual(peak.model_matmul_shapes(config, batch_size=64),
                     ((12544, 18, 400), (12544, 400, 400)))

  def test_peak_is_the_best_probe_or_the_model_that_beat_it(self):
    probes = {'a': 10.0, 'b': 30.0}
    rows = [{'achieved_gflops': 20.0, 'torch_achieved_gflops': 25.0}]
    results = {}
    run._peak(results, rows, probes)  # pylint: disable=protected-access
    self.assertEqual(results['peak_gflops'], 30.0)
    self.assertFalse(results['peak_underestimated'])
    self.assertAllClose([rows[0]['fraction_of_peak'],
                         rows[0]['torch_fraction_of_peak']], [2 / 3, 5 / 6])
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
    self.assertEqual(results['torch'], {'skipped': skipped[0]})
    row, = results['configs']
    self.assertGreater(row['train_speedup_vs_tfp'], 0)
    self.assertNotIn('torch_params', row)
    self.assertNotIn('train_speedup_vs_torch', row)
    self.assertIn('PyTorch: not run', benchmarking.format_table(results))

  def test_rejects_what_tfp_glow_cannot_build(self):
    config = glow_tf.preset('fashion_mnist', coupling='additive')
    with self.assertRaisesRegex(ValueError, 'affine'):
      benchmarking.build_tfp_glow(config)


class BenchmarkBinaryTest(tf.test.TestCase):

  def test_tiny_run_writes_every_figure(self):
    output = os.path.join(self.get_temp_dir(), 'benchmark.json')
    path = [_ROOT] + [p for p in [os.environ.get('PYTHONPATH')] if p]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3',
               PYTHONPATH=os.pathsep.join(path))
    done = subprocess.run(
        [sys.executable, '-m', 'experiments.benchmark', '--widths=4,6',
         '--num_steps=1', '--batch_size=2', '--rounds=1',
         '--calls_per_round=1', '--memory_steps=1,2', '--memory_width=4',
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
                  'memory_saving_train_speedup_vs_tfp'):
        self.assertIn(key, config)
        self.assertGreater(config[key], 0, key)
      self.assertLessEqual(config['fraction_of_peak'], 1.0)
      if _HAVE_TORCH:
        for key in ('torch_train_images_per_s', 'train_speedup_vs_torch',
                    'torch_sample_images_per_s', 'sample_speedup_vs_torch',
                    'torch_achieved_gflops', 'torch_fraction_of_peak'):
          self.assertGreater(config[key], 0, key)
        self.assertEqual(config['torch_params'], config['glow_tf_params'])
        self.assertTrue(config['torch_params_match'])
    if _HAVE_TORCH:
      self.assertEqual(results['torch']['threads'],
                       results['torch']['tensorflow_threads'])
      self.assertIn(f"PyTorch {results['torch']['version']}", done.stdout)
    else:
      self.assertIn('skipped', results['torch']['skipped'])
    self.assertEqual([m['num_steps'] for m in results['memory']], [1, 2])
    for row in results['memory']:
      self.assertIn('plain_step_peak_mib', row)
      self.assertIn('memory_saving_step_peak_mib', row)
    self.assertIn('--widths=4,6', results['command'])


if __name__ == '__main__':
  tf.test.main()
