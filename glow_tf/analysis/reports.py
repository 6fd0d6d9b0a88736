"""Each experiment end to end on a trained model: its PNG figure and JSON.

These are what the `experiments/` binaries call; every function writes into
`output_dir` and returns the summary it wrote as JSON (which lists the files).

```
write_temperature_grid(glow, output_dir)               temperature_grid.png/.json
write_interpolations(glow, images, output_dir)         interpolation.png/.json
write_attribute_manipulation(glow, images, labels, output_dir)
                                                       attributes.png/.json
write_ood_histograms(glow, in_images, out_images, output_dir)
                                                       ood_histogram.png, ood.json
```
Each JSON describes the model under `model` (its shape, the training `step`
and, given `model_source`, which model it is: e.g. `{'model_dir': ...}` or
`{'pretrained': 'fashion_mnist', ...}`, as the binaries pass).
"""

import os

import numpy as np

from glow_tf import _checks
from glow_tf.analysis import _inputs
from glow_tf.analysis import attributes
from glow_tf.analysis import baselines
from glow_tf.analysis import figures
from glow_tf.analysis import interpolation
from glow_tf.analysis import ood
from glow_tf.analysis import samples

__all__ = ['write_temperature_grid', 'write_interpolations',
           'write_attribute_manipulation', 'write_ood_histograms',
           'load_arrays']


def load_arrays(name, split, data_dir=None, idx_dir=None, max_examples=None):
  """`(images uint8 [N, H, W, C], labels [N])` of one split, in file order.

  Args:
    name: a `glow_tf.data.load_dataset` name, e.g. `'fashion_mnist'` or
      `'mnist_idx'`.
    split: `'train'` or `'test'`.
    data_dir: TFDS data directory.
    idx_dir: IDX folder (`'mnist_idx'`, or Fashion-MNIST's source files).
    max_examples: keep only the first `max_examples`.
  """
  from glow_tf import data  # pylint: disable=g-import-not-at-top
  dataset = data.load_dataset(name, split, data_dir=data_dir, idx_dir=idx_dir)
  return _inputs.take_arrays(dataset, max_examples)


def _model_info(glow, step=None, source=None):
  info = {'image_shape': list(glow.config.image_shape),
          'num_levels': glow.config.num_levels,
          'num_steps': glow.config.num_steps,
          'coupling': glow.config.coupling,
          'permutation': glow.config.permutation,
          'n_bits': glow.config.n_bits}
  if step is not None:
    info['step'] = int(step)
  info.update(source or {})
  return info


def _temperature_label(t):
  return f'T={t:g}'


def write_temperature_grid(glow, output_dir,
                           temperatures=samples.PAPER_TEMPERATURES,
                           num_samples=10, seed=0, step=None,
                           name='temperature_grid', model_source=None):
  """Writes `<name>.png` (a row of samples per temperature) and `<name>.json`."""
  grid = samples.temperature_grid(glow, temperatures, num_samples, seed=seed)
  png = figures.save_image_grid(
      os.path.join(output_dir, f'{name}.png'), grid,
      row_labels=[_temperature_label(t) for t in temperatures],
      title='Samples at temperature T (same latents in each column)')
  summary = {'figure': os.path.basename(png),
             'temperatures': [float(t) for t in temperatures],
             'num_samples': int(num_samples), 'seed': int(seed),
             # How far each row strays from model space: mean pixel value
             # and the share of pixels saturated at 0 or 255.
             'mean_pixel': [float(r.mean()) for r in grid],
             'saturated_fraction': [
                 float(np.mean((r == 0) | (r == 255))) for r in grid],
             'model': _model_info(glow, step, model_source)}
  figures.write_json(os.path.join(output_dir, f'{name}.json'), summary)
  return summary


def write_interpolations(glow, images, output_dir, num_pairs=6, num_points=9,
                         seed=0, step=None, labels=None,
                         name='interpolation', model_source=None):
  """Writes `<name>.png` (one interpolation per row) and `<name>.json`.

  The pairs are drawn at random (by `seed`) from `images` without repeats.
  """
  images = np.asarray(images)
  num_pairs = _checks.positive_int(num_pairs, 'num_pairs')
  if len(images) < 2 * num_pairs:
    raise ValueError(f'{num_pairs} pairs need {2 * num_pairs} images, got '
                     f'{len(images)}.')
  order = np.random.default_rng(seed).permutation(len(images))[:2 * num_pairs]
  pairs = [(int(order[2 * i]), int(order[2 * i + 1]))
           for i in range(num_pairs)]
  rows = interpolation.interpolation_rows(glow, images, pairs, num_points,
                                          labels=labels)
  alphas = np.linspace(0.0, 1.0, num_points)
  png = figures.save_image_grid(
      os.path.join(output_dir, f'{name}.png'), rows,
      column_labels=[f'{a:.2g}' for a in alphas],
      title='Linear interpolation of all latents between two test images')
  # The ends must come back exactly: Glow is invertible.
  ends_exact = bool(np.array_equal(rows[:, 0], images[[p[0] for p in pairs]])
                    and np.array_equal(rows[:, -1],
                                       images[[p[1] for p in pairs]]))
  summary = {'figure': os.path.basename(png), 'pairs': pairs,
             'num_points': int(num_points), 'alphas': alphas.tolist(),
             'end_points_reconstructed_exactly': ends_exact,
             'model': _model_info(glow, step, model_source)}
  figures.write_json(os.path.join(output_dir, f'{name}.json'), summary)
  return summary


def write_attribute_manipulation(glow, images, labels, output_dir,
                                 source_class, target_class,
                                 strengths=attributes.DEFAULT_STRENGTHS,
                                 num_images=6, class_names=None, step=None,
                                 encode_labels=False, max_per_class=None,
                                 name='attributes', model_source=None):
  """Writes `<name>.png` and `<name>.json`: images moved from one class to another.

  The direction is the difference of the two classes' mean latents over
  `images` (at most `max_per_class` each); it is applied to the first
  `num_images` images of `source_class`.
  """
  images, labels = np.asarray(images), np.asarray(labels)
  if source_class == target_class:
    raise ValueError(f'source_class and target_class must differ (both '
                     f'{source_class!r}): the direction would be zero.')
  present = np.unique(labels)
  for k in (source_class, target_class):
    if k not in present:  # checked on all the labels, before the filtering
      raise ValueError(
          f'class {k!r} has no image among the {len(labels)} given (labels '
          f'present: {present.tolist()}).')
  keep = np.zeros(len(labels), bool)
  for k in (source_class, target_class):
    where = np.flatnonzero(labels == k)
    keep[where[:max_per_class] if max_per_class else where] = True
  means = attributes.class_mean_latents(
      glow, images[keep], labels[keep], [source_class, target_class],
      encode_labels=encode_labels)
  direction = attributes.attribute_direction(means, source_class,
                                             target_class)
  chosen = np.flatnonzero(labels == source_class)[:num_images]
  rows = attributes.manipulate(
      glow, images[chosen], direction, strengths,
      labels=labels[chosen] if encode_labels else None)

  def class_name(k):
    return class_names[k] if class_names is not None else str(k)

  png = figures.save_image_grid(
      os.path.join(output_dir, f'{name}.png'), rows,
      column_labels=[f's={s:g}' for s in strengths],
      title=(f'{class_name(source_class)} -> {class_name(target_class)}\n'
             'decode(encode(x) + s * v), v = mean_target - mean_source'))
  norms = [float(np.linalg.norm(v)) for v in direction]
  summary = {'figure': os.path.basename(png),
             'source_class': int(source_class),
             'target_class': int(target_class),
             'source_name': class_name(source_class),
             'target_name': class_name(target_class),
             'strengths': [float(s) for s in strengths],
             'num_images': int(len(chosen)),
             'images_per_class': {
                 str(k): int(np.sum(labels[keep] == k))
                 for k in (source_class, target_class)},
             'direction_norm_per_level': norms,
             'model': _model_info(glow, step, model_source)}
  figures.write_json(os.path.join(output_dir, f'{name}.json'), summary)
  return summary


def write_ood_histograms(glow, in_images, out_images, output_dir,
                         in_name='Fashion-MNIST test',
                         out_name='MNIST test', batch_size=500, seed=0,
                         step=None, train_images=None, name='ood',
                         model_source=None):
  """Writes `<name>_histogram.png` and `<name>.json`: bits/dim of two sets.

  With `train_images` (the model's training set), the JSON also holds the
  bits/dim of both sets under the per-pixel histogram baseline fitted on
  them (`baselines.histogram_baseline_bits_per_dim`), under
  `histogram_baseline`.
  """
  in_bpd = ood.dataset_bits_per_dim(glow, in_images, batch_size, seed=seed)
  out_bpd = ood.dataset_bits_per_dim(glow, out_images, batch_size, seed=seed)
  png = figures.save_histograms(
      os.path.join(output_dir, f'{name}_histogram.png'),
      {in_name: in_bpd, out_name: out_bpd}, xlabel='bits/dim',
      title='Bits/dim under a Glow trained on Fashion-MNIST')
  summary = ood.ood_summary(in_bpd, out_bpd, in_name, out_name)
  summary.update(figure=os.path.basename(png), in_name=in_name,
                 out_name=out_name, model=_model_info(glow, step, model_source))
  if train_images is not None:
    in_hist = baselines.histogram_baseline_bits_per_dim(train_images,
                                                        in_images)
    out_hist = baselines.histogram_baseline_bits_per_dim(train_images,
                                                         out_images)
    summary['histogram_baseline'] = ood.ood_summary(in_hist, out_hist,
                                                    in_name, out_name)
    summary['histogram_baseline']['num_train_images'] = int(len(train_images))
  figures.write_json(os.path.join(output_dir, f'{name}.json'), summary)
  return summary
