"""Memory-saving training: gradients that rebuild activations from the outputs.

A flow is invertible, so the backward pass does not need the activations of
the forward pass: each step's input can be rebuilt exactly from its output
through the inverse (RevNets, Gomez et al. 2017; the reference Glow code used
gradient checkpointing for the same end). `memory_saving_log_prob` is
`Glow.log_prob` with every level's K flow steps under one custom gradient
that keeps only the level's output and, walking the steps backwards,

```
z_a, z_b = coupling.split(z)               # the coupling's output
h = coupling.network_output(z_a)           # NN once, under a tape
y_b = forward_half(z_b, h)                 # its input, rebuilt
dy, dθ_NN = vjp of (y -> z, ildj) at y     # inverse_half, through that NN run
x = act_norm.forward(permutation.forward(y))          # the step's input
dx, dθ = vjp of (x -> y, ildj) at x        # inverse_and_log_det: per pixel
```

so the coupling network runs once in the forward pass and once in the
backward pass, exactly as `tf.recompute_grad` would, but no step input is
stored: activation memory does not grow with K. Each step's recomputation
waits for the gradient of the step after it (a control dependency), so at
most one step's activations are alive at a time.

The coupling's formulas are its module's `forward_half` and `inverse_half`,
the ones its own hooks use. The forward pass of a level is
`glow_tf.bijectors.inverse_and_log_det` of its steps, run under
`tf.recompute_grad` so that an enclosing `GradientTape` records the call
and not the activations (recompute_grad stops recording while its function
runs); its own gradient, a recomputation from the level's input, never
runs, as the `tf.custom_gradient` around it replaces it.

A conditional flow's context features enter every coupling of the level:
the level's custom gradient takes them as a second input, and each
coupling's tape adds its share of their gradient.

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

import functools

import tensorflow as tf
import tensorflow_probability as tfp

from glow_tf.bijectors.act_norm import ActNorm
from glow_tf.bijectors.affine_coupling import AffineCoupling
from glow_tf.bijectors.affine_coupling import forward_half
from glow_tf.bijectors.affine_coupling import inverse_half
from glow_tf.bijectors.chain import chain_parts
from glow_tf.bijectors.chain import forward_and_log_det
from glow_tf.bijectors.chain import inverse_and_log_det
from glow_tf.bijectors.invertible_conv import InvertibleConv1x1
from glow_tf.bijectors.permutation import ChannelPermutation

tfb = tfp.bijectors

__all__ = ['level_inverse', 'memory_saving_log_prob', 'reversible_steps']


def _parts(step):
  """`(act_norm, permutation, coupling)` of a `flow_step` chain, checked."""
  parts = chain_parts(step) or []
  if (len(parts) != 3 or not isinstance(parts[0], ActNorm) or
      not isinstance(parts[1], (InvertibleConv1x1, ChannelPermutation)) or
      not isinstance(parts[2], AffineCoupling)):
    raise ValueError(
        'memory-saving gradients need flow steps built by '
        'glow_tf.bijectors.flow_step (ActNorm -> permutation -> coupling), '
        f'got {step!r}.')
  return parts


def _prefix(act_norm, permutation):
  """The step's ActNorm and permutation as one chain (its inverse: ActNorm first)."""
  return tfb.Chain([act_norm, permutation])


def _weighted_sum(tensors_and_weights):
  """`sum_i sum(t_i * w_i)`: the scalar whose gradient is a vector-Jacobian product."""
  return tf.add_n([tf.reduce_sum(t * w) for t, w in tensors_and_weights])


def _coupling_backward(coupling, z, dz, dildj, variables, context):
  """Rebuilds the coupling's input `y` from its output `z`.

  Returns `(y, dy, variable_grads, dcontext)` (`dcontext` None without a
  context).
  """
  additive = coupling.additive
  z_a, z_b = coupling.split(z)
  dz_a, dz_b = coupling.split(dz)
  conditioning = [] if context is None else [context]
  with tf.GradientTape(watch_accessed_variables=False) as tape:
    tape.watch(variables)
    tape.watch([z_a] + conditioning)
    h = coupling.network_output(z_a, *conditioning)  # NN, once
    y_b = tf.stop_gradient(forward_half(z_b, h, additive)[0])
    tape.watch(y_b)
    z_b_again, log_scale = inverse_half(y_b, h, additive)
    pairs = [(z_b_again, dz_b)]
    if log_scale is not None:
      pairs.append((tf.reduce_sum(log_scale, axis=[-3, -2, -1]), dildj))
    target = _weighted_sum(pairs)
  grads = tape.gradient(target, [z_a, y_b] + conditioning + variables)
  dy = tf.concat([dz_a + grads[0], grads[1]], axis=-1)
  dcontext = grads[2] if conditioning else None
  return (tf.concat([z_a, y_b], axis=-1), dy, grads[2 + len(conditioning):],
          dcontext)


def _step_backward(parts, z, dz, dildj, variables, kernels, context):
  """Rebuilds a step's input from its output `z`; returns it and the gradients.

  Returns `(x, dx, variable_grads, dcontext)` with `variable_grads` aligned
  with `variables` (None where a variable is not used by this step).
  """
  act_norm, permutation, coupling = parts
  # Start the recomputation only once the gradient of the step after this one
  # is known, so steps are recomputed one at a time, not all at once.
  with tf.control_dependencies([dz]):
    z = tf.identity(z)
  y, dy, grads, dcontext = _coupling_backward(coupling, z, dz, dildj,
                                              variables, context)
  prefix = _prefix(act_norm, permutation)
  x = tf.stop_gradient(
      forward_and_log_det(prefix, y, 3, kernels=kernels)[0])
  with tf.GradientTape(watch_accessed_variables=False) as tape:
    tape.watch(variables)
    tape.watch(x)
    y_again, prefix_ildj = inverse_and_log_det(prefix, x, 3, kernels=kernels)
    target = _weighted_sum([(y_again, dy), (prefix_ildj, dildj)])
  prefix_grads = tape.gradient(target, [x] + variables)
  variable_grads = [_add(a, b) for a, b in zip(grads, prefix_grads[1:])]
  return x, prefix_grads[0], variable_grads, dcontext


def _add(a, b):
  if a is None:
    return b
  return a if b is None else a + b


def reversible_steps(steps, h, kernels='fast', context=None):
  """`(steps.inverse(h), steps' inverse log-det)` with a memory-saving gradient.

  Args:
    steps: a chain of `glow_tf.bijectors.flow_step`s (one level of
      `MultiScaleFlow.steps`), applied image -> latent in list order.
    h: `[N, H, W, C]` input of the level's first step.
    kernels: the `glow_tf.kernels` backend of the walk through the steps.
    context: the level's context features `[N, H, W, channels]`, for the
      couplings of a conditional flow (None: unconditional).

  Returns:
    `(z, ildj)`: the level's output and its per-example inverse log-det,
    whose gradient rebuilds every step's input from the output (see the
    module docstring) instead of keeping the activations.
  """
  parts_list = [_parts(step) for step in chain_parts(steps) or [steps]]
  conditioning = [] if context is None else [context]

  def run(h, *conditioning):
    kwargs = {'context': conditioning[0]} if conditioning else {}
    return inverse_and_log_det(steps, h, event_ndims=3, kernels=kernels,
                               **kwargs)

  # Under `tf.recompute_grad` only so that an enclosing GradientTape records
  # the call and not the activations (see the module docstring).
  unrecorded_steps = tf.recompute_grad(run)

  @tf.custom_gradient
  def level(h, *conditioning):
    z, ildj = unrecorded_steps(h, *conditioning)
    ildj = ildj + tf.zeros(tf.shape(h)[:-3], h.dtype)  # per example

    def grad(dz, dildj, variables=None):
      all_variables = list(variables or [])
      variables = [v for v in all_variables if v.dtype.is_floating]
      total = [None] * len(variables)
      dcontext = None
      out = z
      for parts in reversed(parts_list):
        out, dz, step_grads, step_dcontext = _step_backward(
            parts, out, dz, dildj, variables, kernels,
            conditioning[0] if conditioning else None)
        total = [_add(t, g) for t, g in zip(total, step_grads)]
        dcontext = _add(dcontext, step_dcontext)
      by_variable = {id(v): tf.zeros_like(v) if g is None else g
                     for v, g in zip(variables, total)}
      input_grads = [dz] + ([dcontext] if conditioning else [])
      return input_grads, [by_variable.get(id(v)) for v in all_variables]

    return (z, ildj), grad

  return level(h, *conditioning)


def level_inverse(glow):
  """The memory-saving `level_inverse` of `glow`'s flow (`reversible_steps`).

  For `MultiScaleFlow.inverse_and_log_det(..., level_inverse=...)` and
  `Glow.log_prob_and_class_logits`.
  """
  return functools.partial(reversible_steps, kernels=glow.bijector.kernels)


def memory_saving_log_prob(glow, x, labels=None, context=None):
  """`glow.log_prob(x, labels, context)`, a gradient that does not store the flow's activations.

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
    context: the images' context `[N, *context_shape]`, for conditional
      models.

  Returns:
    `[N]` log-densities.
  """
  x = glow.check_images(x)
  eps, ildj = glow.bijector.inverse_and_log_det(
      x, labels=labels, context=glow.check_context(context, x.shape[:-3]),
      level_inverse=level_inverse(glow))
  return glow.distribution.log_prob(eps) + ildj
