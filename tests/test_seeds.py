"""Tests of glow_tf._seeds: derived seeds are stable, distinct and int32."""

from glow_tf import _seeds


def test_derived_seeds_are_stable_distinct_and_non_negative_int32():
  seeds = [_seeds.derive_seed(0, salt) for salt in range(100)]
  assert seeds == [_seeds.derive_seed(0, salt) for salt in range(100)]
  assert len(set(seeds)) == 100
  assert all(0 <= s < 2**31 for s in seeds)
  assert _seeds.derive_seed(1, 5) != _seeds.derive_seed(0, 5)
  assert _seeds.derive_seed(0, 1, 2) != _seeds.derive_seed(0, 2, 1)
