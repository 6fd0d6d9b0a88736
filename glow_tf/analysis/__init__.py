"""The paper's experiments as library functions, and their figures.

```
temperature_grid(glow, temperatures, num_samples)    samples, one row per T
interpolate(glow, x_start, x_end, num_points)         latent lines, all levels
class_mean_latents / attribute_direction / manipulate class-mean directions
dataset_bits_per_dim / ood_summary                    out-of-distribution
save_image_grid / save_curves / save_histograms       PNGs (matplotlib Agg)
```
The binaries under `experiments/` are thin wrappers of these.
"""

from glow_tf.analysis.attributes import attribute_direction
from glow_tf.analysis.attributes import class_mean_latents
from glow_tf.analysis.attributes import DEFAULT_STRENGTHS
from glow_tf.analysis.attributes import manipulate
from glow_tf.analysis.figures import image_mosaic
from glow_tf.analysis.figures import read_json
from glow_tf.analysis.figures import save_curves
from glow_tf.analysis.figures import save_histograms
from glow_tf.analysis.figures import save_image_grid
from glow_tf.analysis.figures import write_json
from glow_tf.analysis.interpolation import interpolate
from glow_tf.analysis.interpolation import interpolation_rows
from glow_tf.analysis.ood import auroc
from glow_tf.analysis.ood import dataset_bits_per_dim
from glow_tf.analysis.ood import ood_summary
from glow_tf.analysis.reports import load_arrays
from glow_tf.analysis.reports import write_attribute_manipulation
from glow_tf.analysis.reports import write_interpolations
from glow_tf.analysis.reports import write_ood_histograms
from glow_tf.analysis.reports import write_temperature_grid
from glow_tf.analysis.samples import DEMO_TEMPERATURES
from glow_tf.analysis.samples import PAPER_TEMPERATURES
from glow_tf.analysis.samples import temperature_grid

__all__ = [
    'attribute_direction', 'auroc', 'class_mean_latents',
    'dataset_bits_per_dim', 'DEFAULT_STRENGTHS', 'DEMO_TEMPERATURES',
    'image_mosaic', 'interpolate', 'interpolation_rows', 'manipulate',
    'ood_summary', 'PAPER_TEMPERATURES', 'read_json', 'save_curves',
    'save_histograms', 'save_image_grid', 'temperature_grid',
    'load_arrays', 'write_attribute_manipulation', 'write_interpolations',
    'write_json', 'write_ood_histograms', 'write_temperature_grid',
]
