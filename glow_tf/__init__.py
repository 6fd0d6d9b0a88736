"""glow_tf: Glow (Kingma & Dhariwal, 2018) as TensorFlow-Probability bijectors.

Direction convention, everywhere in this package (TFP's): a bijector's
`forward` maps latent -> image (sampling) and its `inverse` maps
image -> latent; `log_prob` of a distribution uses the inverse.
Images live in "model space": dequantised floats in [-0.5, 0.5]
(see `glow_tf.dequantize`).

`import glow_tf` loads the model (bijectors, `Glow`, images, the shipped
weights: `glow_tf.pretrained('fashion_mnist')`); training,
export and analysis are separate imports (`glow_tf.training`, which holds
the Keras `GlowModel`, `glow_tf.export`, `glow_tf.analysis`).
"""

from glow_tf import bijectors
from glow_tf.config import GlowConfig
from glow_tf.config import preset
from glow_tf.config import PRESETS
from glow_tf.glow import build_flow
from glow_tf.glow import Glow
from glow_tf.images import bits_per_dim
from glow_tf.images import dequantize
from glow_tf.images import to_uint8
from glow_tf.pretrained_models import available_pretrained
from glow_tf.pretrained_models import pretrained
from glow_tf.pretrained_models import pretrained_info

__all__ = [
    'available_pretrained', 'bijectors', 'bits_per_dim', 'build_flow',
    'dequantize', 'Glow', 'GlowConfig', 'preset', 'PRESETS', 'pretrained',
    'pretrained_info', 'to_uint8',
]
