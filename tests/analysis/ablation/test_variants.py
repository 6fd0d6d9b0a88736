"""Tests of glow_tf.analysis.ablation.variants: the permutation x coupling grid."""

import pytest

from glow_tf import analysis
from tests import fixtures


def test_the_grid_is_permutation_major_over_the_base_config():
  base = fixtures.tiny_config()
  variants = analysis.ablation_variants(base)
  assert [v.name for v in variants] == [
      'reverse-additive', 'reverse-affine', 'shuffle-additive',
      'shuffle-affine', 'lu_conv-additive', 'lu_conv-affine']
  assert variants[5].config == base.replace(permutation='lu_conv',
                                            coupling='affine')
  assert variants[5].label == '1x1 conv (LU), affine'
  assert variants[0].label == 'reverse, additive'


@pytest.mark.parametrize('kwargs, message', [
    (dict(permutations=()), 'must not be empty'),
    (dict(couplings=('affine', 'affine')), 'couplings has duplicates'),
])
def test_bad_grids_are_refused(kwargs, message):
  with pytest.raises(ValueError, match=message):
    analysis.ablation_variants(fixtures.tiny_config(), **kwargs)
  with pytest.raises(ValueError, match='must be a glow_tf.GlowConfig'):
    analysis.ablation_variants({'image_shape': (28, 28, 1)})
