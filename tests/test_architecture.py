"""Tests of build_flow: the architecture a GlowConfig describes."""

import numpy as np
import pytest
import tensorflow as tf

import glow_tf
from glow_tf.architecture import build_flow
from glow_tf.bijectors import level_shapes


def _config(**overrides):
  return glow_tf.GlowConfig(image_shape=(8, 8, 1), num_levels=3, num_steps=2,
                            hidden_channels=4, dtype='float64').replace(
                                **overrides)


def _images(n=4):
  return tf.random.stateless_uniform([n, 8, 8, 1], seed=[1, 2],
                                     dtype=tf.float64) - 0.5


def test_levels_steps_and_priors_follow_the_config():
  config = _config()
  flow = build_flow(config, seed=0)
  assert len(flow.steps) == config.num_levels
  assert [len(level.bijectors) for level in flow.steps] == [2, 2, 2]
  assert len(flow.split_priors) == config.num_levels - 1
  assert flow.context_encoder is None
  # Each level's steps act on its squeezed channel count.
  channels = [c for _, _, c in level_shapes(config.image_shape,
                                            config.num_levels)]
  x = _images()
  z, _ = flow.inverse_and_log_det(x)
  assert z.shape == x.shape
  assert channels == [4, 8, 16]


def test_the_seed_decides_the_initial_weights():
  def weights(seed):
    flow = build_flow(_config(), seed=seed)
    return [v.numpy() for v in flow.trainable_variables]
  first, again, other = weights(3), weights(3), weights(4)
  for a, b in zip(first, again):
    np.testing.assert_array_equal(a, b)
  assert any(not np.array_equal(a, b) for a, b in zip(first, other))


def test_distinct_steps_get_distinct_rotations():
  flow = build_flow(_config(), seed=0)
  convs = [v.numpy() for v in flow.trainable_variables
           if 'level_0' in v.name and v.shape == (4, 4)]
  assert len(convs) >= 2
  assert not np.allclose(convs[0], convs[1])


def test_a_conditional_config_gets_a_context_encoder_everywhere():
  config = _config(context_shape=(3,), context_channels=2)
  flow = build_flow(config, seed=0)
  assert flow.context_encoder is not None
  x = _images()
  context = tf.constant(np.arange(12.).reshape(4, 3), tf.float64)
  other = context + 1.0
  flow.initialize(x, context=context)
  # The zero-initialised parts start as the identity in the context; after
  # a nudge of every variable the density must depend on it.
  for v in flow.trainable_variables:
    v.assign_add(0.01 * tf.ones_like(v))
  _, ildj = flow.inverse_and_log_det(x, context=context)
  _, ildj_other = flow.inverse_and_log_det(x, context=other)
  assert not np.allclose(ildj.numpy(), ildj_other.numpy())


def test_a_config_is_required():
  with pytest.raises(ValueError, match='GlowConfig'):
    build_flow({'num_levels': 2})
