"""How glow_tf's layers are computed: one interface, three backends.

`GlowConfig(kernels=...)` picks one by name; the model code never knows
which ran.

| name | what it is |
|---|---|
| `'fast'` (default) | convolutions as matmuls, ActNorms folded into kernels, XLA-compiled taps and sampling tail, batch halves on CPUs (`fast.py`) |
| `'matmul'` | the same, without XLA: for a SavedModel that TF Serving's CPU server runs |
| `'reference'` | the definitions: `tf.nn.conv2d`, each layer and bijector alone (`reference.py`) |

All three compute the same function (tests/kernels compare them, in
float64 to 1e-10); `'fast'` is 2-3x faster than `tfp.bijectors.Glow` on a
CPU (docs/performance.md).

#### Examples

```python
glow_tf.kernels.get('reference').conv2d(x, kernel)   # == tf.nn.conv2d SAME
glow = glow_tf.Glow(glow_tf.preset('fashion_mnist', kernels='reference'))
```
"""

from glow_tf.kernels.fast import FastKernels
from glow_tf.kernels.interface import Kernels
from glow_tf.kernels.reference import ReferenceKernels
from glow_tf.kernels.taps import taps_on_output

__all__ = ['KERNELS', 'FastKernels', 'Kernels', 'ReferenceKernels', 'get',
           'taps_on_output']

_BACKENDS = {
    'fast': FastKernels(xla=True),
    'matmul': FastKernels(xla=False),
    'reference': ReferenceKernels(),
}
KERNELS = tuple(_BACKENDS)


def get(kernels):
  """The backend named `kernels` ('fast', 'matmul', 'reference').

  A `Kernels` object is returned as it is.
  """
  if isinstance(kernels, Kernels):
    return kernels
  if not isinstance(kernels, str) or kernels not in _BACKENDS:
    raise ValueError(f'`kernels` must be one of {list(KERNELS)}, got '
                     f'{kernels!r}.')
  return _BACKENDS[kernels]
