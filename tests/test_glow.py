"""Tests of Glow, the multi-scale TransformedDistribution."""

from unittest import mock
import warnings

from absl.testing import parameterized
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

import glow_tf
from glow_tf.bijectors.affine_coupling import AffineCoupling
from glow_tf.bijectors.act_norm import ActNorm
from glow_tf.kernels import FastKernels
from tests.bijector_checks import perturb_variables

tfd = tfp.distributions


def tiny_config(**overrides):
  config = glow_tf.GlowConfig(image_shape=(4, 4, 2), num_levels=2,
                              num_steps=2, hidden_channels=4, dtype='float64')
  return config.replace(**overrides)


def tiny_glow(seed=0, **overrides):
  """A (float64) Glow whose every parameter is moved off its initial value."""
  glow = glow_tf.Glow(tiny_config(**overrides), seed=seed)
  x = tf.random.stateless_uniform([8, 4, 4, 2], seed=[1, 2],
                                  dtype=glow.dtype) - 0.5
  glow.initialize(x)
  perturb_variables(glow.bijector, seed=seed, scale=0.1)
  return glow


def images(n=3, shape=(4, 4, 2), seed=3, dtype=tf.float64):
  return tf.random.stateless_uniform([n, *shape], seed=[seed, 0],
                                     dtype=dtype) - 0.5


class GlowTest(tf.test.TestCase, parameterized.TestCase):

  def test_is_a_transformed_distribution(self):
    glow = tiny_glow()
    self.assertIsInstance(glow, tfd.TransformedDistribution)
    self.assertIsInstance(glow.bijector, glow_tf.bijectors.MultiScaleFlow)
    self.assertEqual(glow.event_shape, [4, 4, 2])

  @parameterized.parameters(dict(), dict(num_classes=3))
  def test_batch_shape_is_scalar_without_tfps_subclass_warning(self,
                                                               **overrides):
    glow = tiny_glow(**overrides)
    with self.assertNoLogs(level='WARNING'):  # TFP logs on the root logger
      self.assertEqual(glow.batch_shape, [])
      self.assertAllEqual(glow.batch_shape_tensor(), [])
      self.assertIn('batch_shape=[] event_shape=[4, 4, 2]', repr(glow))
    # The batch of log_prob is the images' batch, not the distribution's.
    self.assertEqual(glow.log_prob(images(n=3), **(
        {'labels': [0, 1, 2]} if overrides else {})).shape, [3])

  @parameterized.parameters(
      dict(),
      dict(coupling='additive', permutation='shuffle'),
      dict(permutation='conv', learn_top_prior=False),
      dict(num_classes=3),
      dict(edge_padding=True),
      dict(act_norm_log_scale_factor=3.0),
  )
  def test_log_prob_is_the_change_of_variables(self, **overrides):
    glow = tiny_glow(**overrides)
    x = images()
    labels = (tf.constant([0, 2, 1]) if overrides.get('num_classes') else None)
    kwargs = {} if labels is None else {'labels': labels}
    flow = glow.bijector
    with tf.GradientTape() as tape:
      tape.watch(x)
      eps = flow.inverse(x, **kwargs)
      flat = tf.reshape(eps, [3, -1])
    jacobian = tape.batch_jacobian(flat, x)
    jacobian = tf.reshape(jacobian, [3, 32, 32])
    _, log_abs_det = tf.linalg.slogdet(jacobian)
    base = tf.reduce_sum(tfd.Normal(np.float64(0), 1.).log_prob(flat), -1)
    log_prob = glow.log_prob(x, **kwargs)
    self.assertAllClose(base + log_abs_det, log_prob, rtol=1e-10, atol=1e-10)
    ildj = flow.inverse_log_det_jacobian(x, event_ndims=3, **kwargs)
    self.assertAllClose(glow.distribution.log_prob(eps) + ildj, log_prob,
                        rtol=1e-12, atol=1e-12)
    fldj = flow.forward_log_det_jacobian(eps, event_ndims=3, **kwargs)
    self.assertAllClose(fldj, -ildj, rtol=1e-10, atol=1e-10)
    # The model is far from its initial state: log_prob is not N(0, I)'s.
    self.assertGreater(float(tf.reduce_max(tf.abs(log_abs_det))), 1.0)

  def test_log_prob_is_the_papers_sum_of_priors(self):
    glow = tiny_glow()
    x = images()
    flow = glow.bijector
    total = tf.zeros([3], tf.float64)
    h = x
    for level, steps in enumerate(flow.steps):
      h = glow_tf.bijectors.Squeeze(dtype=tf.float64).forward(h)
      total += steps.inverse_log_det_jacobian(h, event_ndims=3)
      h = steps.inverse(h)
      if level < flow.num_levels - 1:
        split = flow.split_priors[level]
        kept, z = h[..., :split.kept_channels], h[..., split.kept_channels:]
        mean, log_scale = split.mean_and_log_scale(kept)
        total += tf.reduce_sum(
            tfd.Normal(mean, tf.exp(log_scale)).log_prob(z), [1, 2, 3])
        h = kept
    mean, log_scale = flow.top_prior.mean_and_log_scale()
    total += tf.reduce_sum(tfd.Normal(mean, tf.exp(log_scale)).log_prob(h),
                           [1, 2, 3])
    self.assertAllClose(total, glow.log_prob(x), rtol=1e-10)

  def test_encode_decode_round_trip(self):
    glow = tiny_glow(num_classes=3)
    x = images()
    labels = tf.constant([2, 0, 1])
    latents = glow.encode(x, labels=labels)
    self.assertEqual([tuple(z.shape[1:]) for z in latents],
                     [(2, 2, 4), (1, 1, 16)])
    self.assertEqual(glow.latent_shapes, [(2, 2, 4), (1, 1, 16)])
    self.assertAllClose(glow.decode(latents, labels=labels), x, atol=1e-10)
    # The split latents matter: changing one changes the image.
    moved = [latents[0] + 1.0, latents[1]]
    self.assertGreater(
        float(tf.reduce_max(tf.abs(glow.decode(moved, labels=labels) - x))),
        1e-3)

  # hidden_channels=16 > 8 outputs: the fast kernels fuse the couplings'
  # sampling direction after NN's last matmul; 4: the plain one.
  @parameterized.parameters(4, 16)
  def test_sample_encode_decode_round_trip(self, hidden_channels):
    glow = tiny_glow(hidden_channels=hidden_channels)
    samples = glow.sample(5, seed=[4, 2], temperature=0.8)
    self.assertEqual(samples.shape, [5, 4, 4, 2])
    self.assertAllClose(glow.decode(glow.encode(samples)), samples,
                        atol=1e-10)
    eps = glow.bijector.pack_latents(glow.encode(samples))
    self.assertAllClose(
        eps, glow.distribution.sample(5, seed=[4, 2]) * 0.8, atol=1e-10)

  def test_warnings_before_initialize_and_for_raw_pixel_values(self):
    glow = glow_tf.Glow(tiny_config())
    x = images()
    self.assertFalse(glow.initialized)
    with self.assertWarnsRegex(UserWarning, r'Glow.log_prob before '
                               r'Glow.initialize.*glow.initialize\(x\)'):
      glow.log_prob(x)
    with self.assertWarnsRegex(UserWarning, 'Glow.sample before '
                               'Glow.initialize'):
      glow.sample(2, seed=[1, 1])
    glow.initialize(x)
    self.assertTrue(glow.initialized)
    with warnings.catch_warnings():
      warnings.simplefilter('error')  # initialised, model-space: no warning
      glow.log_prob(x)
      glow.sample(2, seed=[1, 1])
      glow.log_prob(x[:0])
      tf.function(glow.log_prob)(x * 255.0)  # graphs are not checked
    with self.assertWarnsRegex(UserWarning, r'values up to 2[0-9][0-9]\.?[0-9]* '
                               r'.*glow_tf.dequantize'):
      glow.log_prob((x + 0.5) * 255.0)

  def test_sample_refuses_a_bad_seed(self):
    glow = tiny_glow()
    for bad in ('a', 1.5, [1, 2, 3]):
      with self.assertRaisesRegex(ValueError, '`seed` must be an int or a '
                                  'stateless seed of two integers'):
        glow.sample(2, seed=bad)
    self.assertEqual(glow.sample(2, seed=3).shape, [2, 4, 4, 2])  # TFP's
    self.assertAllEqual(glow.sample(2, seed=[0, 3]), glow.sample(2, seed=[0, 3]))

  def test_temperature_zero_gives_the_prior_means(self):
    glow = tiny_glow()
    a = glow.sample(2, seed=[1, 1], temperature=0.)
    b = glow.sample(2, seed=[9, 9], temperature=0.)
    self.assertAllClose(a, b, atol=0.)
    zeros = [tf.zeros([2, *s], tf.float64) for s in glow.latent_shapes]
    self.assertAllClose(a, glow.decode(zeros), atol=1e-12)
    c = glow.sample(2, seed=[1, 1], temperature=1.)
    self.assertGreater(float(tf.reduce_max(tf.abs(a - c))), 1e-3)

  def test_temperature_scales_every_prior(self):
    glow = tiny_glow()
    x = glow.sample(4, seed=[3, 3], temperature=0.5)
    for z in glow.encode(x):
      self.assertAllClose(
          z, 0.5 * tf.reshape(z, z.shape) / 0.5, atol=0)  # shapes only
    eps_half = glow.bijector.pack_latents(glow.encode(x))
    eps_one = glow.distribution.sample(4, seed=[3, 3])
    self.assertAllClose(eps_half, 0.5 * eps_one, atol=1e-10)

  def test_class_conditional_sampling_follows_labels(self):
    glow = tiny_glow(num_classes=3)
    prior = glow.bijector.top_prior
    mean, _ = prior.mean_and_log_scale(tf.constant([0, 1, 2]))
    self.assertGreater(float(tf.reduce_max(tf.abs(mean[0] - mean[1]))), 1e-3)
    labels = tf.constant([0, 1, 2, 0])
    x = glow.sample(4, seed=[5, 5], temperature=0., labels=labels)
    self.assertAllClose(x[0], x[3], atol=1e-12)
    self.assertGreater(float(tf.reduce_max(tf.abs(x[0] - x[1]))), 1e-3)
    # The top latent of a sample at temperature 0 is its class's mean.
    top = glow.encode(x, labels=labels)[-1]
    self.assertAllClose(top, tf.zeros_like(top), atol=1e-9)
    # With equal class scales, the sampled class's mean is the most likely.
    prior.class_log_scale.assign(tf.zeros_like(prior.class_log_scale))
    x = glow.sample(4, seed=[5, 5], temperature=0., labels=labels)
    lp_right = glow.log_prob(x, labels=labels)
    lp_wrong = glow.log_prob(x, labels=tf.constant([1, 2, 0, 1]))
    self.assertTrue(bool(tf.reduce_all(lp_right > lp_wrong)))

  @parameterized.parameters(False, True)
  def test_every_variable_gets_a_gradient(self, edge_padding):
    glow = tiny_glow(num_classes=3, edge_padding=edge_padding)
    edges = [v for v in glow.trainable_variables if 'edge' in v.name]
    # One per coupling network's two 3x3 convolutions, one per split prior.
    self.assertLen(edges, 2 * 2 * 2 + 1 if edge_padding else 0)
    x = images()
    with tf.GradientTape() as tape:
      loss = -tf.reduce_mean(glow.log_prob(x, labels=tf.constant([0, 1, 2])))
    grads = tape.gradient(loss, glow.trainable_variables)
    for var, grad in zip(glow.trainable_variables, grads):
      self.assertIsNotNone(grad, var.name)
      self.assertTrue(bool(tf.reduce_all(tf.math.is_finite(grad))), var.name)
      self.assertGreater(float(tf.reduce_max(tf.abs(grad))), 0., var.name)

  def test_act_norm_log_scale_factor_changes_the_parametrisation_only(self):
    # Initialised on the same batch, factors 1 and 3 give the same function
    # (the ActNorms' variables differ by the factor; the others, moved off
    # their zero start so that every ActNorm gets a gradient, are equal), and
    # one Adam step from there moves every ActNorm's applied log-scale 3
    # times as far with factor 3: Adam's first step has the same size in
    # every parameter.
    x = images(8)
    glows, norms = [], []
    for factor in (1.0, 3.0):
      glow = glow_tf.Glow(tiny_config(act_norm_log_scale_factor=factor),
                          seed=0)
      glow.initialize(x)
      glow_norms = [m for m in glow.bijector.submodules
                    if isinstance(m, (ActNorm, glow_tf.networks.ActNormLayer))]
      fixed = {id(v) for n in glow_norms for v in (n.log_scale, n.bias)}
      rng = np.random.default_rng(7)
      for v in glow.trainable_variables:
        if id(v) not in fixed:
          v.assign_add(rng.normal(0.0, 0.05, v.shape))
      glows.append(glow)
      norms.append(glow_norms)
    self.assertAllClose(glows[0].log_prob(x), glows[1].log_prob(x),
                        rtol=1e-12, atol=1e-10)
    # Per level and step: the step's ActNorm and its network's two.
    self.assertLen(norms[0], 2 * 2 * 3)
    for one, three in zip(*norms):
      self.assertAllClose(three.log_scale * 3.0, one.log_scale, atol=1e-12)
    moved = []
    for glow, glow_norms in zip(glows, norms):
      before = [n.applied_log_scale.numpy() for n in glow_norms]
      with tf.GradientTape() as tape:
        loss = -tf.reduce_mean(glow.log_prob(x))
      grads = tape.gradient(loss, glow.trainable_variables)
      tf.keras.optimizers.Adam(1e-3, epsilon=1e-12).apply_gradients(
          zip(grads, glow.trainable_variables))
      moved.append([np.abs(n.applied_log_scale.numpy() - b)
                    for n, b in zip(glow_norms, before)])
    for one, three in zip(*moved):
      self.assertAllClose(three, 3.0 * one, rtol=1e-6, atol=1e-12)
      self.assertGreater(one.max(), 5e-4)

  def test_log_prob_runs_each_coupling_network_once(self):
    # Every run of a coupling network by the fast kernels computes its
    # hidden layers once (`FastKernels._hidden`).
    glow = tiny_glow()
    calls = []
    original = FastKernels._hidden  # pylint: disable=protected-access

    def counting(kernels, net, *args, **kwargs):
      calls.append(net)
      return original(kernels, net, *args, **kwargs)

    FastKernels._hidden = counting  # pylint: disable=protected-access
    try:
      glow.log_prob(images())
      couplings = [m for m in glow.bijector.submodules
                   if isinstance(m, AffineCoupling)]
      self.assertLen(calls, len(couplings))
      calls.clear()
      glow.sample(1, seed=[1, 2])
      self.assertLen(calls, len(couplings))
      calls.clear()
      glow.sample(2, seed=[1, 2])  # two halves, side by side
      self.assertLen(calls, 2 * len(couplings))
      calls.clear()
      # Where a GPU would run the graph, one chain (a graph's ops are not
      # placed when traced, so the visible devices decide).
      with mock.patch.object(
          tf.config, 'list_logical_devices',
          lambda kind=None: ['/device:GPU:0'] if kind == 'GPU' else []):
        in_graph = tf.function(lambda: glow.sample(2, seed=[1, 2]))
        self.assertAllClose(in_graph(), glow.sample(2, seed=[1, 2]),
                            atol=1e-12)
        self.assertLen(calls, 3 * len(couplings))
        calls.clear()

        @tf.function
        def on_cpu():
          with tf.device('/CPU:0'):  # placed on the CPU: halves again
            return glow.sample(2, seed=[1, 2])

        on_cpu()
        self.assertLen(calls, 2 * len(couplings))
      calls.clear()
      x, log_prob = glow.experimental_sample_and_log_prob(2, seed=[1, 2])
      self.assertLen(calls, len(couplings))
    finally:
      FastKernels._hidden = original  # pylint: disable=protected-access
    self.assertAllClose(log_prob, glow.log_prob(tf.identity(x)), atol=1e-8)
    self.assertAllClose(x, glow.sample(2, seed=[1, 2]), atol=1e-12)

  def test_initialize_normalises_first_batch_in_order(self):
    glow = glow_tf.Glow(tiny_config(image_shape=(8, 8, 1), hidden_channels=8))
    x = images(64, (8, 8, 1), dtype=tf.float64) * 0.3 + 0.1
    glow.initialize(x)
    act_norms = [m for m in glow.bijector.submodules if isinstance(m, ActNorm)]
    self.assertTrue(all(bool(a.initialized) for a in act_norms))
    first = glow.bijector.steps[0].bijectors[0].bijectors[0]
    h = first.inverse(glow_tf.bijectors.Squeeze(dtype=tf.float64).forward(x))
    self.assertAllClose(tf.reduce_mean(h, [0, 1, 2]), tf.zeros([4]), atol=1e-8)
    # ActNorm divides by (std + 1e-6): unit variance up to 1e-6 / std.
    self.assertAllClose(tf.math.reduce_std(h, [0, 1, 2]), tf.ones([4]),
                        atol=1e-4)
    # The second step's ActNorm saw the first step's (initialised) output.
    step0 = glow.bijector.steps[0].bijectors[0]
    second = glow.bijector.steps[0].bijectors[1].bijectors[0]
    h2 = second.inverse(step0.inverse(glow_tf.bijectors.Squeeze(dtype=tf.float64).forward(x)))
    self.assertAllClose(tf.reduce_mean(h2, [0, 1, 2]), tf.zeros([4]),
                        atol=1e-8)
    before = [v.numpy() for v in glow.trainable_variables]
    glow.initialize(x * 2.0)   # already initialised: nothing changes
    for b, v in zip(before, glow.trainable_variables):
      self.assertAllEqual(b, v.numpy())

  @parameterized.named_parameters(
      ('empty', lambda x: x[:0], 'at least one image'),
      ('nan', lambda x: tf.tensor_scatter_nd_update(
          x, [[0, 0, 0, 0]], [np.nan]), 'finite'),
      ('inf', lambda x: x + np.inf, 'finite'))
  def test_initialize_refuses_batches_that_would_poison_it(self, bad, message):
    # Initialised from NaN statistics, the ActNorms would keep them for good
    # (a second initialize leaves initialised ActNorms alone).
    glow = glow_tf.Glow(tiny_config(), seed=0)
    x = images(8)
    with self.assertRaisesRegex(ValueError, message):
      glow.initialize(bad(x))
    act_norms = [m for m in glow.bijector.submodules if isinstance(m, ActNorm)]
    self.assertFalse(any(bool(a.initialized) for a in act_norms))
    glow.initialize(x)  # still possible, and finite
    self.assertTrue(np.all(np.isfinite(glow.log_prob(x))))

  def test_act_norm_initialisation_asserts_in_a_graph(self):
    # In a tf.function the values are not known when it is traced: the
    # assertion stops the run before any variable is assigned.
    glow = glow_tf.Glow(tiny_config(), seed=0)
    init = tf.function(glow.initialize, input_signature=[
        tf.TensorSpec([None, 4, 4, 2], tf.float64)])
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError,
                                'non-empty batch of finite values'):
      init(images(8)[:0])
    act_norms = [m for m in glow.bijector.submodules if isinstance(m, ActNorm)]
    self.assertFalse(any(bool(a.initialized) for a in act_norms))
    init(images(8))
    self.assertTrue(all(bool(a.initialized) for a in act_norms))

  def test_log_prob_in_tf_function_with_unknown_batch(self):
    glow = tiny_glow()
    fn = tf.function(glow.log_prob, input_signature=[
        tf.TensorSpec([None, 4, 4, 2], tf.float64)])
    x = images(5)
    self.assertAllClose(fn(x), glow.log_prob(x), rtol=1e-12)

  @parameterized.parameters(
      dict(),
      # float32: on CPU, TensorFlow's oneDNN Conv2D (which leaves float64
      # alone) returns an empty batch unchanged, with its input's channels.
      dict(dtype='float32'),
      # A width above the couplings' outputs (wider in than out, unlike 4).
      dict(dtype='float32', coupling='additive', permutation='shuffle',
           hidden_channels=16),
      dict(dtype='float32', num_classes=3),
  )
  def test_empty_batch(self, **overrides):
    glow = tiny_glow(**overrides)
    dtype, classes = glow.dtype, overrides.get('num_classes')
    x = images(3, dtype=dtype)
    empty = x[:0]
    latent_shapes = [list(s) for s in glow.latent_shapes]
    zeros = [tf.zeros([0, *s], dtype) for s in latent_shapes]

    def labels(n):  # {'labels': [n] ints} for the class-conditional model
      return {'labels': tf.range(n) % classes} if classes else {}

    def run(x, latents):  # log_prob, encode, decode and sample of a batch
      kwargs = labels(tf.shape(x)[0])
      return (glow.log_prob(x, **kwargs), glow.encode(x, **kwargs),
              glow.decode(latents, **kwargs),
              glow.sample(tf.shape(x)[0], seed=[1, 2], **kwargs))

    def check_empty(log_prob, latents, images, samples):
      self.assertEqual((log_prob.shape, log_prob.dtype), ([0], dtype))
      self.assertEqual([z.shape for z in latents],
                       [[0, *s] for s in latent_shapes])
      self.assertEqual(images.shape, [0, 4, 4, 2])
      self.assertEqual(samples.shape, [0, 4, 4, 2])

    check_empty(*run(empty, zeros))                # eagerly
    check_empty(*tf.function(run)(empty, zeros))   # a static batch of 0
    unknown = tf.function(run, input_signature=[  # an unknown batch size
        tf.TensorSpec([None, 4, 4, 2], dtype),
        [tf.TensorSpec([None, *s], dtype) for s in latent_shapes]])
    check_empty(*unknown(empty, zeros))

    # An empty part changes nothing in the rest of a batch, and the traced
    # function gives the eager values.
    self.assertAllEqual(
        glow.log_prob(tf.concat([x, empty], 0), **labels(3)),
        glow.log_prob(x, **labels(3)))
    latents = glow.encode(x, **labels(3))
    tol = 1e-12 if dtype == tf.float64 else 1e-5
    self.assertAllClose(unknown(x, latents), run(x, latents), rtol=tol,
                        atol=tol)
    self.assertAllClose(glow.decode(latents, **labels(3)), x, atol=tol)

  def test_float32_model(self):
    glow = glow_tf.Glow(tiny_config(dtype='float32'))
    x = images(dtype=tf.float32)
    glow.initialize(x)
    self.assertEqual(glow.log_prob(x).dtype, tf.float32)
    self.assertAllClose(glow.decode(glow.encode(x)), x, atol=1e-5)

  def test_bfloat16_networks_keep_the_change_of_variables(self):
    config = tiny_config(dtype='float32', hidden_channels=16)
    reference = glow_tf.Glow(config)
    mixed = glow_tf.Glow(config.replace(network_dtype='bfloat16'))
    x = images(n=4, dtype=tf.float32)
    reference.initialize(x)
    perturb_variables(reference.bijector, seed=0, scale=0.1)
    mixed.initialize(x)
    for target, source in zip(mixed.variables, reference.variables):
      target.assign(source)
    flow = mixed.bijector
    with tf.GradientTape(persistent=True) as tape:
      tape.watch(x)
      eps = flow.inverse(x)
      flat = tf.reshape(eps, [4, -1])
      log_prob = mixed.log_prob(x)
      loss = -tf.reduce_mean(log_prob)
    # The couplings' log-dets are their scales' whatever NN computes, so the
    # autodiff Jacobian's determinant is still the log-det, to float32.
    _, log_abs_det = tf.linalg.slogdet(
        tf.reshape(tape.batch_jacobian(flat, x), [4, 32, 32]))
    ildj = flow.inverse_log_det_jacobian(x, event_ndims=3)
    self.assertAllClose(log_abs_det, ildj, rtol=1e-4, atol=1e-4)
    self.assertAllClose(mixed.distribution.log_prob(eps) + ildj, log_prob,
                        rtol=1e-5, atol=1e-5)
    # bfloat16 networks are the float32 ones to about 2**-8: log_prob moves
    # by far less than training changes it, but it does move.
    reference_log_prob = reference.log_prob(x)
    self.assertAllClose(log_prob, reference_log_prob, rtol=0.01)
    self.assertNotAllClose(log_prob, reference_log_prob, rtol=1e-6)
    # Decoding reruns NN on recomputed inputs, which may round differently.
    self.assertAllClose(mixed.decode(mixed.encode(x)), x, atol=0.02)
    grads = tape.gradient(loss, mixed.trainable_variables)
    for var, grad in zip(mixed.trainable_variables, grads):
      self.assertIsNotNone(grad, var.name)
      self.assertEqual(grad.dtype, tf.float32, var.name)
      self.assertGreater(float(tf.reduce_max(tf.abs(grad))), 0., var.name)

  def test_bad_inputs(self):
    glow = tiny_glow(num_classes=3)
    x = images()
    labels = tf.constant([0, 1, 2])
    with self.assertRaisesRegex(ValueError, r'shape \[..., 4, 4, 2\]'):
      glow.log_prob(images(shape=(4, 4, 1)), labels=labels)
    with self.assertRaisesRegex(ValueError, 'dtype float64'):
      glow.log_prob(tf.cast(x, tf.float32), labels=labels)
    unknown_rank = tf.function(
        lambda x: glow.log_prob(x, labels=labels),
        input_signature=[tf.TensorSpec(None, tf.float64)])
    with self.assertRaisesRegex(ValueError, 'known rank'):
      unknown_rank(x)
    with self.assertRaisesRegex(ValueError, 'dequantize'):
      glow.log_prob(tf.zeros([3, 4, 4, 2], tf.uint8), labels=labels)
    with self.assertRaisesRegex(ValueError, 'pass `labels`'):
      glow.log_prob(x)
    with self.assertRaisesRegex(ValueError, r'labels` must be in \[0, 3\)'):
      glow.log_prob(x, labels=tf.constant([0, 1, 3]))
    with self.assertRaisesRegex(ValueError, 'integers'):
      glow.log_prob(x, labels=tf.constant([0., 1., 2.]))
    with self.assertRaisesRegex(ValueError, 'pass `labels`'):
      glow.sample(2)
    with self.assertRaisesRegex(ValueError, 'temperature must be >= 0'):
      glow.sample(3, temperature=-0.5, labels=labels)
    with self.assertRaisesRegex(ValueError, 'temperature must be >= 0'):
      glow.sample(3, temperature=float('nan'), labels=labels)
    for bad in (float('inf'), tf.constant(np.nan, tf.float64),
                tf.constant(np.inf, tf.float64), 'hot'):
      with self.assertRaisesRegex(ValueError, 'temperature must be >= 0 and '
                                  'finite'):
        glow.sample(3, temperature=bad, labels=labels)
    with self.assertRaisesRegex(ValueError, 'temperature must be a scalar'):
      glow.sample(3, temperature=tf.constant([0.5, 0.7], tf.float64),
                  labels=labels)
    in_graph = tf.function(lambda t: glow.sample(3, temperature=t,
                                                 labels=labels))
    for bad in (np.nan, np.inf, -1.0):
      with self.assertRaisesRegex(tf.errors.InvalidArgumentError,
                                  'temperature must be'):
        in_graph(tf.constant(bad, tf.float64))
    for bad in ([0, 1], [[0], [1], [2]]):  # batch of 3
      with self.assertRaisesRegex(ValueError, r'batch shape \[3\]'):
        glow.log_prob(x, labels=bad)
      with self.assertRaisesRegex(ValueError, r'batch shape \[3\]'):
        glow.encode(x, labels=bad)
      with self.assertRaisesRegex(ValueError, r'batch shape \[3\]'):
        glow.sample(3, labels=bad)
      with self.assertRaisesRegex(ValueError, r'batch shape \[3\]'):
        glow.decode(glow.encode(x, labels=labels), labels=bad)
    # Integer labels of any width are taken (tf.gather wants int32/int64).
    for dtype in (tf.uint8, tf.int16, tf.uint32, tf.uint64):
      self.assertAllClose(glow.log_prob(x, labels=tf.cast(labels, dtype)),
                          glow.log_prob(x, labels=labels))
    # Not wrapped into range by the cast: 2**32 stays out of range.
    with self.assertRaisesRegex(ValueError, r'labels` must be in \[0, 3\)'):
      glow.log_prob(x, labels=tf.constant([0, 1, 2**32], tf.uint64))
    with self.assertRaisesRegex(ValueError, 'Expected 2 latents'):
      glow.decode(glow.encode(x, labels=labels)[:1], labels=labels)
    latents = glow.encode(x, labels=labels)
    with self.assertRaisesRegex(ValueError, 'Expected a list of 2 latents'):
      glow.decode(latents[0], labels=labels)
    with self.assertRaisesRegex(ValueError, 'Latent 1 must have dtype '
                                'float64'):
      glow.decode([latents[0], tf.cast(latents[1], tf.float32)],
                  labels=labels)
    # numpy values are cast, as tf.convert_to_tensor does.
    self.assertAllClose(
        glow.decode([z.numpy().astype(np.float32) for z in latents],
                    labels=labels),
        glow.decode(latents, labels=labels), atol=1e-5)
    with self.assertRaisesRegex(ValueError, 'GlowConfig'):
      glow_tf.Glow({'image_shape': (4, 4, 2)})
    for bad in (-1, 2.5, [2, -1], True):
      with self.assertRaisesRegex(ValueError, 'sample_shape must be a '
                                  'non-negative int'):
        glow.sample(bad, labels=labels)
    for bad in (-1, 'a', 1.5):
      with self.assertRaisesRegex(ValueError, '`seed` must be a non-negative '
                                  'integer'):
        glow_tf.Glow(tiny_config(), seed=bad)

  def test_labels_rejected_without_classes(self):
    glow = tiny_glow()
    with self.assertRaisesRegex(ValueError, 'num_classes=None'):
      glow.log_prob(images(), labels=tf.constant([0, 1, 2]))


class DequantizationTest(tf.test.TestCase):

  def test_uniform_noise_is_the_images_own_or_glow_tf_dequantize(self):
    glow = tiny_glow()
    self.assertIsNone(glow.dequantizer)
    raw = tf.constant(np.random.default_rng(0).integers(
        0, 256, (3, 4, 4, 2)).astype(np.uint8))
    x, log_q = glow.dequantize_and_log_q(raw, seed=4)
    self.assertAllEqual(x, glow_tf.dequantize(raw, 8, seed=4,
                                              dtype=tf.float64))
    self.assertAllEqual(log_q, tf.zeros([3], tf.float64))
    # Already dequantised images are a draw of the uniform noise: as given.
    self.assertAllEqual(glow.dequantize_and_log_q(x)[0], x)
    with self.assertRaisesRegex(ValueError, r'shape \[\.\.\., 4, 4, 2\]'):
      glow.dequantize_and_log_q(tf.zeros([3, 4, 4, 1], tf.uint8))
    with self.assertRaisesRegex(ValueError, 'must have dtype float64'):
      glow.dequantize_and_log_q(tf.cast(x, tf.float32))

  def test_a_variational_dequantizer_belongs_to_the_model(self):
    glow = glow_tf.Glow(tiny_config(dequantization='variational',
                                    dequantizer_steps=2,
                                    dequantizer_channels=4), seed=0)
    uniform = glow_tf.Glow(tiny_config(), seed=0)
    own = glow.dequantizer.trainable_variables
    self.assertLen(glow.trainable_variables,
                   len(uniform.trainable_variables) + len(own))
    ids = {id(v) for v in glow.trainable_variables}
    self.assertTrue(all(id(v) in ids for v in own))
    # `initialize` initialises it with the flow: `initialized` waits for it.
    x = images(8)
    uniform.initialize(x)
    self.assertTrue(uniform.initialized)
    glow.bijector.initialize(x)
    self.assertFalse(glow.initialized)
    glow.initialize(x)
    self.assertTrue(glow.initialized)
    y, log_q = glow.dequantize_and_log_q(x, seed=1)
    self.assertAllEqual(glow_tf.images.model_space_bins(y, 8),
                        glow_tf.images.model_space_bins(x, 8))
    self.assertNotAllClose(y, x)
    self.assertEqual(log_q.shape, [8])
    # Saved and restored with the model.
    path = tf.train.Checkpoint(model=glow).write(self.get_temp_dir() + '/c')
    again = glow_tf.Glow(glow.config, seed=1)
    tf.train.Checkpoint(model=again).read(path).assert_consumed()
    self.assertAllEqual(again.dequantize_and_log_q(x, seed=1)[0], y)


if __name__ == '__main__':
  tf.test.main()
