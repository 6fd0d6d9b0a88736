"""Reproducible seeds derived from a user's seed (private).

Every derived seed goes through `numpy.random.SeedSequence`, so the streams of
different purposes (`salts`) are independent and stable across runs:

```
derive_seed(seed, salt...) = SeedSequence([seed, salt...]).state[0] & 0x7FFFFFFF
```
"""

import numpy as np

__all__ = ['derive_seed']


def derive_seed(seed, *salts):
  """A non-negative int32 seed from `seed` and the `salts` that name its use.

  #### Examples

  ```python
  derive_seed(0, 1000)   # the data seed of a run resumed at step 1000
  ```
  """
  state = np.random.SeedSequence([int(seed), *map(int, salts)]).generate_state(1)
  return int(state[0] & 0x7FFFFFFF)
