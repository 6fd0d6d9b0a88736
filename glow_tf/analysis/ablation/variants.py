"""The grid of the ablation: permutation x coupling over one base config."""

import dataclasses
import itertools

from glow_tf.config import GlowConfig

__all__ = ['ABLATION_PERMUTATIONS', 'ABLATION_COUPLINGS', 'AblationVariant',
           'ablation_variants', 'PERMUTATION_NAMES', 'permutation_name']

# The 1x1 convolution is the LU-decomposed one (the paper's fast variant).
ABLATION_PERMUTATIONS = ('reverse', 'shuffle', 'lu_conv')
ABLATION_COUPLINGS = ('additive', 'affine')
PERMUTATION_NAMES = {'reverse': 'reverse', 'shuffle': 'shuffle',
                     'lu_conv': '1x1 conv (LU)', 'conv': '1x1 conv'}


def permutation_name(permutation):
  """The name a figure or table gives `permutation`: `'1x1 conv (LU)'`, ..."""
  return PERMUTATION_NAMES.get(permutation, permutation)


@dataclasses.dataclass(frozen=True)
class AblationVariant:
  """One cell of the grid: a name (`'<permutation>-<coupling>'`) and its config."""
  name: str
  config: GlowConfig

  @property
  def label(self):
    """`'1x1 conv (LU), affine'`: the legend of its curve."""
    return (f'{permutation_name(self.config.permutation)}, '
            f'{self.config.coupling}')


def ablation_variants(base_config, permutations=ABLATION_PERMUTATIONS,
                      couplings=ABLATION_COUPLINGS):
  """The grid `permutations x couplings` over `base_config`.

  Args:
    base_config: a `GlowConfig`; everything but `permutation` and `coupling`
      is shared by all variants.
    permutations: names of `GlowConfig.permutation`.
    couplings: names of `GlowConfig.coupling`.

  Returns:
    A list of `AblationVariant`, permutation-major.
  """
  if not isinstance(base_config, GlowConfig):
    raise ValueError('base_config must be a glow_tf.GlowConfig, got '
                     f'{base_config!r}.')
  permutations, couplings = list(permutations), list(couplings)
  if not permutations or not couplings:
    raise ValueError('permutations and couplings must not be empty, got '
                     f'{permutations!r} and {couplings!r}.')
  for names, what in ((permutations, 'permutations'), (couplings, 'couplings')):
    if len(set(names)) != len(names):
      raise ValueError(f'{what} has duplicates: {names!r}.')
  return [AblationVariant(f'{p}-{c}',
                          base_config.replace(permutation=p, coupling=c))
          for p, c in itertools.product(permutations, couplings)]
