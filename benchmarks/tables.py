"""The benchmark's results as plain-text tables."""

__all__ = ['format_table']


def _variant_table(results, title, header, columns):
  """Rows of a second-phase variant, one per width, if the results have it."""
  rows = [r for r in results['configs'] if columns[0][0] in r]
  if not rows:
    return []
  return ['', title, header] + [
      f"{r['hidden_channels']:5d}" +
      ''.join(form.format(r[key]) for key, form in columns) for r in rows]


def _cell(row, key, form, width):
  """`row[key]` formatted, or a dash where the contender did not run."""
  return form.format(row[key]) if key in row else '-'.rjust(width)


def _header(results):
  """The peak, how it was found, and PyTorch's settings."""
  machine = results['machine']
  lines = [f"float32 matmul peak: {results['peak_gflops']:.0f} GFLOP/s "
           f"({machine['cpu_model']}, {machine['nproc']} cores)"]
  probes = results.get('peak_probes')
  if probes:
    best = max(probes, key=probes.get)
    lines.append(f'  best of {len(probes)} matmul probes ({best}: '
                 f'{probes[best]:.0f} GFLOP/s); ' + ', '.join(
                     f'{name} {gflops:.0f}' for name, gflops in probes.items()))
  if results.get('peak_underestimated'):
    lines.append(f"  UNDERESTIMATED: a model reached more than the probes' "
                 f"{results['probe_peak_gflops']:.0f} GFLOP/s; the peak "
                 'shown is the model\'s')
  torch = results.get('torch')
  if torch and 'skipped' in torch:
    reason = torch.get('reason', 'not installed')  # Older JSON: no reason.
    lines.append(f'PyTorch: not run ({reason}), hence the dashes')
  elif torch:
    lines.append(f"PyTorch {torch['version']}: intra-op threads "
                 f"{torch['threads']} (TensorFlow's: "
                 f"{torch['tensorflow_threads']}), "
                 f"{torch['memory_format']}")
  return lines


def _range_table(results):
  """The lowest and highest per-round speed-up of each headline figure."""
  rows = [r for r in results['configs'] if 'train_speedup_vs_tfp_range' in r]
  if not rows:
    return []  # JSON written before the ranges were recorded

  def cell(row, key):
    if key not in row:
      return '-'.rjust(12)
    low, high = row[key]
    return f'{low:5.2f}-{high:5.2f}x'
  lines = ['', 'per-round speed-ups, lowest-highest (the spread of this run):',
           'width  train vs tfp      vs torch  sample vs tfp      vs torch']
  for r in rows:
    lines.append(f"{r['hidden_channels']:5d}  " + '  '.join(
        cell(r, f'{task}_speedup_vs_{contender}_range')
        for task in ('train', 'sample') for contender in ('tfp', 'torch')))
  return lines


def format_table(results):
  """The results as plain-text tables; '-' where PyTorch did not run."""
  lines = _header(results) + [
      '', 'width  params glow_tf        tfp      torch  torch matches']
  for r in results['configs']:
    match = ({True: 'yes', False: 'NO'}[r['torch_params_match']]
             if 'torch_params_match' in r else '-')
    lines.append(f"{r['hidden_channels']:5d}  {r['glow_tf_params']:14,d}"
                 f" {r['tfp_params']:10,d} "
                 f"{_cell(r, 'torch_params', '{:10,d}', 10)}  {match:>13}")
  lines += ['', 'speedup: glow_tf over the contender (median of per-round '
            'ratios)', 'width  train img/s glow_tf      tfp    torch  '
            'speedup vs tfp  vs torch   GFLOP/s  of peak  torch of peak']
  for r in results['configs']:
    lines.append(
        f"{r['hidden_channels']:5d}  {r['glow_tf_train_images_per_s']:19.1f}"
        f" {r['tfp_train_images_per_s']:8.1f}"
        f" {_cell(r, 'torch_train_images_per_s', '{:8.1f}', 8)}"
        f"  {r['train_speedup_vs_tfp']:13.2f}x"
        f" {_cell(r, 'train_speedup_vs_torch', '{:8.2f}x', 9)}"
        f"  {r['achieved_gflops']:8.1f}  {r['fraction_of_peak']:7.1%}"
        f"  {_cell(r, 'torch_fraction_of_peak', '{:13.1%}', 13)}")
  lines += ['', 'width  sample img/s glow_tf      tfp    torch  '
            'speedup vs tfp  vs torch   GFLOP/s  of peak']
  for r in results['configs']:
    lines.append(
        f"{r['hidden_channels']:5d}  {r['glow_tf_sample_images_per_s']:20.1f}"
        f" {r['tfp_sample_images_per_s']:8.1f}"
        f" {_cell(r, 'torch_sample_images_per_s', '{:8.1f}', 8)}"
        f"  {r['sample_speedup_vs_tfp']:13.2f}x"
        f" {_cell(r, 'sample_speedup_vs_torch', '{:8.2f}x', 9)}"
        f"  {_cell(r, 'sample_achieved_gflops', '{:8.1f}', 8)}"
        f"  {_cell(r, 'sample_fraction_of_peak', '{:7.1%}', 7)}")
  lines += _range_table(results)
  lines += _variant_table(
      results, "the matmul floor: glow_tf's matmuls, each timed alone "
      "(share: of glow_tf's call; bound: tfp's call over the floor):",
      'width  train ms  share  bound vs tfp   sample ms  share  bound vs tfp',
      [('matmul_floor_train_ms', '  {:8.1f}'),
       ('train_matmul_share', '  {:5.0%}'),
       ('train_speedup_vs_tfp_floor_bound', '  {:11.2f}x'),
       ('matmul_floor_sample_ms', '  {:10.1f}'),
       ('sample_matmul_share', '  {:5.0%}'),
       ('sample_speedup_vs_tfp_floor_bound', '  {:11.2f}x')])
  lines += _variant_table(
      results, "with the hidden layers' gradient passes (ReluGrad, "
      "BiasAddGrad), each timed alone: the tighter floor under training:",
      'width  passes ms  matmuls + passes ms  bound vs tfp',
      [('pass_floor_train_ms', '  {:9.1f}'),
       ('floor_with_passes_train_ms', '  {:19.1f}'),
       ('train_speedup_vs_tfp_floor_with_passes_bound', '  {:11.2f}x')])
  lines += _variant_table(
      results, 'glow_tf training with memory_saving_log_prob:',
      'width  train img/s  vs tfp',
      [('glow_tf_memory_saving_train_images_per_s', '  {:11.1f}'),
       ('memory_saving_train_speedup_vs_tfp', '  {:5.2f}x')])
  lines += _variant_table(
      results, 'glow_tf with XLA (jit_compile=True):',
      'width  train img/s  vs tfp   sample img/s  vs tfp',
      [('glow_tf_xla_train_images_per_s', '  {:11.1f}'),
       ('xla_train_speedup_vs_tfp', '  {:5.2f}x'),
       ('glow_tf_xla_sample_images_per_s', '  {:12.1f}'),
       ('xla_sample_speedup_vs_tfp', '  {:5.2f}x')])
  if results.get('memory'):
    lines += ['', 'peak memory of one training step (MiB above the resident '
              'set before it):',
              '    K  width  plain  memory-saving']
    for m in results['memory']:
      lines.append(f"{m['num_steps']:5d}  {m['hidden_channels']:5d}"
                   f"  {m['plain_step_peak_mib']:5.0f}"
                   f"  {m['memory_saving_step_peak_mib']:13.0f}")
  return '\n'.join(lines)
