"""Reproducible seeds derived from a user's seed (private).

Every derived seed goes through `numpy.random.SeedSequence`, so the streams of
different purposes (`salts`) are independent and stable across runs:

```
derive_seed(seed, salt...) = SeedSequence([seed, salt...]).state[0] & 0x7FFFFFFF
split_seed(seed, n)        = SeedSequence(seed).generate_state(n)  (n seeds)
```
`derive_seed` names a purpose (the data of a run resumed at a step);
`split_seed` hands one seed to each of `n` parts (the steps of a level, the
layers of a network), which is how every initial weight is seeded.
"""

import numpy as np

__all__ = ['derive_seed', 'split_seed']


def derive_seed(seed, *salts):
  """A non-negative int32 seed from `seed` and the `salts` that name its use.

  #### Examples

  ```python
  derive_seed(0, 1000)   # the data seed of a run resumed at step 1000
  ```
  """
  state = np.random.SeedSequence([int(seed), *map(int, salts)]).generate_state(1)
  return int(state[0] & 0x7FFFFFFF)


def split_seed(seed, n):
  """`n` independent int seeds for the `n` parts of something seeded `seed`.

  `seed=None` draws fresh entropy (a different result every call).

  #### Examples

  ```python
  conv_seed, coupling_seed = split_seed(7, 2)
  ```
  """
  return [int(s) for s in np.random.SeedSequence(seed).generate_state(n)]
