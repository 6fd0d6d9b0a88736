"""The one battery of checks that every Glow bijector must pass.

`check_bijector(test_case, bijector, event_shape)` checks:

  (a) `perturb_variables` first moves every trainable variable off its
      initial value, and the bijector must then differ from the identity;
  (b) both round trips, `forward(inverse(x)) == x` and
      `inverse(forward(z)) == z` (1e-10 in float64, 1e-4 in float32), on
      fresh tensors so that TFP's bijector cache cannot answer them;
  (c) `fldj(z) == -ildj(forward(z))` and `ildj(x) == -fldj(inverse(x))`;
      the log-dets TFP caches equal the ones recomputed from scratch; and
      the one-pass `glow_tf.bijectors.inverse_and_log_det` and
      `forward_and_log_det` (a `GlowBijector`'s methods, or a walk through a
      `tfb.Chain` of them) equal TFP's outputs and log-dets;
  (d) both log-dets equal `slogdet` of the autodiff Jacobian of the map
      flattened to `[B, D] -> [B, D]` (1e-8 in float64);
  (e) every output is finite;
  (f) every trainable variable, and the input, gets a finite, non-zero
      gradient from `TransformedDistribution.log_prob`, which itself equals
      `log N(inverse(x); 0, I) + ildj(x)`;
  (g) all of (a)-(f) again inside a `tf.function` whose batch dimensions are
      unknown, where the outputs must also equal the eager ones;
  (h) `tf.train.Checkpoint(model=bijector)` saves and restores every variable
      (also available alone as `check_checkpoint_round_trip`).

`event_shape` is the image-side event shape, the one `inverse` takes; the
latent side is `bijector.inverse_event_shape(event_shape)`, so bijectors that
change the shape (Squeeze, a multi-scale flow) are checked the same way.
`bijector_kwargs` (e.g. the `labels` of a class-conditional prior) are passed
to every call.
"""

import os
import tempfile

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from glow_tf.bijectors import forward_and_log_det
from glow_tf.bijectors import inverse_and_log_det

__all__ = ['check_bijector', 'check_checkpoint_round_trip',
           'check_rejects_input', 'perturb_variables']

tfd = tfp.distributions

_ROUND_TRIP_TOLERANCE = {tf.float64: 1e-10, tf.float32: 1e-4}
_LOG_DET_TOLERANCE = {tf.float64: 1e-8, tf.float32: 1e-3}
_NOT_IDENTITY_MARGIN = 1e-3
_ZERO_RMS = 1e-6  # Below this a variable counts as zero for perturbations.


def perturb_variables(bijector, seed=0, scale=0.3):
  """Adds seeded Gaussian noise to every trainable variable of `bijector`.

  Log-parameterised variables (named `log_*`: ActNorm's and the zero
  convolution's `log_scale`, LU's `log_abs`) get noise of standard deviation
  `scale`: moderate, so every `exp` moves by a factor of about `exp(scale)`.
  Every other variable (biases, kernels, LU factors) gets `scale` times its
  root-mean-square value, or `scale / sqrt(fan_in)` where it is (nearly) all
  zero: the couplings' last convolution, or an ActNorm bias initialised on
  data that was already centred. Relative noise keeps a network initialised
  from data, whose ActNorms undo its small kernels and biases, from blowing
  up; and nothing stays at zero, so no check can pass because a layer is
  still the identity.

  Args:
    bijector: anything with `trainable_variables` (a bijector, a tf.Module).
    seed: int seed of the noise.
    scale: relative size of the noise (see above).

  Returns:
    `bijector`, for chaining.
  """
  rng = np.random.default_rng(seed)
  for variable in bijector.trainable_variables:
    shape = variable.shape.as_list()
    short_name = variable.name.split('/')[-1].split(':')[0]
    if short_name.startswith('log_'):
      stddev = scale
    else:
      rms = float(np.sqrt(np.mean(np.square(variable.numpy()))))
      fan_in = int(np.prod(shape[:-1])) if len(shape) >= 2 else 1
      stddev = scale * (rms if rms > _ZERO_RMS else 1 / np.sqrt(fan_in))
    noise = rng.normal(0.0, stddev, shape)
    variable.assign_add(noise.astype(variable.dtype.as_numpy_dtype))
  return bijector


def _flat_jacobian_log_det(function, inputs, batch_ndims):
  """`log|det J|` of `function` at each event of `inputs`.

  The batch is flattened to B events and each event to D numbers; `function`
  sees the original shape. The Jacobian is `[B, D, D]`, square even when the
  event shape changes (Squeeze), as D is preserved.
  """
  event_shape = inputs.shape[batch_ndims:]
  batch_shape = tf.shape(inputs)[:batch_ndims]
  flat = tf.reshape(inputs, [-1, event_shape.num_elements()])
  with tf.GradientTape() as tape:
    tape.watch(flat)
    outputs = function(tf.reshape(
        flat, tf.concat([batch_shape, event_shape.as_list()], axis=0)))
    outputs_flat = tf.reshape(outputs, [tf.shape(flat)[0], -1])
  jacobian = tape.batch_jacobian(outputs_flat, flat)
  return tf.reshape(tf.linalg.slogdet(jacobian)[1], batch_shape)


def _evaluate(bijector, x, z, event_ndims, latent_event_shape, jacobian,
              kwargs):
  """Everything the checks compare, as a dict of tensors (eager or graph)."""
  r = {}
  # Image -> latent, then back on a fresh tensor (no cache hit).
  r['latent'] = bijector.inverse(x, **kwargs)
  r['image_again'] = bijector.forward(tf.identity(r['latent']), **kwargs)
  r['ildj_cached'] = bijector.inverse_log_det_jacobian(x, event_ndims,
                                                       **kwargs)
  r['ildj'] = bijector.inverse_log_det_jacobian(tf.identity(x), event_ndims,
                                                **kwargs)
  r['fldj_at_latent'] = bijector.forward_log_det_jacobian(
      tf.identity(r['latent']), event_ndims, **kwargs)
  r['latent_one_pass'], r['ildj_one_pass'] = inverse_and_log_det(
      bijector, tf.identity(x), event_ndims, **kwargs)
  # Latent -> image, then back.
  r['image'] = bijector.forward(z, **kwargs)
  r['latent_again'] = bijector.inverse(tf.identity(r['image']), **kwargs)
  r['fldj_cached'] = bijector.forward_log_det_jacobian(z, event_ndims,
                                                       **kwargs)
  r['fldj'] = bijector.forward_log_det_jacobian(tf.identity(z), event_ndims,
                                                **kwargs)
  r['ildj_at_image'] = bijector.inverse_log_det_jacobian(
      tf.identity(r['image']), event_ndims, **kwargs)
  r['image_one_pass'], r['fldj_one_pass'] = forward_and_log_det(
      bijector, tf.identity(z), event_ndims, **kwargs)
  if jacobian:
    batch_ndims = x.shape.rank - event_ndims
    r['inverse_jacobian_log_det'] = _flat_jacobian_log_det(
        lambda x: bijector.inverse(x, **kwargs), x, batch_ndims)
    r['forward_jacobian_log_det'] = _flat_jacobian_log_det(
        lambda z: bijector.forward(z, **kwargs), z, batch_ndims)
  # Gradients of the log-likelihood.
  zero = tf.zeros([], x.dtype)
  distribution = tfd.TransformedDistribution(
      tfd.Sample(tfd.Normal(zero, zero + 1), latent_event_shape), bijector)
  variables = bijector.trainable_variables
  x_fresh = tf.identity(x)
  with tf.GradientTape() as tape:
    tape.watch(x_fresh)
    log_prob = distribution.log_prob(x_fresh, bijector_kwargs=kwargs)
    loss = -tf.reduce_mean(log_prob)
  gradients = tape.gradient(loss, [x_fresh] + list(variables))
  r['log_prob'] = log_prob
  r['input_gradient'] = gradients[0]
  # Dense, also where a gather gives IndexedSlices (a class-conditional prior).
  r['variable_gradients'] = [None if g is None else tf.convert_to_tensor(g)
                             for g in gradients[1:]]
  return r


def _to_numpy(results):
  return tf.nest.map_structure(
      lambda t: None if t is None else np.asarray(t), results)


def _assert_results(test_case, results, x, z, bijector, batch_ndims, mode):
  """Asserts (a)-(f) on the evaluated `results` of one mode."""
  dtype = tf.as_dtype(x.dtype)
  trip = _ROUND_TRIP_TOLERANCE[dtype]
  ldj = _LOG_DET_TOLERANCE[dtype]
  msg = f'[{bijector.name}, {mode}]'

  # (e) Finite, and the gradients exist.
  for key, value in results.items():
    if key == 'variable_gradients':
      continue
    test_case.assertIsNotNone(value, f'{msg} {key} is None')
    test_case.assertTrue(np.all(np.isfinite(value)), f'{msg} {key} not finite')

  # (a) Not the identity.
  latent = results['latent']
  if latent.shape == x.shape:
    test_case.assertGreater(
        np.max(np.abs(latent - x)), _NOT_IDENTITY_MARGIN,
        f'{msg} inverse is the identity: the checks would prove nothing')
  test_case.assertEqual(latent.shape, z.shape, f'{msg} latent shape')
  test_case.assertEqual(results['image'].shape, x.shape, f'{msg} image shape')

  # (b) Round trips.
  test_case.assertAllClose(results['image_again'], x, rtol=0, atol=trip,
                           msg=f'{msg} forward(inverse(x)) != x')
  test_case.assertAllClose(results['latent_again'], z, rtol=0, atol=trip,
                           msg=f'{msg} inverse(forward(z)) != z')

  # (c) Log-dets agree with each other (cached vs fresh, fldj vs -ildj).
  batch_shape = x.shape[:batch_ndims]
  for key in ('ildj', 'ildj_cached', 'fldj', 'fldj_cached', 'fldj_at_latent',
              'ildj_at_image', 'ildj_one_pass', 'fldj_one_pass'):
    # A constant Jacobian may give a log-det that only broadcasts (a scalar).
    test_case.assertEqual(
        np.broadcast_shapes(results[key].shape, batch_shape), batch_shape,
        f'{msg} {key} has shape {results[key].shape}, batch is {batch_shape}')
    results[key] = np.broadcast_to(results[key], batch_shape)
  close = dict(rtol=ldj, atol=ldj)
  test_case.assertAllClose(results['ildj_cached'], results['ildj'], **close,
                           msg=f'{msg} cached ildj(x) != ildj(x)')
  test_case.assertAllClose(results['fldj_cached'], results['fldj'], **close,
                           msg=f'{msg} cached fldj(z) != fldj(z)')
  test_case.assertAllClose(results['fldj'], -results['ildj_at_image'],
                           **close, msg=f'{msg} fldj(z) != -ildj(forward(z))')
  test_case.assertAllClose(results['ildj'], -results['fldj_at_latent'],
                           **close, msg=f'{msg} ildj(x) != -fldj(inverse(x))')
  test_case.assertAllClose(results['ildj_one_pass'], results['ildj'], **close,
                           msg=f'{msg} inverse_and_log_det: ildj')
  test_case.assertAllClose(results['fldj_one_pass'], results['fldj'], **close,
                           msg=f'{msg} forward_and_log_det: fldj')
  test_case.assertAllClose(results['latent_one_pass'], latent, rtol=0,
                           atol=trip, msg=f'{msg} inverse_and_log_det: output')
  test_case.assertAllClose(results['image_one_pass'], results['image'],
                           rtol=0, atol=trip,
                           msg=f'{msg} forward_and_log_det: output')

  # (d) Log-dets equal slogdet of the autodiff Jacobian.
  if 'inverse_jacobian_log_det' in results:
    test_case.assertAllClose(results['ildj'],
                             results['inverse_jacobian_log_det'], **close,
                             msg=f'{msg} ildj != slogdet(d inverse / dx)')
    test_case.assertAllClose(results['fldj'],
                             results['forward_jacobian_log_det'], **close,
                             msg=f'{msg} fldj != slogdet(d forward / dz)')

  # (f) log_prob is the change of variables, and every variable learns.
  event_axes = tuple(range(len(batch_shape), latent.ndim))
  base = np.sum(-0.5 * latent.astype(np.float64)**2 - 0.5 * np.log(2 * np.pi),
                axis=event_axes)
  test_case.assertAllClose(results['log_prob'], base + results['ildj'],
                           **close, msg=f'{msg} log_prob != base + ildj')
  test_case.assertGreater(np.max(np.abs(results['input_gradient'])), 0,
                          f'{msg} zero gradient with respect to the input')
  for variable, gradient in zip(bijector.trainable_variables,
                                results['variable_gradients']):
    test_case.assertIsNotNone(gradient,
                              f'{msg} no gradient for {variable.name}')
    test_case.assertTrue(np.all(np.isfinite(gradient)),
                         f'{msg} gradient of {variable.name} not finite')
    test_case.assertGreater(np.max(np.abs(gradient)), 0,
                            f'{msg} gradient of {variable.name} is all zero')


def check_rejects_input(test_case, bijector, x, message, also=()):
  """`inverse`, `forward` (and `initialize`, if any) raise ValueError `message`.

  Bad input (wrong rank, wrong channel count) must be refused in both
  directions with the same clear message, not fail deep inside TensorFlow.
  `also`: more callables of `x` that must refuse it the same way.
  """
  calls = [bijector.inverse, bijector.forward]
  if hasattr(bijector, 'initialize'):
    calls.append(bijector.initialize)
  calls.extend(also)
  for call in calls:
    with test_case.assertRaisesRegex(ValueError, message):
      call(x)


def check_checkpoint_round_trip(test_case, bijector, seed=0):
  """(h) `tf.train.Checkpoint(model=bijector)` saves, restores every variable.

  Saves, overwrites every float variable with other values, restores and
  compares; also checks that the checkpoint holds exactly as many variables
  as `bijector.variables`.
  """
  variables = bijector.variables
  saved = [v.numpy() for v in variables]
  checkpoint = tf.train.Checkpoint(model=bijector)
  with tempfile.TemporaryDirectory() as directory:
    path = checkpoint.write(os.path.join(directory, 'ckpt'))
    stored = [name for name, _ in tf.train.list_variables(path)
              if name.startswith('model/') and
              name.endswith('.ATTRIBUTES/VARIABLE_VALUE')]
    test_case.assertLen(stored, len(variables),
                        f'checkpoint holds {stored}, bijector has '
                        f'{[v.name for v in variables]}')
    rng = np.random.default_rng(seed + 1)
    for variable in variables:
      if variable.dtype.is_floating:
        variable.assign(rng.normal(size=variable.shape).astype(
            variable.dtype.as_numpy_dtype))
    checkpoint.read(path).assert_existing_objects_matched()
  for variable, value in zip(variables, saved):
    test_case.assertAllEqual(variable.numpy(), value,
                             msg=f'{variable.name} not restored')


def check_bijector(test_case, bijector, event_shape, dtype=None,
                   batch_shape=(2,), seed=0, perturb=True, scale=0.3,
                   jacobian=True, graph=True, num_trainable=None,
                   bijector_kwargs=None):
  """Runs the whole battery on `bijector` (see the module docstring).

  #### Examples

  ```python
  class ActNormTest(tf.test.TestCase):

    def test_checks(self):
      act_norm = ActNorm(4, dtype=tf.float64)
      act_norm.initialize(images)
      check_bijector(self, act_norm, event_shape=[4, 4, 4])
  ```

  Args:
    test_case: a `tf.test.TestCase` (for its assertions).
    bijector: the bijector; its variables are perturbed in place.
    event_shape: image-side event shape, the one `inverse` takes, e.g.
      `[4, 4, 4]` (`event_ndims = len(event_shape)`).
    dtype: dtype of the inputs, which must equal `bijector.dtype` unless
      that is None (as for a `tfb.Chain`); None takes `bijector.dtype`.
    batch_shape: batch shape of the inputs; may have several dimensions.
    seed: seed of the perturbation and of the inputs.
    perturb: call `perturb_variables` first (leave True unless the caller
      already did).
    scale: the perturbation's scale; a deep stack (a multi-scale flow) maps
      random latents through many layers and wants a smaller one, e.g. 0.1.
    jacobian: compare the log-dets with the autodiff Jacobian (keep the
      event tiny: the Jacobian is `[B, D, D]`).
    graph: repeat everything inside a `tf.function` with unknown batch dims
      (the log-dets there are compared with the eager Jacobian, and the
      outputs with the eager ones).
    num_trainable: if given, the expected `len(bijector.trainable_variables)`.
    bijector_kwargs: keyword arguments of every call (for example
      `{'labels': labels}`, labels of `batch_shape`).
  """
  bijector_kwargs = dict(bijector_kwargs or {})
  # A tfb.Chain has no dtype of its own: then `dtype` says which to use.
  if dtype is None:
    test_case.assertIsNotNone(bijector.dtype, 'pass `dtype` for this bijector')
    dtype = bijector.dtype
  dtype = tf.as_dtype(dtype)
  if bijector.dtype is not None:
    test_case.assertEqual(bijector.dtype, dtype)
  if num_trainable is not None:
    test_case.assertLen(bijector.trainable_variables, num_trainable)
  if perturb:
    before = [v.numpy() for v in bijector.trainable_variables]
    perturb_variables(bijector, seed=seed, scale=scale)
    for variable, value in zip(bijector.trainable_variables, before):
      test_case.assertNotAllClose(variable.numpy(), value,
                                  msg=f'{variable.name} was not perturbed')

  event_shape = tf.TensorShape(event_shape)
  batch_shape = list(batch_shape)
  latent_event_shape = bijector.inverse_event_shape(event_shape)
  test_case.assertEqual(
      latent_event_shape.num_elements(), event_shape.num_elements(),
      'a bijection keeps the number of elements of an event')
  test_case.assertEqual(bijector.forward_event_shape(latent_event_shape),
                        event_shape)
  x = tf.random.stateless_normal(batch_shape + event_shape.as_list(),
                                 seed=[seed, 1], dtype=dtype)
  z = tf.random.stateless_normal(batch_shape + latent_event_shape.as_list(),
                                 seed=[seed, 2], dtype=dtype)
  event_ndims = event_shape.rank

  def evaluate(x, z, with_jacobian):
    return _evaluate(bijector, x, z, event_ndims, latent_event_shape,
                     with_jacobian, bijector_kwargs)

  x_np, z_np = x.numpy(), z.numpy()
  eager = _to_numpy(evaluate(x, z, jacobian))
  _assert_results(test_case, eager, x_np, z_np, bijector, len(batch_shape),
                  'eager')
  if graph:
    unknown_batch = [None] * len(batch_shape)
    in_graph = tf.function(
        lambda x, z: evaluate(x, z, with_jacobian=False), input_signature=[
            tf.TensorSpec(unknown_batch + event_shape.as_list(), dtype),
            tf.TensorSpec(unknown_batch + latent_event_shape.as_list(), dtype),
        ])
    results = _to_numpy(in_graph(x, z))
    # The Jacobian is a property of the map, not of how it is run: the graph
    # log-dets are held to the same (eagerly computed) reference.
    for key in ('inverse_jacobian_log_det', 'forward_jacobian_log_det'):
      if key in eager:
        results[key] = eager[key]
    _assert_results(test_case, results, x_np, z_np, bijector,
                    len(batch_shape), 'graph')
    tolerance = _LOG_DET_TOLERANCE[dtype]
    for key in ('latent', 'image', 'ildj', 'fldj', 'log_prob'):
      test_case.assertAllClose(
          np.broadcast_to(results[key], eager[key].shape), eager[key],
          rtol=tolerance, atol=tolerance,
          msg=f'[{bijector.name}] {key} differs in graph and eager mode')
  check_checkpoint_round_trip(test_case, bijector, seed=seed)
