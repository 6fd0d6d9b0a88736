"""Memory-saving training: gradients that rebuild activations from the outputs.

A flow is invertible, so the backward pass does not need the activations of
the forward pass: each step's input can be rebuilt exactly from its output
through the inverse (RevNets, Gomez et al. 2017; the reference Glow code used
gradient checkpointing for the same end). `memory_saving_log_prob` is
`Glow.log_prob` with every level's K flow steps under one custom gradient
that keeps only the level's output and, walking the steps backwards,

```
z_a, z_b = split(z)                        # the coupling's output
shift, scale = NN(z_a)                     # once, under a tape
y = [z_a, z_b / scale - shift]             # the coupling's input, rebuilt
dy, dθ_NN = vjp of (y -> z, ildj) at y     # through that same NN evaluation
x = actnorm^-1(conv^-1(y))                 # the step's input, rebuilt
dx, dθ = vjp of (x -> y, ildj) at x        # cheap, per-pixel ops
```

so the coupling network runs once in the forward pass and once in the
backward pass, exactly as `tf.recompute_grad` would, but no step input is
stored: activation memory does not grow with K. Each step's recomputation
waits for the gradient of the step after it (a control dependency), so at
most one step's activations are alive at a time.

The gradients equal the plain path's up to floating-point round-off of the
reconstruction (tested to 1e-5 relative in float64).

#### Examples

```python
glow = glow_tf.Glow(glow_tf.preset('fashion_mnist', num_steps=32))
glow.initialize(x[:512])

@tf.function
def train_step(x):
  with tf.GradientTape() as tape:
    loss = -tf.reduce_mean(glow_tf.memory.memory_saving_log_prob(glow, x))
  grads = tape.gradient(loss, glow.trainable_variables)
  optimizer.apply_gradients(zip(grads, glow.trainable_variables))
```

#### References

[1]: Aidan N. Gomez, Mengye Ren, Raquel Urtasun, Roger B. Grosse. The
     Reversible Residual Network: Backpropagation Without Storing
     Activations. NeurIPS 2017. https://arxiv.org/abs/1707.04585
"""

import tensorflow as tf
from tensorflow.python.eager import record  # pylint: disable=g-direct-tensorflow-import

from glow_tf.bijectors.act_norm import ActNorm
from glow_tf.bijectors.affine_coupling import AffineCoupling
from glow_tf.bijectors.invertible_conv import InvertibleConv1x1
from glow_tf.bijectors.permutation import ChannelPermutation

__all__ = ['memory_saving_log_prob', 'reversible_steps']

# pylint: disable=protected-access


def _parts(step):
  """`(act_norm, permutation, coupling)` of a `flow_step` chain, checked."""
  parts = list(getattr(step, 'bijectors', ()))
  if (len(parts) != 3 or not isinstance(parts[0], ActNorm) or
      not isinstance(parts[1], (InvertibleConv1x1, ChannelPermutation)) or
      not isinstance(parts[2], AffineCoupling)):
    raise ValueError(
        'memory-saving gradients need flow steps built by '
        'glow_tf.bijectors.flow_step (ActNorm -> permutation -> coupling), '
        f'got {step!r}.')
  return parts


def _pixels(h):
  shape = tf.shape(h)
  return tf.cast(shape[-3] * shape[-2], h.dtype)


def _per_pixel_ildj(part, x):
  """Inverse log-det of a per-pixel (event rank 1) part, per pixel."""
  if isinstance(part, ChannelPermutation):
    return tf.zeros([], x.dtype)
  return part._inverse_log_det_jacobian(x)


def _prefix_inverse(act_norm, permutation, x):
  """Image -> latent through ActNorm and the permutation; `(y, ildj)`."""
  pixels = _pixels(x)
  h = act_norm._inverse(x)
  y = permutation._inverse(h)
  ildj = pixels * (_per_pixel_ildj(act_norm, x) +
                   _per_pixel_ildj(permutation, h))
  return y, ildj


def _prefix_forward(act_norm, permutation, y):
  """Latent -> image through the permutation and ActNorm (the rebuild)."""
  return act_norm._forward(permutation._forward(y))


def _coupling_terms(coupling, y_a, y_b):
  """`z_b` and the per-example log-det of the coupling, from its halves."""
  shift, scale, log_scale = coupling._shift_and_log_scale(y_a)
  z_b = y_b + shift if scale is None else (y_b + shift) * scale
  return z_b, coupling._event_log_det(log_scale, y_b), (shift, scale)


def _steps_inverse(parts_list, h):
  """Image -> latent through the steps, without a tape; `(z, ildj)`."""
  ildj = 0.
  for act_norm, permutation, coupling in parts_list:
    y, prefix_ildj = _prefix_inverse(act_norm, permutation, h)
    y_a, y_b = coupling._halves(y)
    z_b, coupling_ildj, _ = _coupling_terms(coupling, y_a, y_b)
    h = tf.concat([y_a, z_b], axis=-1)
    ildj += prefix_ildj + coupling_ildj
  return h, ildj


def _weighted_sum(tensors_and_weights):
  """`sum_i sum(t_i * w_i)`: the scalar whose gradient is a vector-Jacobian product."""
  return tf.add_n([tf.reduce_sum(t * w) for t, w in tensors_and_weights])


def _step_backward(parts, z, dz, dildj, variables):
  """Rebuilds a step's input from its output `z`; returns it and the gradients.

  Returns `(x, dx, variable_grads)` with `variable_grads` aligned with
  `variables` (None where a variable is not used by this step).
  """
  act_norm, permutation, coupling = parts
  # Start the recomputation only once the gradient of the step after this one
  # is known, so steps are recomputed one at a time, not all at once.
  with tf.control_dependencies([dz]):
    z = tf.identity(z)
  z_a, z_b = coupling._halves(z)
  dz_a, dz_b = coupling._halves(dz)
  with tf.GradientTape(watch_accessed_variables=False) as tape:
    tape.watch(variables)
    tape.watch(z_a)
    shift, scale, log_scale = coupling._shift_and_log_scale(z_a)
    y_b = tf.stop_gradient(z_b - shift if scale is None else
                           z_b / scale - shift)
    tape.watch(y_b)
    z_b_again = y_b + shift if scale is None else (y_b + shift) * scale
    coupling_ildj = coupling._event_log_det(log_scale, y_b)
    target = _weighted_sum([(z_b_again, dz_b), (coupling_ildj, dildj)])
  grads = tape.gradient(target, [z_a, y_b] + variables)
  dy = tf.concat([dz_a + grads[0], grads[1]], axis=-1)
  y = tf.concat([z_a, y_b], axis=-1)
  x = tf.stop_gradient(_prefix_forward(act_norm, permutation, y))
  with tf.GradientTape(watch_accessed_variables=False) as tape:
    tape.watch(variables)
    tape.watch(x)
    y_again, prefix_ildj = _prefix_inverse(act_norm, permutation, x)
    target = _weighted_sum([(y_again, dy), (prefix_ildj, dildj)])
  prefix_grads = tape.gradient(target, [x] + variables)
  variable_grads = [_add(a, b) for a, b in zip(grads[2:], prefix_grads[1:])]
  return x, prefix_grads[0], variable_grads


def _add(a, b):
  if a is None:
    return b
  return a if b is None else a + b


def reversible_steps(steps, h):
  """`(steps.inverse(h), steps' inverse log-det)` with a memory-saving gradient.

  Args:
    steps: a chain of `glow_tf.bijectors.flow_step`s (one level of
      `MultiScaleFlow.steps`), applied image -> latent in list order.
    h: `[N, H, W, C]` input of the level's first step.

  Returns:
    `(z, ildj)`: the level's output and its per-example inverse log-det,
    whose gradient rebuilds every step's input from the output (see the
    module docstring) instead of keeping the activations.
  """
  parts_list = [_parts(step) for step in getattr(steps, 'bijectors', [steps])]

  @tf.custom_gradient
  def level(h):
    with record.stop_recording():
      z, ildj = _steps_inverse(parts_list, h)
    ildj = ildj + tf.zeros(tf.shape(h)[:-3], h.dtype)  # per example

    def grad(dz, dildj, variables=None):
      all_variables = list(variables or [])
      variables = [v for v in all_variables if v.dtype.is_floating]
      total = [None] * len(variables)
      out = z
      for parts in reversed(parts_list):
        out, dz, step_grads = _step_backward(parts, out, dz, dildj, variables)
        total = [_add(t, g) for t, g in zip(total, step_grads)]
      by_variable = {id(v): tf.zeros_like(v) if g is None else g
                     for v, g in zip(variables, total)}
      return dz, [by_variable.get(id(v)) for v in all_variables]

    return (z, ildj), grad

  return level(h)


def memory_saving_log_prob(glow, x, labels=None):
  """`glow.log_prob(x, labels)` whose gradient does not store the flow's activations.

  The value is the same as `glow.log_prob` (up to round-off); the gradient
  with respect to every trainable variable (and to `x`) is the same up to the
  round-off of rebuilding each step's input from its output, while the
  memory of the K steps of a level stays that of one step (see the module
  docstring). Use it inside a `tf.function` train step in place of
  `glow.log_prob`.

  Args:
    glow: a `glow_tf.Glow` whose steps are `glow_tf.bijectors.flow_step`s.
    x: model-space images `[N, H, W, C]`.
    labels: integer labels `[N]` for class-conditional models.

  Returns:
    `[N]` log-densities.
  """
  x = glow._check_images(x)
  flow = glow.bijector
  latents, ildj = flow._encode_with_log_det(x, labels=labels,
                                            level_inverse=reversible_steps)
  return glow.distribution.log_prob(flow.pack_latents(latents)) + ildj
