"""Tests of GlowConfig and the paper's presets (glow_tf/config.py)."""

import dataclasses
import json
import os

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

import glow_tf
from glow_tf.bijectors.act_norm import ActNorm
from glow_tf.networks import ActNormLayer


def count_params(module):
  return int(sum(np.prod(v.shape) for v in module.trainable_variables))


def expected_param_count(config):
  """Trainable parameters, counted from the architecture (paper, table 1)."""
  h, w, c = config.image_shape
  width, total = config.hidden_channels, 0
  for level in range(config.num_levels):
    c *= 4
    half, rest = c // 2, c - c // 2
    out = rest if config.coupling == 'additive' else 2 * rest
    step = 2 * c                                          # ActNorm
    step += {'lu_conv': 2 * c * c + c, 'conv': c * c}.get(config.permutation,
                                                          0)
    step += 9 * half * width + 2 * width                  # conv3x3 + ActNorm
    step += width * width + 2 * width                     # conv1x1 + ActNorm
    step += 9 * width * out + 2 * out                     # zero conv3x3
    total += config.num_steps * step
    if level < config.num_levels - 1:
      total += 9 * half * 2 * rest + 2 * 2 * rest         # split prior
      c = half
  if config.learn_top_prior:
    total += 2 * c
  if config.num_classes:
    total += 2 * config.num_classes * c
  return total


class GlowConfigTest(parameterized.TestCase):

  def test_presets_are_the_papers(self):
    cifar = glow_tf.preset('cifar10')
    self.assertEqual((cifar.num_levels, cifar.num_steps, cifar.hidden_channels,
                      cifar.coupling, cifar.permutation),
                     (3, 32, 512, 'affine', 'lu_conv'))
    self.assertEqual(glow_tf.preset('imagenet32').num_steps, 48)
    self.assertEqual(glow_tf.preset('imagenet64').num_levels, 4)
    celeba = glow_tf.preset('celeba_hq_256')
    self.assertEqual((celeba.num_levels, celeba.coupling, celeba.n_bits),
                     (6, 'additive', 5))

  def test_frozen(self):
    with self.assertRaises(dataclasses.FrozenInstanceError):
      glow_tf.preset('cifar10').num_steps = 3

  @parameterized.parameters(
      (dict(image_shape=(28, 28, 1), num_levels=3), 'divisible by 2\\*\\*num_levels = 8'),
      (dict(image_shape=(28, 28)), 'three positive ints'),
      (dict(image_shape=None), 'three positive ints'),
      (dict(image_shape=(8, 8, 1), dtype=tf.int32), "'float32', 'float64'"),
      (dict(image_shape=(8, 8, 1), coupling='rational'), "'affine', 'additive'"),
      (dict(image_shape=(8, 8, 1), permutation='x'), "'lu_conv', 'conv'"),
      (dict(image_shape=(8, 8, 1), n_bits=9), 'n_bits must be in 1..8'),
      (dict(image_shape=(8, 8, 1), num_steps=0), 'num_steps'),
      (dict(image_shape=(8, 8, 1), num_classes=0), 'num_classes'),
      (dict(image_shape=(8, 8, 1), dtype='int32'), "'float32', 'float64'"),
      (dict(image_shape=(8, 8, 1), edge_padding='yes'),
       'edge_padding must be True or False'),
      (dict(image_shape=(8, 8, 1), learn_top_prior=0),
       'learn_top_prior must be True or False'),
      (dict(image_shape=(8, 8, 1), network_dtype='float16'),
       "network_dtype.*'bfloat16'"),
      (dict(image_shape=(8, 8, 1), dtype='float64', network_dtype='bfloat16'),
       "needs dtype 'float32'"),
      (dict(image_shape=(8, 8, 1), act_norm_log_scale_factor=-3.0),
       '`act_norm_log_scale_factor` must be a positive float, got -3.0'),
      (dict(image_shape=(8, 8, 1), act_norm_log_scale_factor='3'),
       "`act_norm_log_scale_factor` must be a positive float, got '3'"),
      (dict(image_shape=(8, 8, 1), dequantization='learned'),
       "`dequantization` must be one of \\['uniform', 'variational'\\], "
       "got 'learned'"),
      (dict(image_shape=(8, 8, 1), dequantizer_steps=0),
       '`dequantizer_steps` must be a positive integer, got 0'),
      (dict(image_shape=(8, 8, 1), dequantizer_channels=2.5),
       '`dequantizer_channels` must be a positive integer'),
      (dict(image_shape=(8, 8, 1), class_loss_weight=0.01),
       r'class_loss_weight > 0 needs num_classes .*class_loss_weight=0.01 '
       'and num_classes=None'),
      (dict(image_shape=(8, 8, 1), num_classes=3, class_loss_weight=-0.1),
       '`class_loss_weight` must be a non-negative float, got -0.1'),
      (dict(image_shape=(8, 8, 1), num_classes=3, class_loss_weight='0.1'),
       "`class_loss_weight` must be a non-negative float, got '0.1'"),
      (dict(image_shape=(8, 8, 1), context_shape=(4, 4)),
       r'context_shape must be \(d,\) for a vector context or \(h, w, c\) '
       r'for an image context, positive ints; got \(4, 4\)'),
      (dict(image_shape=(8, 8, 1), context_shape=5), 'got 5'),
      (dict(image_shape=(8, 8, 1), context_shape=(0,)), r'got \(0,\)'),
      (dict(image_shape=(8, 8, 1), context_shape=(3,), context_channels=0),
       '`context_channels` must be a positive integer, got 0'),
  )
  def test_bad_config(self, kwargs, message):
    with self.assertRaisesRegex(ValueError, message):
      glow_tf.GlowConfig(**kwargs)

  def test_numpy_shapes_and_dtype_objects_become_plain_values(self):
    # So that the config is hashable, comparable and JSON as written.
    config = glow_tf.GlowConfig(image_shape=tuple(np.array([8, 8, 1])),
                                num_levels=np.int64(2), dtype=tf.float64)
    self.assertEqual(config.image_shape, (8, 8, 1))
    self.assertTrue(all(type(d) is int for d in config.image_shape))
    self.assertIs(type(config.num_levels), int)
    self.assertEqual(config.dtype, 'float64')
    self.assertEqual(config, glow_tf.GlowConfig(image_shape=(8, 8, 1),
                                                num_levels=2, dtype='float64'))
    json.dumps(dataclasses.asdict(config))

  def test_unknown_preset(self):
    with self.assertRaisesRegex(ValueError, 'cifar10'):
      glow_tf.preset('mnist64')
    with self.assertRaisesRegex(ValueError, 'Unknown preset'):
      glow_tf.preset(['cifar10'])  # not a name: refused, not unhashable


class GlowConfigJsonTest(parameterized.TestCase):

  @parameterized.parameters(sorted(glow_tf.PRESETS))
  def test_round_trip_of_every_preset(self, name):
    config = glow_tf.preset(name)
    fields = config.to_json()
    self.assertEqual(fields, json.loads(json.dumps(fields)))  # JSON values
    self.assertEqual(glow_tf.GlowConfig.from_json(fields), config)
    self.assertEqual(glow_tf.GlowConfig.from_json(json.dumps(fields)), config)

  def test_round_trip_of_every_field_changed(self):
    config = glow_tf.GlowConfig(
        image_shape=(8, 8, 3), num_levels=1, num_steps=2, hidden_channels=4,
        coupling='additive', permutation='shuffle', learn_top_prior=False,
        num_classes=3, n_bits=5, edge_padding=True, network_dtype='bfloat16',
        act_norm_log_scale_factor=3.0, dequantization='variational',
        dequantizer_steps=2, dequantizer_channels=8)
    self.assertEqual(glow_tf.GlowConfig.from_json(config.to_json()), config)
    self.assertEqual(glow_tf.GlowConfig.from_json(
        json.dumps(config.to_json())).dequantization, 'variational')

  @parameterized.parameters((3,), (4, 4, 1))
  def test_round_trip_of_a_conditional_config(self, *context_shape):
    config = glow_tf.GlowConfig(
        image_shape=(8, 8, 1), num_levels=2, num_classes=10,
        class_loss_weight=0.01, context_shape=context_shape,
        context_channels=8)
    self.assertTrue(config.conditional)
    self.assertFalse(config.replace(context_shape=None).conditional)
    fields = config.to_json()
    self.assertEqual(fields['context_shape'], list(context_shape))
    self.assertEqual(fields, json.loads(json.dumps(fields)))
    again = glow_tf.GlowConfig.from_json(json.dumps(fields))
    self.assertEqual(again, config)
    self.assertEqual(again.context_shape, context_shape)  # a tuple again
    self.assertEqual(again.class_loss_weight, 0.01)

  def test_conditional_fields_become_plain_values(self):
    config = glow_tf.GlowConfig(
        image_shape=(8, 8, 1), num_classes=2, class_loss_weight=1,
        context_shape=np.array([4, 4, 1]), context_channels=np.int64(4))
    self.assertEqual(config.context_shape, (4, 4, 1))
    self.assertTrue(all(type(d) is int for d in config.context_shape))
    self.assertIs(type(config.context_channels), int)
    self.assertIs(type(config.class_loss_weight), float)
    hash(config)

  def test_missing_fields_take_their_defaults(self):
    # A config saved before a field existed still loads.
    config = glow_tf.GlowConfig.from_json(
        '{"image_shape": [28, 28, 1], "num_levels": 2}')
    self.assertEqual(config, glow_tf.GlowConfig(image_shape=(28, 28, 1),
                                                num_levels=2))

  def test_the_shipped_pretrained_config_loads(self):
    path = os.path.join(os.path.dirname(glow_tf.__file__), 'weights',
                        'fashion_mnist', 'config.json')
    with open(path) as f:
      text = f.read()
    config = glow_tf.GlowConfig.from_json(text)
    self.assertEqual(config, glow_tf.preset('fashion_mnist'))
    saved = json.loads(text)
    # Every field the file holds comes back as it was written.
    self.assertEqual({k: v for k, v in config.to_json().items() if k in saved},
                     saved)

  def test_a_config_saved_before_newer_fields_loads_with_their_defaults(self):
    # The shipped config less the fields added after the first pretrained
    # model (`kernels`, the conditioning, the dequantization): an older file.
    path = os.path.join(os.path.dirname(glow_tf.__file__), 'weights',
                        'fashion_mnist', 'config.json')
    with open(path) as f:
      saved = json.load(f)
    newer = ['kernels', 'context_shape', 'context_channels', 'num_classes',
             'class_loss_weight', 'dequantization', 'dequantizer_channels',
             'dequantizer_steps']
    older = {k: v for k, v in saved.items() if k not in newer}
    self.assertLess(len(older), len(saved))
    config = glow_tf.GlowConfig.from_json(json.dumps(older))
    defaults = {field.name: field.default
                for field in dataclasses.fields(glow_tf.GlowConfig)}
    for name in newer:
      self.assertEqual(getattr(config, name), defaults[name], name)
    self.assertEqual(config, glow_tf.preset('fashion_mnist'))

  @parameterized.parameters(
      ('{"image_shape": [8, 8, 1], "num_stepz": 2}',
       r"Unknown GlowConfig field\(s\) \['num_stepz'\]"),
      ('{"num_steps": 2}', 'needs `image_shape`'),
      ('[8, 8, 1]', 'must be a JSON object'),
      ('{"image_shape": [8, 8', 'must be a JSON object'),
      ('{"image_shape": [8, 8, 1], "num_steps": "2"}',
       '`num_steps` must be a positive integer'),
      ('{"image_shape": [8, 8, 1], "coupling": "rational"}',
       "'affine', 'additive'"),
      ('{"image_shape": [8, 8]}', 'three positive ints'),
  )
  def test_bad_json_is_refused_with_a_message(self, text, message):
    with self.assertRaisesRegex(ValueError, message):
      glow_tf.GlowConfig.from_json(text)
    if text.startswith('{"image_shape": [8, 8, 1]'):
      with self.assertRaisesRegex(ValueError, message):
        glow_tf.GlowConfig.from_json(json.loads(text))  # A dict, too.


class ParameterCountTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(
      ('fashion_mnist', 876_064),
      ('cifar10', 44_152_272),
  )
  def test_preset_parameter_count(self, name, pinned):
    config = glow_tf.preset(name)
    glow = glow_tf.Glow(config)
    self.assertEqual(count_params(glow), expected_param_count(config))
    self.assertEqual(count_params(glow), pinned)

  def test_every_variable_is_tracked_and_checkpointed(self):
    glow = glow_tf.Glow(glow_tf.GlowConfig(
        image_shape=(4, 4, 2), num_levels=2, num_steps=2, hidden_channels=4,
        dtype='float64', num_classes=3))
    names = [v.name for v in glow.trainable_variables]
    self.assertLen(set(id(v) for v in glow.trainable_variables), len(names))
    self.assertEqual(count_params(glow),
                     expected_param_count(glow.config))
    modules = glow.bijector.submodules
    # Per step (2 levels of 2): the step's ActNorm and two in the network.
    self.assertEqual(sum(isinstance(m, ActNorm) for m in modules), 2 * 2)
    self.assertEqual(sum(isinstance(m, ActNormLayer) for m in modules),
                     2 * 2 * 2)
    ckpt = tf.train.Checkpoint(model=glow)
    path = ckpt.write(self.get_temp_dir() + "/ckpt")
    saved = {name for name, _ in tf.train.list_variables(path)}
    self.assertGreaterEqual(len(saved), len(glow.variables))


if __name__ == '__main__':
  tf.test.main()
