"""The paper's figure 3: permutation x coupling, several seeds, equal steps.

Kingma & Dhariwal (2018, section 5.1) compare three ways of mixing the
channels between couplings (reversing them, a fixed random shuffle, and the
learned invertible 1x1 convolution), each with additive and with affine
coupling, by the negative log-likelihood they reach. This package runs such a
grid with any training function and draws it:

```
variants = ablation_variants(glow_tf.preset('fashion_mnist'))   # 6 configs
summaries = run_ablation(variants, train_fn, output_dir, seeds=(0, 1, 2))
  -> output_dir/runs/<name>/seed_<k>/   one model_dir per variant and seed
     output_dir/ablation.png            mean test bits/dim against step,
                                        shaded from the lowest to the
                                        highest seed
     output_dir/ablation.json           every run, and each variant's mean
     output_dir/ablation.md             the table: mean, spread, and whether
                                        a variant is clearly ahead of the next
seeds_figure_from_records(runs, 'ablation-3seeds/', 'ablation-3seeds.png')
  -> each variant's seeds and mean +- std, from docs/results.json's records
```
`train_fn(variant, model_dir, seed)` trains one variant from one seed and
returns an `AblationResult`; a run whose `model_dir` already holds
`result.json` is not trained again, so an interrupted ablation resumes where
it stopped. Compare at an equal number of steps (`budgeted_train_fn` with
`time_budget_s=None`): on a shared machine equal seconds give the runs
different numbers of steps.

Modules: `variants` (the grid), `results` (a run's result, a variant's
summary over seeds), `runs` (`run_ablation`, `budgeted_train_fn`) and
`report` (the figure, table and JSON).
"""

from glow_tf.analysis.ablation.report import ablation_table
from glow_tf.analysis.ablation.report import seeds_figure_from_records
from glow_tf.analysis.ablation.results import AblationResult
from glow_tf.analysis.ablation.results import AblationSummary
from glow_tf.analysis.ablation.runs import budgeted_train_fn
from glow_tf.analysis.ablation.runs import RESULT_FILE
from glow_tf.analysis.ablation.runs import run_ablation
from glow_tf.analysis.ablation.variants import ABLATION_COUPLINGS
from glow_tf.analysis.ablation.variants import ABLATION_PERMUTATIONS
from glow_tf.analysis.ablation.variants import ablation_variants
from glow_tf.analysis.ablation.variants import AblationVariant
from glow_tf.analysis.ablation.variants import PERMUTATION_NAMES

__all__ = ['ABLATION_PERMUTATIONS', 'ABLATION_COUPLINGS', 'AblationVariant',
           'AblationResult', 'AblationSummary', 'ablation_variants',
           'run_ablation', 'ablation_table', 'PERMUTATION_NAMES',
           'budgeted_train_fn', 'seeds_figure_from_records']
