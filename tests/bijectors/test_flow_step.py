"""Tests of flow_step (ActNorm -> permutation -> coupling) and initialize."""

import os
import tempfile

from absl.testing import parameterized
import numpy as np
import tensorflow as tf
from tensorflow_probability import bijectors as tfb

from glow_tf.bijectors import ActNorm
from glow_tf.bijectors import AffineCoupling
from glow_tf.bijectors import chain_parts
from glow_tf.bijectors import ChannelPermutation
from glow_tf.bijectors import COUPLINGS
from glow_tf.bijectors import flow_step
from glow_tf.bijectors import initialize
from glow_tf.bijectors import InvertibleConv1x1
from glow_tf.bijectors import PERMUTATIONS
from tests import bijector_checks

_HIDDEN = 8
# Trainable variables: ActNorm 2, coupling network 9, and the permutation's.
_PERMUTATION_VARIABLES = {'lu_conv': (3, 2), 'conv': (1, 0), 'shuffle': (0, 1),
                          'reverse': (0, 1)}  # (trainable, fixed)


def _images(shape, seed=0, dtype=tf.float64):
  x = tf.random.stateless_normal(shape, seed=[seed, 11], dtype=dtype)
  return x * 2.0 + 0.5


def _step(permutation='lu_conv', coupling='affine', dtype=tf.float64, seed=0,
          num_channels=4):
  return flow_step(num_channels, hidden_channels=_HIDDEN,
                   permutation=permutation, coupling=coupling, seed=seed,
                   dtype=dtype)


class FlowStepTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.product(permutation=PERMUTATIONS, coupling=COUPLINGS)
  def test_bijector_checks(self, permutation, coupling):
    step = _step(permutation, coupling)
    initialize(step, _images([4, 4, 4, 4]))
    bijector_checks.check_bijector(
        self, step, [4, 4, 4], dtype=tf.float64,
        num_trainable=11 + _PERMUTATION_VARIABLES[permutation][0])

  @parameterized.parameters(('lu_conv', 'affine'), ('shuffle', 'additive'))
  def test_bijector_checks_float32_extra_batch(self, permutation, coupling):
    step = _step(permutation, coupling, dtype=tf.float32)
    initialize(step, _images([4, 4, 4, 4], dtype=tf.float32))
    bijector_checks.check_bijector(self, step, [4, 4, 4], dtype=tf.float32,
                                   batch_shape=[3, 2])

  @parameterized.parameters(*PERMUTATIONS)
  def test_structure_and_order(self, permutation):
    step = _step(permutation, 'affine')
    # tfb.Chain(...) of non-composite parts is a Composition, not a tfb.Chain.
    self.assertIsInstance(step, tfb.Composition)
    self.assertEqual(chain_parts(step), step.bijectors)
    act_norm, mixer, coupling = step.bijectors
    self.assertIsInstance(act_norm, ActNorm)
    self.assertIsInstance(
        mixer, InvertibleConv1x1 if 'conv' in permutation else
        ChannelPermutation)
    if 'conv' in permutation:
      self.assertEqual(mixer.lu_decomposed, permutation == 'lu_conv')
    else:
      self.assertEqual(mixer.kind, permutation)
    self.assertIsInstance(coupling, AffineCoupling)
    self.assertFalse(coupling.additive)
    self.assertTrue(_step(permutation, 'additive').bijectors[2].additive)
    initialize(step, _images([4, 4, 4, 4]))
    bijector_checks.perturb_variables(step)
    # image -> latent applies ActNorm, then the permutation, then coupling.
    x = _images([2, 4, 4, 4], seed=1)
    expected = coupling.inverse(mixer.inverse(act_norm.inverse(x)))
    self.assertAllClose(step.inverse(tf.identity(x)), expected, atol=1e-12)
    ildj = sum(b.inverse_log_det_jacobian(h, event_ndims=3) for b, h in (
        (act_norm, x), (mixer, act_norm.inverse(x)),
        (coupling, mixer.inverse(act_norm.inverse(x)))))
    self.assertAllClose(
        step.inverse_log_det_jacobian(tf.identity(x), event_ndims=3), ildj,
        atol=1e-10)

  @parameterized.product(permutation=['lu_conv', 'reverse'],
                         in_graph=[False, True])
  def test_initialize_in_order(self, permutation, in_graph):
    step = _step(permutation)
    act_norm, mixer, coupling = step.bijectors
    x = _images([8, 4, 4, 4])
    init = tf.function(initialize) if in_graph else initialize
    returned = init(step, x)
    flags = [v for v in step.variables if 'initialized' in v.name]
    self.assertLen(flags, 3)
    self.assertTrue(all(flag.numpy() for flag in flags))
    # The step's ActNorm normalises the batch...
    h = act_norm.inverse(tf.identity(x))
    self.assertAllClose(np.mean(h, axis=(0, 1, 2)), np.zeros(4), atol=1e-6)
    self.assertAllClose(np.std(h, axis=(0, 1, 2)), np.ones(4), atol=1e-5)
    # ...and the coupling network's first ActNorm was initialised on the
    # output of the permutation, not on the raw batch.
    network = coupling.network
    hidden = network.norm_in(
        network.conv_in(mixer.inverse(h)[..., :2]))
    self.assertAllClose(np.mean(hidden, axis=(0, 1, 2)), np.zeros(_HIDDEN),
                        atol=1e-6)
    self.assertAllClose(np.std(hidden, axis=(0, 1, 2)), np.ones(_HIDDEN),
                        atol=1e-4)
    self.assertAllClose(returned, step.inverse(tf.identity(x)), atol=1e-12)
    # A second initialize on other data changes nothing.
    values = [v.numpy() for v in step.variables]
    init(step, _images([8, 4, 4, 4], seed=5) * 3.0)
    for variable, value in zip(step.variables, values):
      self.assertAllEqual(variable, value, msg=variable.name)

  def test_initialize_single_bijectors(self):
    act_norm = ActNorm(4, dtype=tf.float64)
    x = _images([8, 4, 4, 4])
    self.assertAllClose(initialize(act_norm, x), act_norm.inverse(x))
    self.assertTrue(act_norm.initialized.numpy())
    permutation = ChannelPermutation(4, kind='reverse', dtype=tf.float64)
    self.assertAllEqual(initialize(permutation, x), x[..., ::-1])

  @parameterized.parameters(*PERMUTATIONS)
  def test_restore_with_another_seed(self, permutation):
    trained = _step(permutation, seed=0)
    initialize(trained, _images([4, 4, 4, 4]))
    bijector_checks.perturb_variables(trained, seed=1)
    restored = _step(permutation, seed=1)
    x = _images([2, 4, 4, 4], seed=2)
    self.assertNotAllClose(restored.inverse(x), trained.inverse(x))
    with tempfile.TemporaryDirectory() as directory:
      path = tf.train.Checkpoint(model=trained).write(
          os.path.join(directory, 'ckpt'))
      tf.train.Checkpoint(model=restored).read(path).assert_consumed()
    x = tf.identity(x)
    self.assertAllEqual(restored.inverse(x), trained.inverse(x))
    # A restored step is initialised: initialize() keeps what was restored.
    initialize(restored, _images([4, 4, 4, 4], seed=3))
    self.assertAllEqual(restored.inverse(tf.identity(x)),
                        trained.inverse(tf.identity(x)))

  @parameterized.product(permutation=PERMUTATIONS, coupling=COUPLINGS)
  def test_variables_are_tracked(self, permutation, coupling):
    step = _step(permutation, coupling, num_channels=6)
    trainable, fixed = _PERMUTATION_VARIABLES[permutation]
    self.assertLen(step.trainable_variables, 11 + trainable)
    self.assertLen(step.variables, 11 + trainable + 3 + fixed)
    out = 3 if coupling == 'additive' else 6
    permutation_parameters = {'lu_conv': 36 + 36 + 6, 'conv': 36}.get(
        permutation, 0)
    expected = (2 * 6 + permutation_parameters
                + 9 * 3 * _HIDDEN + 2 * _HIDDEN
                + _HIDDEN * _HIDDEN + 2 * _HIDDEN
                + 9 * _HIDDEN * out + 2 * out)
    self.assertEqual(
        sum(int(np.prod(v.shape)) for v in step.trainable_variables), expected)
    bijector_checks.check_checkpoint_round_trip(self, step)

  @parameterized.named_parameters(
      ('permutation', dict(permutation='foo'),
       r"`permutation` must be one of \['lu_conv', 'conv', 'shuffle', "
       r"'reverse'\], got 'foo'"),
      ('coupling', dict(coupling='x'),
       r"`coupling` must be one of \['affine', 'additive'\], got 'x'"),
      ('hidden', dict(hidden_channels=0),
       r'`hidden_channels` must be a positive integer, got 0'),
      ('channels', dict(num_channels=1),
       r'`num_channels` must be >= 2 for a coupling, got 1'))
  def test_bad_arguments(self, kwargs, message):
    kwargs = {'num_channels': 4, **kwargs}
    with self.assertRaisesRegex(ValueError, message):
      flow_step(**kwargs)

  @parameterized.named_parameters(
      ('channels', [2, 4, 4, 6], r'expected 4 channels'),
      ('rank', [4, 4], r'rank >= 3'))
  def test_bad_input(self, shape, message):
    step = _step()
    bijector_checks.check_rejects_input(
        self, step, tf.zeros(shape, tf.float64), message,
        also=[lambda x: initialize(step, x)])


if __name__ == '__main__':
  tf.test.main()
