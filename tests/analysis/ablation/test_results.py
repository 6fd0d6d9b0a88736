"""Tests of glow_tf.analysis.ablation.results: one run, one variant over seeds."""

import numpy as np
import pytest

from glow_tf import analysis
from tests import fixtures


def _result(seed, final):
  return analysis.AblationResult(
      history=((0, 5.0 + seed), (10, final + 0.5), (20, final)),
      final_test_bits_per_dim=final, wall_clock_seconds=1.0, steps=20,
      extra={'num_test_images': 100} if seed else None)


def test_a_result_survives_its_json():
  for result in (_result(0, 3.4), _result(1, 3.6)):
    assert analysis.AblationResult.from_json(result.to_json()) == result


def test_a_summary_over_seeds():
  variant = analysis.ablation_variants(fixtures.tiny_config())[0]
  summary = analysis.AblationSummary(variant, (0, 1),
                                     (_result(0, 3.4), _result(1, 3.6)))
  assert summary.mean == pytest.approx(3.5)
  assert summary.std == pytest.approx(np.std([3.4, 3.6], ddof=1))
  assert (summary.low, summary.high) == (3.4, 3.6)
  steps, mean, low, high = summary.mean_curve()
  np.testing.assert_allclose(steps, [0, 10, 20])
  np.testing.assert_allclose(mean, [5.5, 4.0, 3.5])
  np.testing.assert_allclose(low, [5.0, 3.9, 3.4])
  np.testing.assert_allclose(high, [6.0, 4.1, 3.6])
