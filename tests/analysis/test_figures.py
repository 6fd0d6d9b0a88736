"""Tests of glow_tf.analysis.figures: PNGs."""

import warnings

import numpy as np
import pytest

from glow_tf import analysis
from tests import fixtures


def test_figures_are_pngs(tmp_path):
  rows = np.zeros((2, 3, 8, 8, 1), np.uint8)
  assert analysis.image_mosaic(rows).shape == (2 * 9 + 1, 3 * 9 + 1, 1)
  fixtures.check_png(analysis.save_image_grid(
      tmp_path / 'g.png', rows, ['a', 'b'], ['1', '2', '3'], title='t'))
  fixtures.check_png(analysis.save_curves(
      tmp_path / 'c.png', {'x': ([0, 1], [2.0, 1.0])}, 'step', 'bpd',
      references={'ref': 1.5}))
  fixtures.check_png(analysis.save_histograms(
      tmp_path / 'h.png', {'a': [1.0, 2.0], 'b': [2.0, 3.0]}, 'bpd'))
  with pytest.raises(ValueError, match='row_labels'):
    analysis.save_image_grid(tmp_path / 'x.png', rows, ['a'])
  with pytest.raises(ValueError, match='.png'):
    analysis.save_curves(tmp_path / 'x.jpg', {'x': ([0], [1])}, 'a', 'b')
  fixtures.check_png(analysis.save_curves(
      tmp_path / 'l.png', {'x': ([0, 1], [2.0, 30.0])}, 'step', 'bpd',
      ylim=(1.0, 3.0)))
  # A reference outside ylim is left out: its label would push the layout
  # off the figure (matplotlib warns 'Tight layout not applied').
  with warnings.catch_warnings():
    warnings.simplefilter('error')
    fixtures.check_png(analysis.save_curves(
        tmp_path / 'r.png', {'x': ([0, 1], [2.0, 30.0])}, 'step', 'bpd',
        references={'above': 300.0, 'inside': 2.0}, ylim=(1.0, 3.0)))
  for ylim in [(3.0, 1.0), (1.0, float('nan')), (1.0,)]:
    with pytest.raises(ValueError, match='ylim'):
      analysis.save_curves(tmp_path / 'y.png', {'x': ([0], [1])}, 'a', 'b',
                           ylim=ylim)
