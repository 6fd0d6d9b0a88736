"""The ablation's figure, table and JSON, and its seeds figure from records."""

import os

import numpy as np

from glow_tf.analysis import figures
from glow_tf.analysis.ablation.variants import permutation_name

__all__ = ['ablation_table', 'seeds_figure_from_records', 'write_outputs']


def ablation_table(summaries):
  """Markdown table of the variants, best mean first.

  `ahead of the next` says whether a variant's worst seed is still better
  than the next row's best seed: only then does the table claim an order.
  """
  rows = sorted(summaries, key=lambda summary: summary.mean)
  lines = ['| permutation | coupling | test bits/dim, mean | std | '
           'lowest - highest | seeds | steps | ahead of the next |',
           '|---|---|---|---|---|---|---|---|']
  for i, summary in enumerate(rows):
    config = summary.variant.config
    steps = sorted({r.steps for r in summary.results})
    following = rows[i + 1] if i + 1 < len(rows) else None
    ahead = ('-' if following is None else
             'yes' if summary.high < following.low else 'no')
    lines.append(
        f'| {permutation_name(config.permutation)} '
        f'| {config.coupling} | {summary.mean:.3f} | {summary.std:.3f} '
        f'| {summary.low:.3f} - {summary.high:.3f} | {len(summary.seeds)} '
        f'| {"/".join(map(str, steps))} | {ahead} |')
  return '\n'.join(lines) + '\n'


def write_outputs(summaries, output_dir, references=None, title=None):
  """Writes `ablation.png`, `ablation.md` and `ablation.json` to `output_dir`."""
  curves, bands = {}, {}
  for summary in summaries:
    steps, mean, low, high = summary.mean_curve()
    curves[summary.variant.label] = (steps, mean)
    if len(summary.seeds) > 1:
      bands[summary.variant.label] = (low, high)
  figures.save_curves(
      os.path.join(output_dir, 'ablation.png'), curves,
      xlabel='training step', ylabel='test bits/dim',
      title=title or 'Permutation x coupling (Kingma & Dhariwal 2018, fig. 3)',
      references=references, bands=bands)
  with open(os.path.join(output_dir, 'ablation.md'), 'w') as f:
    f.write(ablation_table(summaries))
  figures.write_json(os.path.join(output_dir, 'ablation.json'), {
      'figure': 'ablation.png',
      'variants': [dict(name=s.variant.name,
                        permutation=s.variant.config.permutation,
                        coupling=s.variant.config.coupling,
                        seeds=list(s.seeds), mean=s.mean, std=s.std,
                        lowest=s.low, highest=s.high)
                   for s in summaries],
      'runs': [dict(name=s.variant.name, seed=seed,
                    permutation=s.variant.config.permutation,
                    coupling=s.variant.config.coupling, **r.to_json())
               for s in summaries for seed, r in zip(s.seeds, s.results)],
  })


def seeds_figure_from_records(runs, prefix, path, title=None):
  """Draws the final test bits/dim of each seed of recorded ablation runs.

  Works from `docs/results.json`'s records alone (no run folders), so the
  figure can be redrawn after a variant was rerun elsewhere. A record is
  drawn if its name starts with `prefix` and it has
  `per_seed_test_bits_per_dim` (what `experiments/ablation.py
  --record_to` writes); rows go from the lowest mean down.

  Args:
    runs: the records, e.g. `figures.read_json('docs/results.json')['runs']`.
    prefix: the records' name prefix, e.g. `'ablation-3seeds/'`.
    path: the `.png` to write.
    title: the figure's title (default: one naming the steps).

  Returns:
    A list of `(name, mean, std)`, as drawn (sample std over the seeds).

  Raises:
    ValueError: no record with that prefix has per-seed results.

  #### Examples

  ```python
  runs = figures.read_json('docs/results.json')['runs']
  seeds_figure_from_records(runs, 'ablation-3seeds/', 'ablation-3seeds.png')
  ```
  """
  chosen = [r for r in runs if str(r.get('name', '')).startswith(prefix)
            and r.get('per_seed_test_bits_per_dim')]
  if not chosen:
    raise ValueError(f'No record named {prefix!r}... with per-seed results '
                     f'(per_seed_test_bits_per_dim) among {len(runs)}.')
  rows = []
  for record in chosen:
    values = np.asarray(record['per_seed_test_bits_per_dim'], float)
    std = figures.sample_std(values)
    permutation = record.get('permutation')
    label = (f'{permutation_name(permutation)} / '
             f"{record.get('coupling')}")
    rows.append((label, float(values.mean()), std, values))
  rows.sort(key=lambda row: row[1])
  steps = sorted({s for r in chosen for s in (r.get('steps') or [])})
  seeds = sorted({len(r['per_seed_test_bits_per_dim']) for r in chosen})
  if title is None:
    title = (f"Permutation x coupling, {'/'.join(map(str, seeds))} seeds, "
             f"{'/'.join(f'{s:,}' for s in steps)} steps each")
  images = {r.get('num_test_images') for r in chosen}
  xlabel = 'test bits/dim'
  if len(images) == 1 and None not in images:
    xlabel += f' ({images.pop():,} test images)'
  figures.save_seed_points(path, [(label, values)
                                  for label, _, _, values in rows],
                           xlabel=xlabel, title=title)
  return [(label, mean, std) for label, mean, std, _ in rows]
