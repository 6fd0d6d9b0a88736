"""glow_tf: Glow (Kingma & Dhariwal, 2018) as TensorFlow-Probability bijectors.

Direction convention, everywhere in this package (TFP's): a bijector's
`forward` maps latent -> image (sampling) and its `inverse` maps
image -> latent; `log_prob` of a distribution uses the inverse.
Images live in "model space": dequantised floats in [-0.5, 0.5]
(see `glow_tf.dequantize`).

`import glow_tf` loads the model (bijectors, `Glow`, images, the kernels
that compute its layers, the shipped weights:
`glow_tf.pretrained('fashion_mnist')`); training,
export and analysis load when first used (`glow_tf.training`, which holds
the Keras `GlowModel`, `glow_tf.export`, `glow_tf.analysis`,
`glow_tf.data`, ...): `import glow_tf.training` or the attribute itself.

#### Examples

```python
import glow_tf
dataset = glow_tf.data.load_dataset('fashion_mnist', 'test')  # loads data
trainer_config = glow_tf.training.TrainConfig()              # loads training
```
"""

import importlib

from glow_tf import bijectors
from glow_tf import kernels
from glow_tf.config import GlowConfig
from glow_tf.config import preset
from glow_tf.config import PRESETS
from glow_tf.architecture import build_flow
from glow_tf.glow import Glow
from glow_tf.images import bits_per_dim
from glow_tf.images import dequantize
from glow_tf.images import to_uint8
from glow_tf.pretrained_models import available_pretrained
from glow_tf.pretrained_models import pretrained
from glow_tf.pretrained_models import pretrained_info

__all__ = [
    'available_pretrained', 'bijectors', 'bits_per_dim', 'build_flow',
    'dequantize', 'Glow', 'kernels', 'GlowConfig', 'preset', 'PRESETS', 'pretrained',
    'pretrained_info', 'to_uint8',
]

# Subpackages and modules loaded on first attribute access, so that
# `import glow_tf` stays free of the training code and of
# tensorflow-datasets.
_LAZY_SUBMODULES = ('analysis', 'data', 'export', 'main_job', 'memory',
                    'networks', 'training')


def __getattr__(name):
  if name in _LAZY_SUBMODULES:
    return importlib.import_module(f'{__name__}.{name}')
  raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def __dir__():
  return sorted(set(globals()) | set(_LAZY_SUBMODULES))
