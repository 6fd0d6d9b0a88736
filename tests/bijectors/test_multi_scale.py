"""Tests of MultiScaleFlow, its level shapes and its one-pass log-det."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

import glow_tf
from glow_tf.bijectors import latent_shapes
from glow_tf.bijectors import level_shapes
from glow_tf.bijectors import MultiScaleFlow
from tests import bijector_checks


def _flow(**overrides):
  """A tiny float64 flow (4x4x2 images, L=2, K=1), initialised on data."""
  config = glow_tf.GlowConfig(image_shape=(4, 4, 2), num_levels=2,
                              num_steps=1, hidden_channels=4,
                              dtype='float64').replace(**overrides)
  flow = glow_tf.build_flow(config, seed=3)
  context = None
  if config.context_shape is not None:
    context = _contexts(8, config.context_shape, seed=7)
  flow.initialize(_images(8, seed=7), context=context)
  return flow


def _contexts(n, context_shape, seed=0):
  return tf.random.stateless_normal([n, *context_shape], seed=[seed, 29],
                                    dtype=tf.float64)


def _coupling_route(steps, features):
  """TFP's keywords that give a level's couplings their context features."""
  return {step.name: {'affine_coupling': {'context': features}}
          for step in steps.bijectors}


def _images(n, seed=0):
  return tf.random.stateless_uniform([n, 4, 4, 2], seed=[seed, 2],
                                     dtype=tf.float64) - 0.5


class LevelShapesTest(tf.test.TestCase, parameterized.TestCase):

  def test_cifar10_shapes(self):
    self.assertEqual(level_shapes((32, 32, 3), 3),
                     [(16, 16, 12), (8, 8, 24), (4, 4, 48)])
    self.assertEqual(latent_shapes((32, 32, 3), 3),
                     [(16, 16, 6), (8, 8, 12), (4, 4, 48)])

  @parameterized.parameters(((28, 28, 1), 2), ((32, 32, 3), 3),
                            ((64, 64, 3), 4), ((16, 16, 5), 3))
  def test_latents_fill_the_image(self, image_shape, num_levels):
    shapes = latent_shapes(image_shape, num_levels)
    self.assertLen(shapes, num_levels)
    self.assertEqual(sum(int(np.prod(s)) for s in shapes),
                     int(np.prod(image_shape)))
    # Each level acts on the channels the level before it kept, squeezed.
    levels = level_shapes(image_shape, num_levels)
    for (h, w, c), (h_next, w_next, c_next) in zip(levels, levels[1:]):
      self.assertEqual((h_next, w_next, c_next), (h // 2, w // 2, c // 2 * 4))


class MultiScaleFlowTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(
      ('affine_lu', {}),
      ('additive_shuffle', dict(coupling='additive', permutation='shuffle')),
      ('fixed_top_prior', dict(permutation='conv', learn_top_prior=False)),
  )
  def test_bijector_checks(self, overrides):
    flow = _flow(**overrides)
    bijector_checks.check_bijector(self, flow, [4, 4, 2], scale=0.1)

  def test_bijector_checks_class_conditional(self):
    flow = _flow(num_classes=3)
    bijector_checks.check_bijector(
        self, flow, [4, 4, 2], scale=0.1,
        bijector_kwargs={'labels': tf.constant([2, 0])})

  def test_one_pass_equals_the_parts(self):
    flow = _flow()
    bijector_checks.perturb_variables(flow, scale=0.1)
    x = _images(3, seed=1)
    eps, ildj = flow.inverse_and_log_det(x)
    latents = flow.encode(x)
    self.assertAllClose(eps, flow.pack_latents(latents), atol=0)
    for latent, unpacked in zip(latents, flow.unpack_latents(eps)):
      self.assertAllClose(latent, unpacked, atol=0)
    self.assertAllClose(flow.decode(latents), x, atol=1e-10)
    # The log-det is the sum over the levels' steps, splits and top prior.
    total, h = 0., x
    squeeze = glow_tf.bijectors.Squeeze(dtype=tf.float64)
    for level, steps in enumerate(flow.steps):
      h = squeeze.forward(h)
      total += steps.inverse_log_det_jacobian(h, event_ndims=3)
      h = steps.inverse(h)
      if level < flow.num_levels - 1:
        split = flow.split_priors[level]
        total += split.inverse_log_det_jacobian(h, event_ndims=3)
        h = h[..., :split.kept_channels]
    total += flow.top_prior.inverse_log_det_jacobian(h, event_ndims=3)
    self.assertAllClose(ildj, total, atol=1e-10)
    self.assertGreater(float(tf.reduce_max(tf.abs(ildj))), 1.0)
    # A batch of two images as one event: the log-dets add up.
    _, ildj_pair = flow.inverse_and_log_det(x[:2][None], event_ndims=4)
    self.assertAllClose(ildj_pair, [ildj[0] + ildj[1]], atol=1e-10)

  def test_level_inverse_is_used_for_every_level(self):
    flow = _flow()
    seen = []

    def level_inverse(steps, h):
      seen.append(h.shape[1:])
      return glow_tf.bijectors.inverse_and_log_det(steps, h)

    x = _images(2)
    eps, ildj = flow.inverse_and_log_det(x, level_inverse=level_inverse)
    self.assertEqual(seen, [(2, 2, 8), (1, 1, 16)])
    expected = flow.inverse_and_log_det(x)
    self.assertAllClose((eps, ildj), expected, atol=0)

  def test_bijector_checks_conditional(self):
    # Every variable (the context encoder's too) gets a gradient, and the
    # log-det is the Jacobian's, for a fixed context. (A vector context:
    # tests/test_glow_conditional.py.)
    flow = _flow(context_shape=(2, 2, 1), context_channels=2, num_classes=3)
    self.assertIsNotNone(flow.context_encoder)
    bijector_checks.check_bijector(
        self, flow, [4, 4, 2], scale=0.1, bijector_kwargs={
            'context': _contexts(2, (2, 2, 1), seed=1),
            'labels': tf.constant([2, 0])})

  @parameterized.parameters(((3,),), ((2, 2, 1),))
  def test_each_level_reads_its_own_context_features(self, context_shape):
    flow = _flow(context_shape=context_shape, context_channels=2)
    bijector_checks.perturb_variables(flow, scale=0.1)
    x, context = _images(3, seed=1), _contexts(3, context_shape, seed=2)
    features = flow.context_encoder(context)
    self.assertEqual([f.shape[1:] for f in features], [(2, 2, 2), (1, 1, 2)])
    # By parts, TFP's way: each level's steps, split prior and the top prior
    # with that level's features.
    total, h, latents = 0., x, []
    squeeze = glow_tf.bijectors.Squeeze(dtype=tf.float64)
    for level, steps in enumerate(flow.steps):
      route = _coupling_route(steps, features[level])
      h = squeeze.forward(h)
      total += steps.inverse_log_det_jacobian(h, event_ndims=3, **route)
      h = steps.inverse(h, **route)
      if level < flow.num_levels - 1:
        split = flow.split_priors[level]
        out = split.inverse(h, context=features[level])
        total += split.inverse_log_det_jacobian(h, event_ndims=3,
                                                context=features[level])
        h, eps = out[..., :split.kept_channels], out[..., split.kept_channels:]
        latents.append(eps)
    latents.append(flow.top_prior.inverse(h, context=features[-1]))
    total += flow.top_prior.inverse_log_det_jacobian(
        h, event_ndims=3, context=features[-1])
    eps, ildj = flow.inverse_and_log_det(x, context=context)
    self.assertAllClose(ildj, total, atol=1e-10)
    self.assertAllClose(eps, flow.pack_latents(latents), atol=1e-12)
    for a, b in zip(flow.encode(x, context=context), latents):
      self.assertAllClose(a, b, atol=1e-12)
    self.assertAllClose(flow.decode(latents, context=context), x, atol=1e-10)
    self.assertAllClose(flow.top_input(x, context=context), h, atol=1e-12)
    one_pass = flow.inverse_and_top_input(x, context=context)
    for a, b in zip(one_pass, (eps, ildj, h)):
      self.assertAllClose(a, b, atol=1e-12)
    # Another context gives another latent and log-det.
    other_eps, other_ildj = flow.inverse_and_log_det(x, context=-context)
    self.assertGreater(float(tf.reduce_max(tf.abs(other_eps - eps))), 1e-3)
    self.assertGreater(float(tf.reduce_max(tf.abs(other_ildj - ildj))), 1e-3)

  def test_level_inverse_gets_each_levels_context_features(self):
    flow = _flow(context_shape=(3,), context_channels=2)
    context = _contexts(2, (3,))
    seen = []

    def level_inverse(steps, h, context=None):
      seen.append((h.shape[1:], context.shape[1:]))
      return glow_tf.bijectors.inverse_and_log_det(steps, h, context=context)

    x = _images(2)
    result = flow.inverse_and_log_det(x, context=context,
                                      level_inverse=level_inverse)
    self.assertEqual(seen, [((2, 2, 8), (2, 2, 2)), ((1, 1, 16), (1, 1, 2))])
    self.assertAllClose(result, flow.inverse_and_log_det(x, context=context),
                        atol=0)

  def test_context_checks(self):
    conditional = _flow(context_shape=(3,), context_channels=2)
    x = _images(2)
    for call in (conditional.inverse, conditional.forward,
                 conditional.encode, conditional.initialize):
      with self.assertRaisesRegex(ValueError, r'this flow is conditional '
                                  r'\(context of shape \[3\]\): pass '
                                  r'`context`'):
        call(x)
    unconditional = _flow()
    for call in (unconditional.inverse, unconditional.forward,
                 unconditional.encode, unconditional.initialize):
      with self.assertRaisesRegex(ValueError, r'this flow is unconditional '
                                  r'\(no context encoder\) but got a '
                                  r'`context`'):
        call(x, context=_contexts(2, (3,)))

  def test_bad_input(self):
    flow = _flow()
    with self.assertRaisesRegex(ValueError, r'expected images of shape '
                                r'\[4, 4, 2\], got shape \(2, 8, 8, 2\)'):
      flow.inverse(tf.zeros([2, 8, 8, 2], tf.float64))
    with self.assertRaisesRegex(ValueError, 'Expected 2 latents'):
      flow.decode(flow.encode(_images(2))[:1])
    with self.assertRaisesRegex(ValueError, 'Expected 1 split priors'):
      MultiScaleFlow((4, 4, 2), flow.steps, [], flow.top_prior)


if __name__ == '__main__':
  tf.test.main()
