"""Glow's step bijectors, each a `tfp.bijectors.Bijector`.

Direction convention (TFP's): `forward` maps latent -> image (sampling),
`inverse` maps image -> latent and is what `log_prob` uses.
"""

from glow_tf.bijectors.act_norm import ActNorm
from glow_tf.bijectors.affine_coupling import AffineCoupling
from glow_tf.bijectors.flow_step import COUPLINGS
from glow_tf.bijectors.flow_step import flow_step
from glow_tf.bijectors.flow_step import initialize
from glow_tf.bijectors.flow_step import PERMUTATIONS
from glow_tf.bijectors.invertible_conv import InvertibleConv1x1
from glow_tf.bijectors.learned_prior import LearnedPrior
from glow_tf.bijectors.multi_scale import MultiScaleFlow
from glow_tf.bijectors.permutation import ChannelPermutation
from glow_tf.bijectors.split_prior import SplitPrior
from glow_tf.bijectors.squeeze import Squeeze

__all__ = [
    'ActNorm', 'AffineCoupling', 'ChannelPermutation', 'COUPLINGS',
    'InvertibleConv1x1', 'LearnedPrior', 'MultiScaleFlow', 'PERMUTATIONS',
    'SplitPrior', 'Squeeze', 'flow_step', 'initialize',
]
