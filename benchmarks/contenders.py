"""The TensorFlow contenders: `tfp.bijectors.Glow`, and compiled steps for either model."""

import functools

import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras

tfb = tfp.bijectors
tfd = tfp.distributions

__all__ = ['build_tfp_glow', 'make_sampler', 'make_train_step']


def build_tfp_glow(config, seed=0):
  """`tfp.bijectors.Glow` with `config`'s levels, steps and width, as a distribution.

  `num_glow_blocks = L`, `num_steps_per_block = K`, coupling networks
  `tfb.GlowDefaultNetwork(num_hidden=W)` (3x3 -> 1x1 -> zero 3x3, like
  glow_tf's), exits `tfb.GlowDefaultExitNetwork` (a zero 3x3 conv, like
  glow_tf's split prior), and half of the channels leaving after every block
  but the last (`grab_after_block`), as in glow_tf. The base distribution is
  a standard normal over the flattened image, which `tfb.Glow` reshapes.
  """
  if config.coupling != 'affine' or config.permutation != 'lu_conv':
    raise ValueError('tfp.bijectors.Glow has affine couplings and LU 1x1 '
                     f'convolutions only; got coupling={config.coupling!r}, '
                     f'permutation={config.permutation!r}.')
  levels = config.num_levels
  bijector = tfb.Glow(
      output_shape=config.image_shape,
      num_glow_blocks=levels,
      num_steps_per_block=config.num_steps,
      coupling_bijector_fn=functools.partial(
          tfb.GlowDefaultNetwork, num_hidden=config.hidden_channels),
      exit_bijector_fn=tfb.GlowDefaultExitNetwork,
      grab_after_block=(0.5,) * (levels - 1) + (0.,),
      seed=seed)
  dtype = tf.as_dtype(config.dtype)
  base = tfd.Sample(tfd.Normal(tf.zeros([], dtype), tf.ones([], dtype)),
                    sample_shape=[config.num_dims])
  return tfd.TransformedDistribution(base, bijector, name='tfp_glow')


def make_train_step(log_prob_fn, variables, image_spec, jit_compile=False,
                    learning_rate=1e-4):
  """One compiled Adam step on `-mean(log_prob_fn(x))`, fixed signature.

  Args:
    log_prob_fn: `x -> [N]` log-densities.
    variables: the variables to train.
    image_spec: `tf.TensorSpec` of the batch.
    jit_compile: compile with XLA.
    learning_rate: Adam's learning rate.

  Returns:
    `step(x) -> loss`, a `tf.function`; the optimizer's slots are built.
  """
  variables = list(variables)
  optimizer = tf_keras.optimizers.Adam(learning_rate)
  optimizer.build(variables)

  @tf.function(input_signature=[image_spec], jit_compile=jit_compile)
  def step(x):
    with tf.GradientTape() as tape:
      loss = -tf.reduce_mean(log_prob_fn(x))
    grads = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(grads, variables))
    return loss

  return step


def make_sampler(distribution, batch_size, jit_compile=False):
  """A compiled `() -> batch_size samples` of `distribution`."""
  seed = tf.Variable([0, 0], dtype=tf.int32, trainable=False)

  @tf.function(input_signature=[], jit_compile=jit_compile)
  def sample():
    seed.assign_add([0, 1])
    return distribution.sample(batch_size, seed=tf.identity(seed))

  return sample
