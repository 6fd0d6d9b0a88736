"""One step of flow: ActNorm -> permutation -> coupling, as a `tfb.Chain`."""

import tensorflow as tf
from tensorflow_probability import bijectors as tfb

from glow_tf import _checks
from glow_tf import _seeds
from glow_tf.bijectors.act_norm import ActNorm
from glow_tf.bijectors.affine_coupling import AffineCoupling
from glow_tf.bijectors.invertible_conv import InvertibleConv1x1
from glow_tf.bijectors.permutation import ChannelPermutation

__all__ = ['COUPLINGS', 'PERMUTATIONS', 'flow_step']

PERMUTATIONS = ('lu_conv', 'conv', 'shuffle', 'reverse')
COUPLINGS = ('affine', 'additive')


def _permutation(kind, num_channels, seed, dtype):
  if kind in ('lu_conv', 'conv'):
    return InvertibleConv1x1(num_channels, lu_decomposed=kind == 'lu_conv',
                             seed=seed, dtype=dtype)
  return ChannelPermutation(num_channels, kind=kind, seed=seed, dtype=dtype)


def flow_step(num_channels, hidden_channels=512, permutation='lu_conv',
              coupling='affine', seed=None, dtype=tf.float32,
              edge_padding=False, network_dtype=None,
              act_norm_log_scale_factor=1.0, kernels='fast',
              context_channels=0, name='flow_step'):
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
    edge_padding: the coupling network's padding-indicator channel (see
      `glow_tf.networks`).
    network_dtype: None, or 'bfloat16' for the coupling network's matmuls
      (see `AffineCoupling`).
    act_norm_log_scale_factor: `log_scale_factor` of the step's ActNorm and
      of the coupling network's ActNorms (1, or 3 as in the official code).
    kernels: the `glow_tf.kernels` backend of the coupling network.
    context_channels: channels of the context features the coupling reads
      (0: unconditional); the chain then takes
      `step.inverse(x, affine_coupling={'context': c})`, TFP's keywords of
      a chain's part.
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
  seeds = _seeds.split_seed(seed, 2)
  with tf.name_scope(name) as scope_name:
    return tfb.Chain([
        ActNorm(num_channels, dtype=dtype,
                log_scale_factor=act_norm_log_scale_factor),
        _permutation(permutation, num_channels, int(seeds[0]), dtype),
        AffineCoupling(num_channels, hidden_channels,
                       additive=coupling == 'additive', seed=int(seeds[1]),
                       dtype=dtype, edge_padding=edge_padding,
                       network_dtype=network_dtype,
                       act_norm_log_scale_factor=act_norm_log_scale_factor,
                       kernels=kernels, context_channels=context_channels,
                       name='affine_coupling'),
    ], name=scope_name.rstrip('/'))
