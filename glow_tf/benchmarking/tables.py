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


def format_table(results):
  """The results as plain-text tables."""
  lines = [f"float32 matmul peak: {results['peak_gflops']:.0f} GFLOP/s "
           f"({results['machine']['cpu_model']}, "
           f"{results['machine']['nproc']} cores)", '']
  header = ('width  params(glow_tf/tfp)   train img/s glow_tf  tfp  speedup'
            '   sample img/s glow_tf  tfp  speedup   GFLOP/s  of peak')
  lines.append(header)
  for r in results['configs']:
    lines.append(
        f"{r['hidden_channels']:5d}  {r['glow_tf_params']:>9,d}/"
        f"{r['tfp_params']:<9,d}  {r['glow_tf_train_images_per_s']:17.1f}"
        f" {r['tfp_train_images_per_s']:5.1f} {r['train_speedup_vs_tfp']:7.2f}x"
        f"  {r['glow_tf_sample_images_per_s']:19.1f}"
        f" {r['tfp_sample_images_per_s']:5.1f} {r['sample_speedup_vs_tfp']:7.2f}x"
        f"  {r['achieved_gflops']:8.1f}  {r['fraction_of_peak']:6.1%}")
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
