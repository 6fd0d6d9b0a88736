"""One step of flow: ActNorm -> permutation -> coupling, as a `tfb.Chain`."""

import numpy as np
import tensorflow as tf
from tensorflow_probability import bijectors as tfb
from tensorflow_probability.python.bijectors import chain as chain_lib

from glow_tf import _checks
from glow_tf.bijectors.act_norm import ActNorm
from glow_tf.bijectors.affine_coupling import AffineCoupling
from glow_tf.bijectors.invertible_conv import InvertibleConv1x1
from glow_tf.bijectors.permutation import ChannelPermutation

__all__ = ['flow_step', 'initialize', 'PERMUTATIONS', 'COUPLINGS']

# `tfb.Chain(...)` builds a `_Chain` when its parts are not composite tensors.
_CHAINS = (tfb.Chain, chain_lib._Chain)  # pylint: disable=protected-access

PERMUTATIONS = ('lu_conv', 'conv', 'shuffle', 'reverse')
COUPLINGS = ('affine', 'additive')


def _permutation(kind, num_channels, seed, dtype):
  if kind in ('lu_conv', 'conv'):
    return InvertibleConv1x1(num_channels, lu_decomposed=kind == 'lu_conv',
                             seed=seed, dtype=dtype)
  return ChannelPermutation(num_channels, kind=kind, seed=seed, dtype=dtype)


def flow_step(num_channels, hidden_channels=512, permutation='lu_conv',
              coupling='affine', seed=None, dtype=tf.float32,
              name='flow_step'):
  """Returns one Glow step, `tfb.Chain([act_norm, permutation, coupling])`.

  In the image -> latent direction (the chain's inverse) the step applies
  ActNorm, then the permutation, then the coupling, as in the paper's
  figure 2a; the forward direction undoes them in reverse order.

  Args:
    num_channels: channels C of the `[H, W, C]` events.
    hidden_channels: width of the coupling network.
    permutation: 'lu_conv' (1x1 convolution in LU form), 'conv' (plain 1x1
      convolution), 'shuffle' or 'reverse' (fixed permutations).
    coupling: 'affine' or 'additive'.
    seed: int seed for the initial weights; `None` for random.
    dtype: float dtype.
    name: name of the chain.

  Returns:
    A `tfb.Chain` whose `bijectors` are `[ActNorm, permutation, AffineCoupling]`.

  #### Examples

  ```python
  step = glow_tf.bijectors.flow_step(12, hidden_channels=512)
  glow_tf.bijectors.initialize(step, x)   # data-dependent init, in order
  z = step.inverse(x)
  ```
  """
  _checks.one_of(permutation, 'permutation', PERMUTATIONS)
  _checks.one_of(coupling, 'coupling', COUPLINGS)
  seeds = np.random.SeedSequence(seed).generate_state(2)
  with tf.name_scope(name) as scope_name:
    return tfb.Chain([
        ActNorm(num_channels, dtype=dtype),
        _permutation(permutation, num_channels, int(seeds[0]), dtype),
        AffineCoupling(num_channels, hidden_channels,
                       additive=coupling == 'additive', seed=int(seeds[1]),
                       dtype=dtype),
    ], name=scope_name.rstrip('/'))


def initialize(bijector, x):
  """Data-dependent initialisation of every ActNorm in `bijector`, in order.

  Walks the bijector in the image -> latent direction: for a `tfb.Chain`
  that is its `bijectors` in list order. Each part with an `initialize(x)`
  method is initialised on the output of the parts before it; other parts
  are applied with `inverse`.

  Args:
    bijector: a bijector or a `tfb.Chain` of them.
    x: an image-side batch.

  Returns:
    `bijector.inverse(x)`, computed with the initialised parameters.
  """
  if isinstance(bijector, _CHAINS):
    for part in bijector.bijectors:
      x = initialize(part, x)
    return x
  if hasattr(bijector, 'initialize'):
    return bijector.initialize(x)
  return bijector._inverse(x)  # pylint: disable=protected-access
