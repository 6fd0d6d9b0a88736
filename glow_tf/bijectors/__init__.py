"""Glow's step bijectors, each a `tfp.bijectors.Bijector`.

Direction convention (TFP's): `forward` maps latent -> image (sampling),
`inverse` maps image -> latent and is what `log_prob` uses.

Every bijector here is a `GlowBijector`: besides TFP's methods it has
`inverse_and_log_det` and `forward_and_log_det`, the output and its log-det
from one pass; the functions of the same names (`chain.py`) do the same for
`tfb.Chain`s of them (a `flow_step`, a level of steps), walking the chain
once.
"""

from glow_tf.bijectors.act_norm import ActNorm
from glow_tf.bijectors.affine_coupling import AffineCoupling
from glow_tf.bijectors.chain import chain_parts
from glow_tf.bijectors.chain import forward_and_log_det
from glow_tf.bijectors.chain import initialize
from glow_tf.bijectors.chain import inverse_and_log_det
from glow_tf.bijectors.flow_step import COUPLINGS
from glow_tf.bijectors.flow_step import flow_step
from glow_tf.bijectors.flow_step import PERMUTATIONS
from glow_tf.bijectors.glow_bijector import GlowBijector
from glow_tf.bijectors.invertible_conv import InvertibleConv1x1
from glow_tf.bijectors.learned_prior import LearnedPrior
from glow_tf.bijectors.multi_scale import latent_shapes
from glow_tf.bijectors.multi_scale import level_shapes
from glow_tf.bijectors.multi_scale import MultiScaleFlow
from glow_tf.bijectors.permutation import ChannelPermutation
from glow_tf.bijectors.split_prior import SplitPrior
from glow_tf.bijectors.squeeze import Squeeze

__all__ = [
    'ActNorm', 'AffineCoupling', 'ChannelPermutation', 'COUPLINGS',
    'GlowBijector', 'InvertibleConv1x1', 'LearnedPrior', 'MultiScaleFlow',
    'PERMUTATIONS', 'SplitPrior', 'Squeeze', 'chain_parts', 'flow_step',
    'forward_and_log_det', 'initialize', 'inverse_and_log_det',
    'latent_shapes', 'level_shapes',
]
