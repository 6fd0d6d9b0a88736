"""Tests of the floor: the model's matmuls and hidden layers (flops), timed alone.

No timing is asserted: the shapes are checked against the analytic FLOPs,
and the floor against its own rows.
"""

import collections
from unittest import mock

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

import benchmarks
import glow_tf
from benchmarks import floor
from benchmarks import flops


class MatmulFloorTest(tf.test.TestCase, parameterized.TestCase):

  def test_the_preset_s_matmuls(self):
    config = glow_tf.preset('fashion_mnist', num_steps=8, hidden_channels=128)
    # Level 0: 64 images x 14 x 14 pixels, 4 channels; level 1: 7 x 7, 8.
    self.assertEqual(flops.model_matmuls(config, batch_size=64), {
        (12544, 18, 128): 8, (12544, 128, 128): 8, (12544, 128, 36): 8,
        (12544, 4, 4): 8, (12544, 18, 4): 1,  # the split prior
        (3136, 36, 128): 8, (3136, 128, 128): 8, (3136, 128, 72): 8,
        (3136, 8, 8): 8})

  def test_the_preset_s_hidden_layers(self):
    config = glow_tf.preset('fashion_mnist', num_steps=8, hidden_channels=128)
    # Two ReLU layers per coupling network, 8 steps per level.
    self.assertEqual(flops.hidden_activations(config, batch_size=64),
                     {(12544, 128): 16, (3136, 128): 16})
    config = glow_tf.GlowConfig(image_shape=(16, 16, 3), num_levels=3,
                                num_steps=2, hidden_channels=5)
    self.assertEqual(flops.hidden_activations(config, batch_size=2),
                     {(128, 5): 4, (32, 5): 4, (8, 5): 4})

  def test_hidden_layers_are_the_training_graph_s_relu_gradients(self):
    # Every ReluGrad of a real training step's graph, and the BiasAddGrad of
    # each hidden layer, is a pass that the floor counts, and no other.
    config = glow_tf.GlowConfig(image_shape=(8, 8, 1), num_levels=2,
                                num_steps=2, hidden_channels=6)
    x = tf.random.stateless_uniform([3, 8, 8, 1], seed=[0, 5])
    glow = glow_tf.Glow(config)
    glow.initialize(x)

    @tf.function
    def gradients(x):
      with tf.GradientTape() as tape:
        loss = -tf.reduce_mean(glow.log_prob(x))
      return tape.gradient(loss, glow.trainable_variables)

    graph = gradients.get_concrete_function(
        tf.TensorSpec(x.shape, x.dtype)).graph
    def shapes(op_type, argument):
      return collections.Counter(
          tuple(op.inputs[argument].shape.as_list())
          for op in graph.get_operations() if op.type == op_type)
    expected = flops.hidden_activations(config, batch_size=3)
    self.assertEqual(expected, {(48, 6): 4, (12, 6): 4})
    self.assertEqual(shapes('ReluGrad', 1), expected)
    bias_grads = shapes('BiasAddGrad', 0)
    self.assertEqual({shape: bias_grads[shape] for shape in expected},
                     expected)

  @parameterized.parameters(
      dict(coupling='affine', permutation='lu_conv', hidden_channels=400),
      dict(coupling='additive', permutation='shuffle', hidden_channels=16),
      dict(coupling='affine', permutation='conv', hidden_channels=2))
  def test_shapes_add_up_to_the_analytic_flops(self, **kwargs):
    # hidden_channels=2: the input convolution's taps go on its output.
    config = glow_tf.GlowConfig(image_shape=(16, 16, 3), num_levels=3,
                                num_steps=2, **kwargs)
    matmuls = flops.model_matmuls(config, batch_size=5)
    total = sum(2 * m * k * n * count for (m, k, n), count in matmuls.items())
    self.assertEqual(total, 5 * benchmarks.forward_flops_per_image(config))
    if kwargs['permutation'] == 'shuffle':
      self.assertNotIn((5 * 8 * 8, 12, 12), matmuls)

  def test_time_matmul_runs_every_form_and_refuses_others(self):
    for form in floor.FORMS:
      self.assertGreater(floor.time_matmul(8, 4, 6, form, calls=2,
                                                  repeats=1), 0)
    with self.assertRaisesRegex(ValueError, "form must be one of"):
      floor.time_matmul(8, 4, 6, 'backward')

  def test_time_pass_runs_every_pass_and_refuses_others(self):
    for kind in floor.PASSES:
      self.assertGreater(floor.time_pass(8, 6, kind, calls=2, repeats=1), 0)
    with self.assertRaisesRegex(ValueError, 'kind must be one of'):
      floor.time_pass(8, 6, 'relu')

  def test_floor_sums_its_rows(self):
    config = glow_tf.GlowConfig(image_shape=(8, 8, 1), num_levels=2,
                                num_steps=2, hidden_channels=4)
    seconds = {'forward': 1e-6, 'weights': 2e-6, 'inputs': 4e-6,
               'relu_grad': 8e-6, 'bias_grad': 16e-6}
    with mock.patch.object(floor, 'time_matmul',
                           side_effect=lambda m, k, n, form, *_: seconds[form]
                          ), mock.patch.object(
                              floor, 'time_pass',
                              side_effect=lambda m, n, kind, *_: seconds[kind]):
      measured = floor.matmul_floor(config, batch_size=2)
    count = sum(flops.model_matmuls(config, 2).values())
    self.assertAllClose(measured['sample_s'], count * 1e-6)
    self.assertAllClose(measured['train_s'], count * 7e-6)
    self.assertEqual(sum(row['count'] for row in measured['matmuls']), count)
    for row in measured['matmuls']:
      self.assertAllClose([row['forward_us'], row['weights_us'],
                           row['inputs_us']], [1.0, 2.0, 4.0])
    # 2 levels x 2 steps x 2 ReLU layers, each a ReluGrad and a BiasAddGrad.
    self.assertEqual([(r['m'], r['n'], r['count'])
                      for r in measured['passes']], [(8, 4, 4), (32, 4, 4)])
    self.assertAllClose(measured['passes_s'], 8 * 24e-6)

  def test_fastest_keeps_each_matmul_s_best_time(self):
    def floor_of(times):
      rows = [{'m': m, 'k': 2, 'n': 3, 'count': count,
               'forward_us': f, 'weights_us': w, 'inputs_us': i}
              for m, count, (f, w, i) in times]
      return {'matmuls': rows}
    def with_passes(result, relu, bias):
      result['passes'] = [{'m': 10, 'n': 3, 'count': 4, 'relu_grad_us': relu,
                           'bias_grad_us': bias}]
      return result
    calm = with_passes(
        floor_of([(10, 2, (1.0, 2.0, 3.0)), (20, 1, (5.0, 5.0, 5.0))]),
        1.0, 3.0)
    # A disturbed run: one matmul slower in two forms, faster in one; one
    # pass slower, one faster.
    noisy = with_passes(
        floor_of([(10, 2, (2.0, 4.0, 1.0)), (20, 1, (5.0, 5.0, 5.0))]),
        2.0, 0.5)
    best = floor.fastest(calm, noisy)
    self.assertEqual([r['m'] for r in best['matmuls']], [10, 20])
    self.assertAllClose([best['matmuls'][0][f'{form}_us']
                         for form in floor.FORMS], [1.0, 2.0, 1.0])
    self.assertAllClose(best['train_s'], (2 * 4.0 + 15.0) / 1e6)
    self.assertAllClose(best['sample_s'], (2 * 1.0 + 5.0) / 1e6)
    self.assertAllClose(best['passes_s'], 4 * (1.0 + 0.5) / 1e6)
    # The inputs are not changed.
    self.assertEqual(noisy['matmuls'][0]['forward_us'], 2.0)
    self.assertEqual(noisy['passes'][0]['bias_grad_us'], 0.5)
    self.assertEqual(calm['passes'][0]['bias_grad_us'], 3.0)
    # Floors recorded before the passes were timed have none.
    del calm['passes'], noisy['passes']
    self.assertEqual(floor.fastest(calm, noisy)['passes_s'], 0)
    with self.assertRaisesRegex(ValueError, 'at least one'):
      floor.fastest()

  def test_rejects_bad_arguments(self):
    with self.assertRaisesRegex(ValueError, 'GlowConfig'):
      flops.model_matmuls({'hidden_channels': 4})
    with self.assertRaisesRegex(ValueError, 'batch_size must be'):
      flops.model_matmuls(glow_tf.preset('fashion_mnist'), 0)

  def test_run_reports_the_floor_against_both_step_times(self):
    result = {'glow_tf_train_images_per_s': 400.0,
              'tfp_train_images_per_s': 100.0,
              'glow_tf_sample_images_per_s': 1000.0,
              'tfp_sample_images_per_s': 500.0}
    measured = {'train_s': 0.08, 'sample_s': 0.032, 'matmuls': [],
                'passes_s': 0.048, 'passes': []}
    from benchmarks import run  # pylint: disable=g-import-not-at-top
    run._floor(result, measured, 64)  # pylint: disable=protected-access
    # glow_tf: 0.16 s a step, tfp 0.64 s; sampling 0.064 and 0.128 s.
    self.assertAllClose(result['matmul_floor_train_ms'], 80.0)
    self.assertAllClose(result['train_matmul_share'], 0.5)
    self.assertAllClose(result['train_speedup_vs_tfp_floor_bound'], 8.0)
    self.assertAllClose(result['sample_matmul_share'], 0.5)
    self.assertAllClose(result['sample_speedup_vs_tfp_floor_bound'], 4.0)
    self.assertTrue(np.isfinite(result['matmul_floor_sample_ms']))
    # With the passes: 128 ms under tfp's 640.
    self.assertAllClose(result['pass_floor_train_ms'], 48.0)
    self.assertAllClose(result['floor_with_passes_train_ms'], 128.0)
    self.assertAllClose(
        result['train_speedup_vs_tfp_floor_with_passes_bound'], 5.0)


if __name__ == '__main__':
  tf.test.main()
