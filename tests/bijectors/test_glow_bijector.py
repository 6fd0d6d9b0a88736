"""Tests of GlowBijector: TFP's bijector plus the one-pass output and log-det.

Three subclasses: AffineCoupling writes the one-pass hooks (event rank 3);
ActNorm writes only TFP's hooks (a constant Jacobian, rank 1); and a
per-pixel coupling defined here writes the one-pass hooks at rank 1, so a
log-det that varies from pixel to pixel is summed over `H x W`. On float64
inputs, with every variable moved off its initial value,
`inverse_and_log_det(x, k)` must equal `(inverse(x),
inverse_log_det_jacobian(x, k))`, `forward_and_log_det` likewise, and the
log-dets must be the closed-form sums over the event axes beyond the minimum.
"""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from glow_tf.bijectors.affine_coupling import inverse_half

from glow_tf.bijectors import ActNorm
from glow_tf.bijectors import AffineCoupling
from glow_tf.bijectors import GlowBijector
from tests.bijector_checks import perturb_variables

_BATCH, _EVENT = [2, 3], [4, 4, 4]


class _PixelCoupling(GlowBijector):
  """Per pixel: `z_0 = x_0`, `z_c = x_c exp(tanh(x_0))` for `c >= 1`.

  The inverse log-det of a pixel is `(C - 1) tanh(x_0)`. Counts the calls
  of its one-pass hooks, from which TFP's hooks are derived.
  """

  def __init__(self):
    parameters = dict(locals())
    super().__init__(forward_min_event_ndims=1, dtype=tf.float64,
                     parameters=parameters, name='pixel_coupling')
    self.one_pass_calls = 0

  def _inverse_and_log_det(self, x):
    self.one_pass_calls += 1
    t = tf.tanh(x[..., :1])
    z = tf.concat([x[..., :1], x[..., 1:] * tf.exp(t)], axis=-1)
    return z, (x.shape[-1] - 1) * t[..., 0]

  def _forward_and_log_det(self, z):
    self.one_pass_calls += 1
    t = tf.tanh(z[..., :1])
    x = tf.concat([z[..., :1], z[..., 1:] * tf.exp(-t)], axis=-1)
    return x, -(z.shape[-1] - 1) * t[..., 0]

  def _inverse(self, x):
    return self._inverse_and_log_det(x)[0]

  def _inverse_log_det_jacobian(self, x):
    return self._inverse_and_log_det(x)[1]

  def _forward(self, z):
    return self._forward_and_log_det(z)[0]

  def _forward_log_det_jacobian(self, z):
    return self._forward_and_log_det(z)[1]


def _bijector(name):
  """An initialised float64 bijector on 4 channels, its variables perturbed."""
  if name == 'pixel_coupling':
    return _PixelCoupling()
  if name == 'coupling':
    bijector = AffineCoupling(4, hidden_channels=8, seed=0, dtype=tf.float64)
  else:
    bijector = ActNorm(4, dtype=tf.float64)
  data = tf.random.stateless_normal([16, *_EVENT], seed=[0, 5],
                                    dtype=tf.float64) * 2.0 + 0.5
  bijector.initialize(data)
  return perturb_variables(bijector)


def _inputs(seed):
  return tf.random.stateless_normal(_BATCH + _EVENT, seed=[seed, 6],
                                    dtype=tf.float64)


class GlowBijectorTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(
      ('coupling', 3), ('coupling', 4), ('act_norm', 1), ('act_norm', 3),
      ('act_norm', 4), ('pixel_coupling', 1), ('pixel_coupling', 3),
      ('pixel_coupling', 4))
  def test_one_pass_equals_tfps_two_calls(self, name, event_ndims):
    bijector = _bijector(name)
    x, z = _inputs(1), _inputs(2)
    latent, ildj = bijector.inverse_and_log_det(x, event_ndims=event_ndims)
    image, fldj = bijector.forward_and_log_det(z, event_ndims=event_ndims)
    # Fresh tensors: TFP's cache cannot answer with the one-pass results.
    tfp_latent = bijector.inverse(tf.identity(x))
    tfp_ildj = bijector.inverse_log_det_jacobian(tf.identity(x), event_ndims)
    tfp_image = bijector.forward(tf.identity(z))
    tfp_fldj = bijector.forward_log_det_jacobian(tf.identity(z), event_ndims)
    self.assertAllClose(latent, tfp_latent, rtol=1e-12, atol=1e-12)
    self.assertAllClose(image, tfp_image, rtol=1e-12, atol=1e-12)
    # TFP gives a constant Jacobian's log-det as a scalar; the one-pass
    # methods give it shaped like the batch (a scalar at the minimum rank).
    self.assertAllClose(*np.broadcast_arrays(ildj, tfp_ildj), rtol=1e-12,
                        atol=1e-12)
    self.assertAllClose(*np.broadcast_arrays(fldj, tfp_fldj), rtol=1e-12,
                        atol=1e-12)
    if event_ndims > bijector.forward_min_event_ndims:
      batch = (_BATCH + _EVENT)[:5 - event_ndims]
      self.assertEqual(ildj.shape, batch)
      self.assertEqual(fldj.shape, batch)
    # The bijector and its log-dets are not trivial.
    self.assertGreater(float(tf.reduce_max(tf.abs(latent - x))), 0.1)
    self.assertGreater(float(tf.reduce_max(tf.abs(ildj))), 0.1)
    self.assertGreater(float(tf.reduce_max(tf.abs(fldj))), 0.1)

  @parameterized.parameters(False, True)
  def test_log_det_is_summed_over_the_extra_event_axes(self, in_graph):
    x = _inputs(3)

    def log_dets(bijector, event_ndims):
      def ildj(x):
        return bijector.inverse_and_log_det(x, event_ndims)[1]
      if in_graph:  # with unknown batch dimensions
        ildj = tf.function(ildj, input_signature=[
            tf.TensorSpec([None, None] + _EVENT, tf.float64)])
      return ildj(x).numpy()

    # ActNorm: a constant log-det per pixel, H * W = 16 pixels per image.
    act_norm = _bijector('act_norm')
    log_scale = float(tf.reduce_sum(act_norm.log_scale))
    self.assertAllClose(log_dets(act_norm, 3), np.full(_BATCH, 16 * log_scale),
                        rtol=1e-12)
    self.assertAllClose(log_dets(act_norm, 4), np.full([2], 48 * log_scale),
                        rtol=1e-12)
    # The per-pixel coupling: (C - 1) tanh(x_0), summed over the pixels.
    pixel = _bijector('pixel_coupling')
    per_pixel = 3 * np.tanh(x.numpy()[..., 0])
    self.assertAllClose(log_dets(pixel, 3), per_pixel.sum(axis=(2, 3)),
                        rtol=1e-12)
    self.assertAllClose(log_dets(pixel, 4), per_pixel.sum(axis=(1, 2, 3)),
                        rtol=1e-12)
    # AffineCoupling (rank 3): the sum over log(scale) of x_b, then over the
    # images of an event of rank 4.
    coupling = _bijector('coupling')
    _, coupling_log_scale = inverse_half(x[..., 2:],
                                         coupling.network_output(x[..., :2]))
    per_image = tf.reduce_sum(coupling_log_scale, axis=[-3, -2, -1]).numpy()
    self.assertAllClose(log_dets(coupling, 3), per_image, rtol=1e-12)
    self.assertAllClose(log_dets(coupling, 4), per_image.sum(axis=1),
                        rtol=1e-12)

  def test_one_pass_runs_the_shared_computation_once(self):
    pixel = _bijector('pixel_coupling')
    x = _inputs(4)
    z, _ = pixel.inverse_and_log_det(x, event_ndims=3)
    self.assertEqual(pixel.one_pass_calls, 1)
    pixel.forward_and_log_det(z, event_ndims=3)
    self.assertEqual(pixel.one_pass_calls, 2)
    # TFP's two calls run it twice.
    pixel.inverse(tf.identity(x))
    pixel.inverse_log_det_jacobian(tf.identity(x), event_ndims=3)
    self.assertEqual(pixel.one_pass_calls, 4)

  def test_one_pass_ignores_tfps_cache(self):
    # In eager mode TFP's cache answers a second `inverse_log_det_jacobian`
    # of the same tensor with the first result, which a GradientTape opened
    # in between did not record. The one-pass methods must not ask it.
    act_norm = _bijector('act_norm')
    x = _inputs(5)
    act_norm.inverse_log_det_jacobian(x, event_ndims=3)
    act_norm.forward_log_det_jacobian(x, event_ndims=3)
    # d log-det / d log_scale: 16 pixels per image, summed over 6 images.
    per_channel = 16 * np.prod(_BATCH)
    with tf.GradientTape(persistent=True) as tape:
      ildj = tf.reduce_sum(act_norm.inverse_and_log_det(x, 3)[1])
      fldj = tf.reduce_sum(act_norm.forward_and_log_det(x, 3)[1])
    for log_det, sign in ((ildj, 1.0), (fldj, -1.0)):
      self.assertAllClose(tape.gradient(log_det, act_norm.log_scale),
                          np.full([_EVENT[-1]], sign * per_channel),
                          rtol=1e-12)

  @parameterized.parameters(('coupling', 3), ('act_norm', 1),
                            ('pixel_coupling', 1))
  def test_event_ndims_defaults_to_the_minimum(self, name, min_ndims):
    bijector = _bijector(name)
    x = _inputs(5)
    self.assertEqual(bijector.inverse_min_event_ndims, min_ndims)
    latent, ildj = bijector.inverse_and_log_det(x)
    image, fldj = bijector.forward_and_log_det(x)
    self.assertAllClose(
        (latent, ildj),
        bijector.inverse_and_log_det(x, event_ndims=min_ndims), atol=0)
    self.assertAllClose(
        (image, fldj),
        bijector.forward_and_log_det(x, event_ndims=min_ndims), atol=0)

  @parameterized.parameters(
      ('coupling', 2, '>= 3, got 2'), ('coupling', 3.0, '>= 3, got 3.0'),
      ('act_norm', 0, '>= 1, got 0'), ('act_norm', True, '>= 1, got True'),
      ('pixel_coupling', '3', "got '3'"))
  def test_rejects_bad_event_ndims(self, name, event_ndims, message):
    bijector = _bijector(name)
    x = _inputs(6)
    for method in (bijector.inverse_and_log_det,
                   bijector.forward_and_log_det):
      with self.assertRaisesRegex(
          ValueError, f'{bijector.name}: `event_ndims` must be an int '
          f'.*{message}'):
        method(x, event_ndims=event_ndims)


if __name__ == '__main__':
  tf.test.main()
