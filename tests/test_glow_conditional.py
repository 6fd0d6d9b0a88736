"""Tests of conditional Glow, `p(x | context)`: the model as a whole.

The bijectors' own conditional tests are beside theirs (tests/bijectors/),
the encoder's in tests/test_context_encoder.py. Here: the change of
variables of the whole flow for a fixed context (against an autodiff
Jacobian), the paper's sum of priors, encode/decode, TFP's
`bijector_kwargs` route, sampling with one context for every sample,
gradients (the memory-saving path's too), the kernels, the class-prediction
loss, and the errors.
"""

import functools

from absl.testing import parameterized
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

import glow_tf
from glow_tf import memory
from glow_tf.bijectors import inverse_and_log_det
from tests.bijector_checks import perturb_variables

tfb = tfp.bijectors
tfd = tfp.distributions

_VECTOR = (3,)
_IMAGE = (2, 2, 1)  # level 0 is 2x2 (as is), level 1 1x1 (average pool)


def conditional_config(context_shape=_VECTOR, **overrides):
  """4x4x2 images, L=2, K=1, float64.

  'matmul' kernels: the fast kernels' maths (folded ActNorms, batch halves
  when sampling) without XLA's compilation of every new shape; the
  equivalence test compares 'fast' too.
  """
  return glow_tf.GlowConfig(
      image_shape=(4, 4, 2), num_levels=2, num_steps=1, hidden_channels=4,
      dtype='float64', context_shape=context_shape, context_channels=2,
      kernels='matmul').replace(**overrides)


def images(n=3, seed=3):
  return tf.random.stateless_uniform([n, 4, 4, 2], seed=[seed, 0],
                                     dtype=tf.float64) - 0.5


def contexts(n, context_shape=_VECTOR, seed=5):
  return tf.random.stateless_normal([n, *context_shape], seed=[seed, 31],
                                    dtype=tf.float64)


def conditional_glow(context_shape=_VECTOR, seed=0, **overrides):
  """A float64 conditional Glow, initialised on data, every variable moved."""
  glow = glow_tf.Glow(conditional_config(context_shape, **overrides),
                      seed=seed)
  glow.initialize(images(8, seed=1), context=None if context_shape is None
                  else contexts(8, context_shape, 1))
  perturb_variables(glow, seed=seed, scale=0.1)
  return glow


def _labels_kwargs(glow, labels=(0, 2, 1)):
  return ({'labels': tf.constant(labels)}
          if glow.config.num_classes else {})


def _max_abs(t):
  return float(tf.reduce_max(tf.abs(tf.convert_to_tensor(t))))


_CASES = (('vector', dict(context_shape=_VECTOR)),
          ('image', dict(context_shape=_IMAGE)),
          ('image_and_labels', dict(context_shape=_IMAGE, num_classes=3)))


class ConditionalGlowTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(*_CASES)
  def test_log_prob_is_the_change_of_variables(self, overrides):
    # For a fixed context the flow is a bijection of x: its log-det is
    # slogdet of the autodiff Jacobian of x -> eps ([3, 32, 32]).
    glow = conditional_glow(**overrides)
    x, context = images(), contexts(3, overrides['context_shape'])
    kwargs = dict(context=context, **_labels_kwargs(glow))
    flow = glow.bijector
    with tf.GradientTape() as tape:
      tape.watch(x)
      eps = flow.inverse(x, **kwargs)
      flat = tf.reshape(eps, [3, -1])
    jacobian = tf.reshape(tape.batch_jacobian(flat, x), [3, 32, 32])
    _, log_abs_det = tf.linalg.slogdet(jacobian)
    base = tf.reduce_sum(tfd.Normal(np.float64(0), 1.).log_prob(flat), -1)
    log_prob = glow.log_prob(x, **kwargs)
    self.assertAllClose(base + log_abs_det, log_prob, rtol=1e-10, atol=1e-10)
    self.assertGreater(_max_abs(log_abs_det), 1.0)
    eps_one_pass, ildj = flow.inverse_and_log_det(x, **kwargs)
    self.assertAllClose(eps_one_pass, eps, atol=1e-12)
    self.assertAllClose(glow.distribution.log_prob(eps) + ildj, log_prob,
                        rtol=1e-12, atol=1e-12)
    fldj = flow.forward_log_det_jacobian(eps, event_ndims=3, **kwargs)
    self.assertAllClose(fldj, -ildj, rtol=1e-10, atol=1e-10)
    # The density is conditional: another context, another density.
    other = glow.log_prob(x, **dict(kwargs, context=context[::-1]))
    self.assertGreater(_max_abs(other - log_prob), 1e-3)

  def test_log_prob_is_the_papers_sum_of_conditional_priors(self):
    glow = conditional_glow(_IMAGE, num_classes=3)
    x, context = images(), contexts(3, _IMAGE)
    labels = tf.constant([0, 2, 1])
    flow = glow.bijector
    features = flow.context_features(context)
    squeeze = glow_tf.bijectors.Squeeze(dtype=tf.float64)
    total, h = tf.zeros([3], tf.float64), x
    for level, steps in enumerate(flow.steps):
      # TFP's route to each step's coupling, one dict per level of nesting.
      route = {step.name: {'affine_coupling': {'context': features[level]}}
               for step in steps.bijectors}
      h = squeeze.forward(h)
      total += steps.inverse_log_det_jacobian(h, event_ndims=3, **route)
      h = steps.inverse(h, **route)
      if level < flow.num_levels - 1:
        split = flow.split_priors[level]
        kept, z = h[..., :split.kept_channels], h[..., split.kept_channels:]
        mean, log_scale = split.mean_and_log_scale(kept, features[level])
        total += tf.reduce_sum(
            tfd.Normal(mean, tf.exp(log_scale)).log_prob(z), [1, 2, 3])
        h = kept
    mean, log_scale = flow.top_prior.mean_and_log_scale(
        labels, features[-1], like=h)
    self.assertEqual(mean.shape, h.shape)  # per pixel, per example
    total += tf.reduce_sum(tfd.Normal(mean, tf.exp(log_scale)).log_prob(h),
                           [1, 2, 3])
    self.assertAllClose(total, glow.log_prob(x, labels=labels,
                                             context=context), rtol=1e-10)

  @parameterized.named_parameters(*_CASES)
  def test_encode_decode_round_trip(self, overrides):
    glow = conditional_glow(**overrides)
    x, context = images(), contexts(3, overrides['context_shape'])
    kwargs = _labels_kwargs(glow)
    latents = glow.encode(x, context=context, **kwargs)
    self.assertEqual([tuple(z.shape[1:]) for z in latents],
                     [(2, 2, 4), (1, 1, 16)])
    self.assertAllClose(glow.decode(latents, context=context, **kwargs), x,
                        atol=1e-10)
    # Decoding under another context gives another image.
    self.assertGreater(_max_abs(
        glow.decode(latents, context=context[::-1], **kwargs) - x), 1e-3)

  def test_bijector_kwargs_route_equals_the_keywords(self):
    glow = conditional_glow(_IMAGE, num_classes=3)
    x, context = images(), contexts(3, _IMAGE)
    labels = tf.constant([1, 1, 0])
    expected = glow.log_prob(x, labels=labels, context=context)
    self.assertAllEqual(
        glow.log_prob(x, bijector_kwargs={'context': context,
                                          'labels': labels}), expected)
    self.assertAllEqual(
        glow.log_prob(x, labels=labels, bijector_kwargs={'context': context}),
        expected)
    with self.assertRaisesRegex(ValueError, '`context` given twice'):
      glow.log_prob(x, labels=labels, context=context,
                    bijector_kwargs={'context': context})
    with self.assertRaisesRegex(ValueError, r"bijector_kwargs may hold "
                                r"\['labels', 'context'\], got \['step_0'\]"):
      glow.log_prob(x, bijector_kwargs={'step_0': {}})

  @parameterized.named_parameters(('vector', _VECTOR), ('image', _IMAGE))
  def test_one_context_for_every_sample_equals_it_tiled(self, context_shape):
    # Five samples: the fast kernels run them as two halves, each with its
    # half of the contexts.
    glow = conditional_glow(context_shape)
    one = contexts(1, context_shape)[0]
    tiled = tf.tile(one[None], [5] + [1] * len(context_shape))
    sample = functools.partial(glow.sample, 5, seed=[4, 2], temperature=0.8)
    broadcast = sample(context=one)
    self.assertEqual(broadcast.shape, [5, 4, 4, 2])
    self.assertAllClose(broadcast, sample(context=tiled), rtol=0, atol=1e-12)
    self.assertAllClose(broadcast, sample(context=one.numpy()), atol=1e-12)
    self.assertAllClose(broadcast, sample(context=one.numpy().tolist()),
                        atol=1e-12)
    # Each image is the flow's forward of its latent under its context.
    eps = glow.distribution.sample(5, seed=[4, 2]) * 0.8
    self.assertAllClose(broadcast, glow.bijector.forward(eps, context=tiled),
                        rtol=1e-12, atol=1e-12)
    per_sample = contexts(5, context_shape, seed=9)
    self.assertAllClose(sample(context=per_sample),
                        glow.bijector.forward(eps, context=per_sample),
                        rtol=1e-12, atol=1e-12)
    self.assertGreater(_max_abs(sample(context=per_sample) - broadcast), 1e-3)
    # A sample shape of two dimensions, one context.
    eps = glow.distribution.sample([2, 3], seed=[4, 2])
    self.assertAllClose(
        glow.sample([2, 3], seed=[4, 2], context=one),
        glow.bijector.forward(eps, context=tf.tile(
            one[None, None], [2, 3] + [1] * len(context_shape))),
        rtol=1e-12, atol=1e-12)

  @parameterized.named_parameters(*_CASES)
  def test_every_variable_and_the_context_get_a_gradient(self, overrides):
    glow = conditional_glow(**overrides)
    names = [v.name for v in glow.trainable_variables]
    self.assertLen([n for n in names if 'context_encoder' in n], 2)
    x, context = images(), contexts(3, overrides['context_shape'])
    with tf.GradientTape() as tape:
      tape.watch(context)
      loss = -tf.reduce_mean(glow.log_prob(x, context=context,
                                           **_labels_kwargs(glow)))
    grads = tape.gradient(loss, [context] + list(glow.trainable_variables))
    for name, grad in zip(['context'] + names, grads):
      self.assertIsNotNone(grad, name)
      grad = tf.convert_to_tensor(grad)
      self.assertTrue(np.all(np.isfinite(grad)), name)
      self.assertGreater(_max_abs(grad), 0, name)

  @parameterized.named_parameters(
      ('vector', dict(context_shape=_VECTOR), False),
      ('image_and_labels', dict(context_shape=_IMAGE, num_classes=3), True))
  def test_memory_saving_gradient_equals_the_plain_one(self, overrides,
                                                       in_graph):
    # Two steps a level: the context's gradient adds up over the couplings
    # that the memory-saving gradient rebuilds one by one.
    glow = conditional_glow(num_steps=2, **overrides)
    x, context = images(), contexts(3, overrides['context_shape'])
    kwargs = _labels_kwargs(glow)
    weights = tf.constant([1.0, 2.0, 3.0], tf.float64)
    variables = list(glow.trainable_variables)

    def value_and_grads(log_prob):
      with tf.GradientTape() as tape:
        tape.watch([x, context])
        lp = log_prob(x, context=context, **kwargs)
        loss = tf.reduce_sum(weights * lp)
      return [lp] + tape.gradient(loss, [x, context] + variables)

    saving = functools.partial(memory.memory_saving_log_prob, glow)
    plain = value_and_grads(glow.log_prob)
    for compile_fn in [lambda f: f] + [tf.function] * in_graph:
      rebuilt = compile_fn(lambda: value_and_grads(saving))()
      self.assertAllClose(plain[0], rebuilt[0], rtol=1e-10)
      for name, a, b in zip(['x', 'context'] + [v.name for v in variables],
                            plain[1:], rebuilt[1:]):
        self.assertIsNotNone(b, name)
        a, b = tf.convert_to_tensor(a), tf.convert_to_tensor(b)
        self.assertGreater(_max_abs(a), 0, name)
        self.assertLess(_max_abs(a - b) / _max_abs(a), 1e-6, name)

  def test_fast_kernels_equal_the_reference_with_a_context(self):
    # hidden 16 > 8 outputs at level 0: the fused sampling direction there.
    glows = {kernels: glow_tf.Glow(conditional_config(
        _IMAGE, hidden_channels=16, kernels=kernels), seed=2)
             for kernels in ('fast', 'matmul', 'reference')}
    reference = glows.pop('reference')
    x, context = images(4), contexts(4, _IMAGE)
    for glow in [reference, *glows.values()]:
      glow.initialize(images(8, seed=1), context=contexts(8, _IMAGE, 1))
      perturb_variables(glow, seed=3, scale=0.1)

    def results(glow):
      with tf.GradientTape() as tape:
        tape.watch(context)
        log_prob = glow.log_prob(x, context=context)
        loss = tf.reduce_sum(log_prob)
      grads = tape.gradient(loss, [context] + list(glow.trainable_variables))
      return ([log_prob, glow.sample(4, seed=[6, 1], temperature=0.7,
                                     context=context)] +
              glow.encode(x, context=context) + grads)

    expected = results(reference)
    for kernels, glow in glows.items():
      # The same seed builds the same weights, whichever kernels.
      for a, b in zip(glow.variables, reference.variables):
        self.assertEqual(a.name, b.name)
        self.assertAllEqual(a, b, msg=a.name)
      for i, (a, b) in enumerate(zip(results(glow), expected)):
        self.assertAllClose(tf.convert_to_tensor(a), tf.convert_to_tensor(b),
                            rtol=1e-10, atol=1e-10, msg=f'{kernels} {i}')

  def test_initialize_normalises_the_couplings_on_their_context(self):
    glow = glow_tf.Glow(conditional_config(_IMAGE), seed=0)
    x, context = images(8, seed=1), contexts(8, _IMAGE, 1)
    glow.initialize(x, context=context)
    self.assertTrue(glow.initialized)
    # The first coupling's input: squeeze, the step's ActNorm and 1x1 conv.
    flow = glow.bijector
    act_norm, conv, coupling = flow.steps[0].bijectors[0].bijectors
    y, _ = inverse_and_log_det(tfb.Chain([act_norm, conv]),
                               glow_tf.bijectors.Squeeze(
                                   dtype=tf.float64).forward(x))
    y_a, _ = coupling.split(y)
    f = flow.context_features(context)[0]
    network = coupling.network
    h = network.norm_in(network.conv_in(tf.concat([f, y_a], axis=-1)))
    self.assertAllClose(np.mean(h, axis=(0, 1, 2)), np.zeros(4), atol=1e-6)
    self.assertAllClose(np.std(h, axis=(0, 1, 2)), np.ones(4), atol=1e-3)

  def test_log_prob_in_a_tf_function_with_unknown_batch(self):
    glow = conditional_glow(_VECTOR)
    x, context = images(), contexts(3)
    traced = tf.function(
        lambda x, c: glow.log_prob(x, context=c), input_signature=[
            tf.TensorSpec([None, 4, 4, 2], tf.float64),
            tf.TensorSpec([None, 3], tf.float64)])
    expected = glow.log_prob(x, context=context)
    self.assertAllClose(traced(x, context), expected, rtol=1e-12, atol=1e-12)
    # Batch shape [3, 1]: the same densities.
    self.assertAllClose(glow.log_prob(x[:, None], context=context[:, None]),
                        expected[:, None], rtol=1e-12, atol=1e-12)
    unknown_rank = tf.function(
        lambda c: glow.sample(3, seed=[1, 2], context=c),
        input_signature=[tf.TensorSpec(None, tf.float64)])
    with self.assertRaisesRegex(ValueError, r'`context` must have a known '
                                r'rank \(\[batch, 3\]\).*TensorSpec\(\[None, '
                                r'3\]\)'):
      unknown_rank(context)


class ClassLossTest(tf.test.TestCase, parameterized.TestCase):
  """`class_loss_weight`: a linear classifier of the top latent's mean."""

  def test_starts_uniform(self):
    glow = glow_tf.Glow(conditional_config(
        _IMAGE, num_classes=3, class_loss_weight=0.01), seed=0)
    self.assertIsInstance(glow.classifier, glow_tf.networks.ZeroDense)
    self.assertAllEqual(glow.class_logits(images(), context=contexts(
        3, _IMAGE)), np.zeros([3, 3]))

  @parameterized.named_parameters(('conditional', _IMAGE),
                                  ('unconditional', None))
  def test_log_prob_and_class_logits_is_both_in_one_pass(self,
                                                         context_shape):
    glow = conditional_glow(context_shape, num_classes=3,
                            class_loss_weight=0.01)
    x = images()
    kwargs = ({} if context_shape is None else
              {'context': contexts(3, context_shape)})
    labels = tf.constant([2, 0, 1])
    log_prob, logits = glow.log_prob_and_class_logits(x, labels, **kwargs)
    self.assertAllClose(log_prob, glow.log_prob(x, labels=labels, **kwargs),
                        rtol=1e-12, atol=1e-12)
    # class_logits needs no labels, and does not depend on them.
    self.assertAllClose(logits, glow.class_logits(x, **kwargs), atol=1e-10)
    other_log_prob, other_logits = glow.log_prob_and_class_logits(
        x, tf.constant([0, 1, 2]), **kwargs)
    self.assertAllClose(other_logits, logits, atol=1e-10)
    self.assertGreater(_max_abs(other_log_prob - log_prob), 1e-3)
    # By hand: the official code's linear_zeros of the top input's mean.
    top = glow.bijector.top_input(x, **kwargs)
    classifier = glow.classifier
    expected = (tf.reduce_mean(top, axis=[1, 2]) @ classifier.kernel +
                classifier.bias) * tf.exp(3.0 * classifier.log_scale)
    self.assertAllClose(logits, expected, atol=1e-12)
    self.assertGreater(_max_abs(logits), 1e-2)
    # The memory-saving level inverse gives the same pair.
    saving = glow.log_prob_and_class_logits(
        x, labels, level_inverse=memory.reversible_steps, **kwargs)
    self.assertAllClose(saving, (log_prob, logits), rtol=1e-10, atol=1e-10)
    # One pass: the context is encoded once.
    encode = glow.bijector.context_features
    calls = []
    glow.bijector.context_features = lambda c: calls.append(c) or encode(c)
    try:
      glow.log_prob_and_class_logits(x, labels, **kwargs)
    finally:
      del glow.bijector.context_features
    self.assertLen(calls, 1)

  def test_the_classifier_learns_from_the_cross_entropy_only(self):
    glow = conditional_glow(_IMAGE, num_classes=3, class_loss_weight=0.01)
    x, context = images(), contexts(3, _IMAGE)
    labels = tf.constant([2, 0, 1])
    with tf.GradientTape(persistent=True) as tape:
      log_prob, logits = glow.log_prob_and_class_logits(x, labels,
                                                        context=context)
      cross_entropy = tf.reduce_mean(
          tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
      nll = -tf.reduce_mean(log_prob)
    classifier = glow.classifier.trainable_variables
    self.assertLen(classifier, 3)
    for variable, grad in zip(classifier,
                              tape.gradient(cross_entropy, classifier)):
      self.assertGreater(_max_abs(grad), 0, variable.name)
    self.assertEqual(list(tape.gradient(nll, classifier)), [None] * 3)
    # The cross-entropy also trains the flow below the top prior's input and
    # the context encoder; not the top prior, which it never reads.
    encoder = glow.bijector.context_encoder.trainable_variables
    for variable, grad in zip(encoder, tape.gradient(cross_entropy, encoder)):
      self.assertGreater(_max_abs(grad), 1e-6, variable.name)
    top_prior = glow.bijector.top_prior.trainable_variables
    self.assertNotEmpty(top_prior)
    self.assertEqual(list(tape.gradient(cross_entropy, top_prior)),
                     [None] * len(top_prior))

  def test_without_a_classifier(self):
    glow = conditional_glow(_VECTOR, num_classes=3)
    self.assertIsNone(glow.classifier)
    with self.assertRaisesRegex(ValueError, 'This model has no classifier'):
      glow.class_logits(images(), context=contexts(3))


class ContextErrorsTest(tf.test.TestCase, parameterized.TestCase):
  """Each method refuses a bad context with a message that names `context`."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.glow = conditional_glow(_VECTOR)
    cls.unconditional = glow_tf.Glow(conditional_config(None), seed=0)

  def _calls(self, glow, context):
    x = images()
    good = contexts(3) if glow.config.conditional else None
    latents = glow.encode(x, context=good)
    return {
        'log_prob': lambda: glow.log_prob(x, context=context),
        'encode': lambda: glow.encode(x, context=context),
        'decode': lambda: glow.decode(latents, context=context),
        'initialize': lambda: glow.initialize(x, context=context),
        'sample': lambda: glow.sample(3, seed=[1, 1], context=context),
        'memory_saving_log_prob': lambda: memory.memory_saving_log_prob(
            glow, x, context=context),
    }

  @parameterized.named_parameters(
      ('missing', None, r'This model is conditional \(context_shape=\(3,\)\):'
       r' pass `context`, float64 values shaped \[batch, 3\]'),
      ('event_shape', np.zeros([3, 4]), r'`context` must have shape '
       r'\(3, 3\) \(one context of shape \(3,\) per image of batch shape '
       r'\(3,\)\), got shape \(3, 4\)'),
      ('batch_size', np.zeros([2, 3]), r'`context` must have shape \(3, 3\)'
       r'.*got shape \(2, 3\)'),
      ('dtype', tf.zeros([3, 3], tf.float32), r'`context` must have dtype '
       r"float64 \(the model's\), got float32"),
      ('integers', np.zeros([3, 3], np.int32), r'`context` must be floats of '
       r'dtype float64, got int32'))
  def test_bad_context(self, context, message):
    for name, call in self._calls(self.glow, context).items():
      if name == 'sample' and context is not None and context.shape[0] == 2:
        message_here = r'`context` must have shape \(3, 3\)'
      else:
        message_here = message
      with self.assertRaisesRegex(ValueError, message_here, msg=name):
        call()

  def test_one_context_of_the_wrong_shape_for_every_sample(self):
    with self.assertRaisesRegex(ValueError, r'`context` must have shape '
                                r'\(1, 3\).*got shape \(1, 4\)'):
      self.glow.sample(3, seed=[1, 1], context=np.zeros([4]))

  def test_an_unconditional_model_refuses_a_context(self):
    for name, call in self._calls(self.unconditional, contexts(3)).items():
      with self.assertRaisesRegex(
          ValueError, r'unconditional \(context_shape=None\) but got a '
          r'`context`', msg=name):
        call()


if __name__ == '__main__':
  tf.test.main()
