"""The fast kernels compute the reference kernels' function: layers and the whole model.

Every comparison is in float64, with every parameter moved off its initial
value, values and gradients. Where the maths is the same (every place but
bfloat16) they agree to 1e-10. No timing is asserted.
"""

import collections

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

import glow_tf
from glow_tf import memory
from glow_tf.bijectors import AffineCoupling
from glow_tf.bijectors import flow_step
from glow_tf.bijectors import forward_and_log_det
from glow_tf.bijectors import initialize
from glow_tf.bijectors import inverse_and_log_det
from tests.bijector_checks import perturb_variables
from tests.fixtures import xla_compiled_functions

_FAST = ('fast', 'matmul')


def _images(shape, seed=0, dtype=tf.float64):
  return tf.random.stateless_normal(shape, seed=[seed, 3], dtype=dtype)


def _copy_variables(source, target):
  for s, t in zip(source.variables, target.variables):
    assert s.shape == t.shape and s.name == t.name, (s.name, t.name)
    t.assign(s)


def _with_gradients(fn, inputs, variables):
  """`fn(*inputs)`'s tensors and the gradients of a weighted sum of them."""
  with tf.GradientTape() as tape:
    tape.watch(inputs)
    outputs = fn(*inputs)
    loss = tf.add_n([tf.reduce_sum(tf.sin(o)) for o in outputs])
  return list(outputs) + tape.gradient(loss, list(inputs) + list(variables))


class LayerEquivalenceTest(tf.test.TestCase, parameterized.TestCase):

  def assertAllEqualToReference(self, results, tol=1e-10):
    """Equal to `tol` relative to each output's largest magnitude (or 1)."""
    fast, reference = results
    self.assertEqual(len(fast), len(reference))
    for i, (a, b) in enumerate(zip(fast, reference)):
      self.assertIsNotNone(a, i)
      a, b = tf.convert_to_tensor(a), tf.convert_to_tensor(b)
      scale = max(1.0, float(tf.reduce_max(tf.abs(b))))
      self.assertLess(float(tf.reduce_max(tf.abs(a - b))), tol * scale,
                      f'output {i}')

  # hidden 8 > 6 or 3 outputs: the sampling direction fuses everything
  # after NN's last matmul; hidden 2: the plain path of the fast kernels.
  @parameterized.product(
      kernels=_FAST, additive=[False, True],
      case=[dict(batch_shape=[2]), dict(batch_shape=[3, 2]),
            dict(batch_shape=[2], edge_padding=True),
            dict(batch_shape=[2], hidden=2)])
  def test_coupling_both_directions(self, kernels, additive, case):
    couplings = [AffineCoupling(5, hidden_channels=case.get('hidden', 8),
                                additive=additive, seed=1, dtype=tf.float64,
                                edge_padding=case.get('edge_padding', False),
                                kernels=k) for k in (kernels, 'reference')]
    couplings[0].initialize(_images([4, 4, 4, 5]))
    perturb_variables(couplings[0], seed=4, scale=0.3)
    _copy_variables(couplings[0], couplings[1])
    x = _images([*case['batch_shape'], 4, 4, 5], seed=6)
    for direction in ('inverse_and_log_det', 'forward_and_log_det'):
      results = [_with_gradients(
          lambda t, c=c: getattr(c, direction)(t, event_ndims=3), [x],
          c.trainable_variables) for c in couplings]
      self.assertEqual(results[0][1].shape, case['batch_shape'])
      self.assertAllEqualToReference(results)
    if not additive:
      self.assertGreater(float(tf.reduce_max(tf.abs(results[0][1]))), 0.1)

  @parameterized.product(kernels=_FAST, permutation=['lu_conv', 'conv',
                                                      'reverse'])
  def test_flow_step_walked_once(self, kernels, permutation):
    # The fast walk applies ActNorm and a 1x1 conv as one matmul.
    steps = [flow_step(4, hidden_channels=8, permutation=permutation, seed=2,
                       dtype=tf.float64, kernels=k)
             for k in (kernels, 'reference')]
    initialize(steps[0], _images([3, 4, 4, 4]))
    perturb_variables(steps[0], seed=5)
    _copy_variables(steps[0], steps[1])
    x, z = _images([3, 4, 4, 4], seed=1), _images([3, 4, 4, 4], seed=2)
    results = [_with_gradients(
        lambda x, z, s=s, k=k: (*inverse_and_log_det(s, x, 3, kernels=k),
                                *forward_and_log_det(s, z, 3, kernels=k)),
        [x, z], s.trainable_variables)
               for s, k in zip(steps, (kernels, 'reference'))]
    self.assertAllEqualToReference(results)

  def test_fused_sampling_direction_is_one_xla_computation(self):
    coupling = AffineCoupling(6, hidden_channels=8, seed=0)
    spec = tf.TensorSpec([None, 4, 4, 6], tf.float32)

    def graph(kernels):
      c = AffineCoupling(6, hidden_channels=8, seed=0, kernels=kernels)
      return tf.function(c.forward).get_concrete_function(
          spec).graph.as_graph_def()

    fused, plain = graph('fast'), graph('matmul')
    # The gather of NN's input taps, and the sum of its output taps with the
    # coupling's arithmetic and concatenation.
    self.assertLen(xla_compiled_functions(fused), 2)
    self.assertEmpty(xla_compiled_functions(plain))
    compiled = {f.signature.name: {node.op for node in f.node_def}
                for f in fused.library.function}
    tails = [name for name in xla_compiled_functions(fused)
             if {'AddN', 'Exp', 'ConcatV2'} <= compiled[name]]
    self.assertLen(tails, 1)  # sum of taps, 1 / scale, [z_a, x_b]
    exps = [collections.Counter(node.op for node in graph.node)['Exp']
            for graph in (fused, plain)]
    self.assertEqual(exps[1] - exps[0], 1)  # the scale's, moved into XLA
    del coupling

  def test_bfloat16_coupling_inverts_exactly(self):
    # Not fused: XLA would round the bfloat16 sum of taps otherwise than the
    # inverse does (seen: round trip off by 7e-3).
    coupling = AffineCoupling(6, hidden_channels=16, seed=2,
                              network_dtype='bfloat16')
    coupling.initialize(_images([4, 4, 4, 6], dtype=tf.float32))
    perturb_variables(coupling, seed=4, scale=0.3)
    z = _images([2, 4, 4, 6], seed=6, dtype=tf.float32)
    x, fldj = coupling.forward_and_log_det(z, event_ndims=3)
    self.assertEqual(x.dtype, tf.float32)
    self.assertAllClose(coupling.inverse(x), z, rtol=1e-5, atol=1e-5)
    self.assertAllClose(coupling.inverse_log_det_jacobian(x, event_ndims=3),
                        -fldj, rtol=1e-5, atol=1e-5)
    self.assertGreater(np.max(np.abs(fldj)), 0.1)


def _glows(kernels, **overrides):
  """Two float64 Glows with the same moved-off-init variables."""
  config = glow_tf.GlowConfig(image_shape=(8, 8, 2), num_levels=2,
                              num_steps=2, hidden_channels=8,
                              dtype='float64').replace(**overrides)
  glows = [glow_tf.Glow(config.replace(kernels=k), seed=3)
           for k in (kernels, 'reference')]
  glows[0].initialize(_images([16, 8, 8, 2], seed=9) * 0.2)
  perturb_variables(glows[0].bijector, seed=1, scale=0.1)
  _copy_variables(glows[0], glows[1])
  return glows


class ModelEquivalenceTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.product(kernels=_FAST, overrides=[
      dict(), dict(edge_padding=True, num_classes=3),
      dict(coupling='additive', permutation='shuffle')])
  def test_log_prob_gradients_sample_encode_decode(self, kernels, overrides):
    glows = _glows(kernels, **overrides)
    x = _images([4, 8, 8, 2], seed=4) * 0.2
    kwargs = {'labels': tf.constant([0, 2, 1, 0])} if overrides.get(
        'num_classes') else {}
    results = [_with_gradients(lambda x, g=g: [g.log_prob(x, **kwargs)], [x],
                               g.trainable_variables) for g in glows]
    for a, b in zip(*results):
      self.assertAllClose(tf.convert_to_tensor(a), tf.convert_to_tensor(b),
                          rtol=1e-10, atol=1e-10)
    samples = [g.sample(4, seed=[5, 1], temperature=0.7, **kwargs)
               for g in glows]
    self.assertAllClose(samples[0], samples[1], rtol=1e-10, atol=1e-10)
    latents = [g.encode(x, **kwargs) for g in glows]
    for a, b in zip(*latents):
      self.assertAllClose(a, b, rtol=1e-10, atol=1e-10)
    for g in glows:
      self.assertAllClose(g.decode(latents[1], **kwargs), x, atol=1e-10)

  @parameterized.parameters(*_FAST)
  def test_memory_saving_gradients(self, kernels):
    glows = _glows(kernels)
    x = _images([3, 8, 8, 2], seed=4) * 0.2
    fast = _with_gradients(
        lambda x: [memory.memory_saving_log_prob(glows[0], x)], [x],
        glows[0].trainable_variables)
    reference = _with_gradients(lambda x: [glows[1].log_prob(x)], [x],
                                glows[1].trainable_variables)
    for a, b in zip(fast, reference):
      a, b = tf.convert_to_tensor(a), tf.convert_to_tensor(b)
      scale = max(float(tf.reduce_max(tf.abs(b))), 1e-12)
      self.assertLess(float(tf.reduce_max(tf.abs(a - b))) / scale, 1e-8)

  @parameterized.parameters(dict(n=1), dict(n=2), dict(n=5),
                            dict(n=4, num_classes=3))
  def test_sampling_in_batch_halves_is_the_forward_of_its_latents(
      self, n, num_classes=None):
    # The fast kernels map a batch of two or more as two halves (two CPU
    # threads); the images are the flow's forward of the same latents.
    glow = _glows('fast', num_classes=num_classes)[0]
    labels = None if num_classes is None else tf.constant([2, 0, 1, 2][:n])
    kwargs = {} if labels is None else {'labels': labels}
    samples = glow.sample(n, seed=[7, 1], temperature=0.6, **kwargs)
    eps = glow.distribution.sample(n, seed=[7, 1]) * 0.6
    self.assertAllClose(samples, glow.bijector.forward(eps, **kwargs),
                        rtol=1e-12, atol=1e-12)
    # In a graph: a known batch size splits, an unknown one (a tensor) runs
    # as one chain; the same images.
    for size, signature in ((n, None), (tf.constant(n), [tf.TensorSpec(
        [], tf.int32)])):
      sample = tf.function(
          lambda m: glow.sample(m, seed=[7, 1], temperature=0.6, **kwargs),
          input_signature=signature)
      self.assertAllClose(sample(size), samples, rtol=1e-12, atol=1e-12)


class MapBatchTest(tf.test.TestCase):

  def test_every_condition_is_split_with_the_batch(self):
    # On a CPU a batch of 5 runs as halves of 2 and 3; each half gets its
    # own rows of every condition (labels, a context), None stays None.
    x = tf.reshape(tf.range(5, dtype=tf.float64), [5, 1, 1, 1])
    labels = tf.range(5)
    context = tf.reshape(tf.range(0., 50., 10., dtype=tf.float64),
                         [5, 1, 1, 1])
    sizes = []

    def fn(x, labels, nothing, context):
      self.assertIsNone(nothing)
      sizes.append(x.shape[0])
      # Aligned halves: context = 10 x and labels = x, row by row.
      self.assertAllEqual(context, 10 * x)
      self.assertAllEqual(tf.cast(labels, tf.float64), x[:, 0, 0, 0])
      return x + context

    for kernels in _FAST:
      sizes.clear()
      out = glow_tf.kernels.get(kernels).map_batch(fn, x, labels, None,
                                                   context)
      self.assertEqual(sizes, [2, 3])
      self.assertAllEqual(out, 11 * x)
      # A condition without the batch's first axis: one call, whole batch.
      sizes.clear()
      glow_tf.kernels.get(kernels).map_batch(
          lambda x, c: sizes.append(x.shape[0]) or x, x, tf.constant(1.0))
      self.assertEqual(sizes, [5])


if __name__ == '__main__':
  tf.test.main()
