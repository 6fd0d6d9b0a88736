"""The paper's experiments as library functions, and their figures.

```
temperature_grid(glow, temperatures, num_samples)    samples, one row per T
interpolate(glow, x_start, x_end, num_points)         latent lines, all levels
class_mean_latents / attribute_direction / manipulate class-mean directions
dataset_bits_per_dim / ood_summary                    out-of-distribution
histogram_baseline_bits_per_dim, PUBLISHED            reference figures
ablation_variants / run_ablation                      the paper's figure 3
seeds_figure_from_records                             its seeds, from records
save_image_grid / save_curves / save_histograms       PNGs (matplotlib Agg)
run_record / record_runs                              docs/results.json
```
The README's main job (`run_demo`) is `glow_tf.main_job`. Training runs go
through `glow_tf.training.train`, with the curve during training measured
by its `CurveEvaluation` callback. The binaries under `experiments/` are
thin wrappers of these.
"""

from glow_tf.analysis.ablation import ABLATION_COUPLINGS
from glow_tf.analysis.ablation import ABLATION_PERMUTATIONS
from glow_tf.analysis.ablation import ablation_table
from glow_tf.analysis.ablation import ablation_variants
from glow_tf.analysis.ablation import AblationResult
from glow_tf.analysis.ablation import AblationSummary
from glow_tf.analysis.ablation import AblationVariant
from glow_tf.analysis.ablation import run_ablation
from glow_tf.analysis.ablation import seeds_figure_from_records
from glow_tf.analysis import conditional
from glow_tf.analysis.attributes import attribute_direction
from glow_tf.analysis.attributes import class_mean_latents
from glow_tf.analysis.attributes import DEFAULT_STRENGTHS
from glow_tf.analysis.attributes import manipulate
from glow_tf.analysis.baselines import histogram_baseline_bits_per_dim
from glow_tf.analysis.baselines import PUBLISHED
from glow_tf.analysis.figures import image_mosaic
from glow_tf.analysis.figures import read_json
from glow_tf.analysis.figures import save_curves
from glow_tf.analysis.figures import save_histograms
from glow_tf.analysis.figures import save_image_grid
from glow_tf.analysis.figures import save_seed_points
from glow_tf.analysis.figures import write_json
from glow_tf.analysis.interpolation import interpolate
from glow_tf.analysis.interpolation import interpolation_rows
from glow_tf.analysis.ood import auroc
from glow_tf.analysis.ood import dataset_bits_per_dim
from glow_tf.analysis.ood import ood_summary
from glow_tf.analysis.records import command_line
from glow_tf.analysis.records import machine_description
from glow_tf.analysis.records import record_runs
from glow_tf.analysis.records import run_record
from glow_tf.analysis.reports import load_arrays
from glow_tf.analysis.reports import write_attribute_manipulation
from glow_tf.analysis.reports import write_interpolations
from glow_tf.analysis.reports import write_ood_histograms
from glow_tf.analysis.reports import write_temperature_grid
from glow_tf.analysis.samples import DEMO_TEMPERATURES
from glow_tf.analysis.samples import PAPER_TEMPERATURES
from glow_tf.analysis.samples import temperature_grid

__all__ = [
    'ABLATION_COUPLINGS', 'ABLATION_PERMUTATIONS', 'ablation_table',
    'ablation_variants', 'AblationResult', 'AblationSummary', 'conditional',
    'AblationVariant',
    'attribute_direction', 'auroc', 'class_mean_latents', 'command_line',
    'dataset_bits_per_dim', 'DEFAULT_STRENGTHS', 'DEMO_TEMPERATURES',
    'histogram_baseline_bits_per_dim', 'image_mosaic', 'interpolate',
    'interpolation_rows', 'load_arrays', 'machine_description', 'manipulate',
    'ood_summary', 'PAPER_TEMPERATURES', 'PUBLISHED', 'read_json',
    'record_runs', 'run_ablation', 'run_record',
    'save_curves', 'save_histograms', 'save_image_grid', 'save_seed_points',
    'seeds_figure_from_records', 'temperature_grid',
    'write_attribute_manipulation', 'write_interpolations', 'write_json',
    'write_ood_histograms', 'write_temperature_grid',
]
