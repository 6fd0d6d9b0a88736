"""Samples at several temperatures (the paper's figure 8)."""

import numpy as np

from glow_tf import _checks
from glow_tf import images as images_lib
from glow_tf.analysis import _inputs

__all__ = ['temperature_grid', 'PAPER_TEMPERATURES', 'DEMO_TEMPERATURES']

# The rows of the temperature-grid experiment, and of the demo's grid.
PAPER_TEMPERATURES = (0.0, 0.25, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
DEMO_TEMPERATURES = (0.0, 0.5, 0.7, 1.0)


def temperature_grid(glow, temperatures, num_samples, seed=0, labels=None):
  """uint8 samples, one row per temperature, from the same latents.

  Row `t` holds `flow.forward(T_t * eps_i)` for `i = 1..num_samples`, with the
  same `eps_i ~ N(0, I)` in every row, so a column shows one sample cooled
  down: T = 0 is the image of the prior means, T = 1 an exact sample, and
  T of about 0.7 trades diversity for quality (Kingma & Dhariwal, 2018,
  figure 8).

  Args:
    glow: a `glow_tf.Glow`.
    temperatures: sequence of non-negative floats, one per row.
    num_samples: images per row.
    seed: int seed of the latents `eps` (or a stateless seed, shape [2]).
    labels: int labels `[num_samples]` for class-conditional models.

  Returns:
    uint8 array `[len(temperatures), num_samples, H, W, C]`.

  #### Examples

  ```python
  grid = temperature_grid(glow, PAPER_TEMPERATURES, num_samples=10)
  save_image_grid('temperature.png', grid, [f'T={t}' for t in temps])
  ```
  """
  _inputs.check_glow(glow)
  num_samples = _checks.positive_int(num_samples, 'num_samples')
  temperatures = [float(t) for t in temperatures]
  if not temperatures or min(temperatures) < 0:
    raise ValueError('temperatures must be a non-empty sequence of floats '
                     f'>= 0, got {temperatures!r}.')
  seed = _checks.seed_pair(seed)  # a float or a string: a clear error
  rows = []
  for temperature in temperatures:
    x = glow.sample(num_samples, seed=seed, temperature=temperature,
                    labels=labels)
    rows.append(images_lib.to_uint8(x, glow.config.n_bits).numpy())
  return np.stack(rows)
