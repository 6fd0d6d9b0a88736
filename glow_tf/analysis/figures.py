"""PNG figures and JSON files for the experiments, drawn with matplotlib's Agg.

Every figure is drawn on a `matplotlib.figure.Figure` with an explicit Agg
canvas: nothing here touches `pyplot`'s global state or needs a display.

```
image_mosaic(rows)                        uint8 [R, N, H, W, C] -> [R*H', N*W', C]
save_image_grid(path, rows, row_labels)   one row of images per label
save_curves(path, curves)                 y against x, one line per name
save_histograms(path, samples)            overlaid histograms, one per name
save_seed_points(path, rows)              each seed's value, mean +- std, per row
write_json(path, value)                   sorted, indented, atomic
```
"""

import json
import math
import os

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
import numpy as np
import tensorflow as tf

from glow_tf.training import checkpoints

__all__ = ['image_mosaic', 'save_image_grid', 'save_curves',
           'save_histograms', 'save_seed_points', 'sample_std', 'write_json',
           'read_json']

_DPI = 100


def _check_path(path):
  path = os.fspath(path)
  if not path.endswith('.png'):
    raise ValueError(f'Figure paths must end with .png, got {path!r}.')
  parent = os.path.dirname(path)
  if parent:
    tf.io.gfile.makedirs(parent)
  return path


def _save(figure, path, tight=False):
  FigureCanvasAgg(figure)
  tmp = path + '.tmp.png'
  figure.savefig(tmp, dpi=_DPI, format='png',
                 bbox_inches='tight' if tight else None, pad_inches=0.1)
  os.replace(tmp, path)
  return path


def image_mosaic(rows, padding=1, pad_value=255):
  """Tiles a table of images into one image.

  Args:
    rows: uint8 array `[R, N, H, W, C]` (R rows of N images), `C` in {1, 3}.
    padding: pixels of `pad_value` between (and around) the images.
    pad_value: grey level of the padding.

  Returns:
    A uint8 array `[R * (H + padding) + padding, N * (W + padding) + padding,
    C]`.
  """
  rows = np.asarray(rows)
  if rows.dtype != np.uint8 or rows.ndim != 5 or rows.shape[-1] not in (1, 3):
    raise ValueError(
        'rows must be a uint8 array [rows, images, H, W, C] with C 1 or 3 '
        f'(use glow_tf.to_uint8), got {rows.dtype} of shape {rows.shape}.')
  if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
    raise ValueError(f'padding must be a non-negative int, got {padding!r}.')
  num_rows, num_cols, height, width, channels = rows.shape
  mosaic = np.full((num_rows * (height + padding) + padding,
                    num_cols * (width + padding) + padding, channels),
                   pad_value, np.uint8)
  for r in range(num_rows):
    for c in range(num_cols):
      top = padding + r * (height + padding)
      left = padding + c * (width + padding)
      mosaic[top:top + height, left:left + width] = rows[r, c]
  return mosaic


def save_image_grid(path, rows, row_labels=None, column_labels=None,
                    title=None, scale=0.5):
  """Writes rows of images, each row labelled on its left, as a PNG.

  Args:
    path: the `.png` file to write (its folder is created).
    rows: uint8 array `[R, N, H, W, C]`.
    row_labels: optional list of R strings, e.g. `['T=0', 'T=0.7']`.
    column_labels: optional list of N strings, written above the columns.
    title: optional figure title.
    scale: inches per 28 pixels of the mosaic.

  Returns:
    `path`.

  #### Examples

  ```python
  grid = temperature_grid(glow, [0.0, 0.7, 1.0], num_samples=8)
  save_image_grid('out/samples.png', grid, ['T=0', 'T=0.7', 'T=1'])
  ```
  """
  path = _check_path(path)
  rows = np.asarray(rows)
  mosaic = image_mosaic(rows)
  num_rows, num_cols, height, width, _ = rows.shape
  for labels, count, name in ((row_labels, num_rows, 'row_labels'),
                              (column_labels, num_cols, 'column_labels')):
    if labels is not None and len(labels) != count:
      raise ValueError(f'{name} must have {count} entries (one per '
                       f'{name.split("_")[0]}), got {len(labels)}.')
  inches_per_pixel = scale / 28.0
  figure = Figure(figsize=(max(mosaic.shape[1] * inches_per_pixel, 1.0),
                           max(mosaic.shape[0] * inches_per_pixel, 0.5)))
  axes = figure.add_axes([0, 0, 1, 1])
  image = mosaic[..., 0] if mosaic.shape[-1] == 1 else mosaic
  axes.imshow(image, cmap='gray', vmin=0, vmax=255, interpolation='nearest',
              aspect='equal')
  axes.set_xticks([] if column_labels is None else
                  [1 + c * (width + 1) + width / 2 for c in range(num_cols)])
  axes.set_yticks([] if row_labels is None else
                  [1 + r * (height + 1) + height / 2 for r in range(num_rows)])
  if row_labels is not None:
    axes.set_yticklabels(row_labels)
  if column_labels is not None:
    axes.xaxis.tick_top()
    axes.set_xticklabels(column_labels, fontsize=7)
  axes.tick_params(length=0)
  for spine in axes.spines.values():
    spine.set_visible(False)
  if title:
    axes.set_title(title, pad=14 if column_labels is not None else 4)
  return _save(figure, path, tight=True)


def save_curves(path, curves, xlabel, ylabel, title=None, references=None,
                bands=None, ylim=None):
  """Writes line plots of `y` against `x`, one line per name, as a PNG.

  Args:
    path: the `.png` file to write.
    curves: dict name -> `(x, y)` sequences of equal length.
    xlabel: label of the x axis.
    ylabel: label of the y axis.
    title: optional title.
    references: optional dict label -> y value, drawn as dashed horizontal
      lines (e.g. published figures); with `ylim`, only those inside it.
    bands: optional dict name -> `(low, high)`, each as long as that
      curve's x: a shaded band around the curve (e.g. the spread of seeds).
    ylim: optional `(low, high)` of the y axis (default: every point shown).

  Returns:
    `path`.
  """
  path = _check_path(path)
  bands = bands or {}
  unknown = sorted(set(bands) - set(curves or {}))
  if unknown:
    raise ValueError(f'bands for curves that are not drawn: {unknown}.')
  if not isinstance(curves, dict) or not curves:
    raise ValueError('curves must be a non-empty dict name -> (x, y), got '
                     f'{curves!r}.')
  if ylim is not None and not (len(ylim) == 2 and
                               np.all(np.isfinite(ylim)) and
                               ylim[0] < ylim[1]):
    raise ValueError(f'ylim must be finite (low, high) with low < high, got '
                     f'{ylim!r}.')
  figure = Figure(figsize=(7, 4.5))
  axes = figure.add_subplot(1, 1, 1)
  for name, (x, y) in curves.items():
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.shape != y.shape or x.ndim != 1:
      raise ValueError(f'curve {name!r}: x and y must be 1-D of the same '
                       f'length, got shapes {x.shape} and {y.shape}.')
    line, = axes.plot(x, y, marker='.' if len(x) < 30 else None, label=name)
    if name in bands:
      low, high = (np.asarray(b, float) for b in bands[name])
      if low.shape != x.shape or high.shape != x.shape:
        raise ValueError(f'band of {name!r}: low and high must have the '
                         f'shape of x, {x.shape}.')
      axes.fill_between(x, low, high, color=line.get_color(), alpha=0.2,
                        linewidth=0)
  for label, value in (references or {}).items():
    if ylim is not None and not ylim[0] <= value <= ylim[1]:
      continue  # Its label would sit outside the axes.
    axes.axhline(value, linestyle='--', linewidth=1, color='grey')
    axes.annotate(label, (0.01, value), xycoords=('axes fraction', 'data'),
                  fontsize=7, color='grey', va='bottom')
  if ylim is not None:
    axes.set_ylim(*ylim)
  axes.set_xlabel(xlabel)
  axes.set_ylabel(ylabel)
  axes.grid(alpha=0.3)
  axes.legend(fontsize=8)
  if title:
    axes.set_title(title)
  figure.tight_layout()
  return _save(figure, path)


def save_histograms(path, samples, xlabel, title=None, bins=50):
  """Writes overlaid, normalised histograms, one per name, as a PNG.

  Args:
    path: the `.png` file to write.
    samples: dict name -> 1-D array of values.
    xlabel: label of the x axis.
    title: optional title.
    bins: number of bins, shared by all histograms.

  Returns:
    `path`.
  """
  path = _check_path(path)
  if not isinstance(samples, dict) or not samples:
    raise ValueError('samples must be a non-empty dict name -> values, got '
                     f'{samples!r}.')
  arrays = {name: np.asarray(v, float).ravel() for name, v in samples.items()}
  finite = np.concatenate([a[np.isfinite(a)] for a in arrays.values()])
  if finite.size == 0:
    raise ValueError('samples hold no finite value to draw.')
  low, high = float(finite.min()), float(finite.max())
  if math.isclose(low, high):
    low, high = low - 0.5, high + 0.5
  edges = np.linspace(low, high, bins + 1)
  figure = Figure(figsize=(7, 4.5))
  axes = figure.add_subplot(1, 1, 1)
  for name, values in arrays.items():
    values = values[np.isfinite(values)]
    axes.hist(values, bins=edges, density=True, alpha=0.5,
              label=f'{name} (mean {values.mean():.3f})')
  axes.set_xlabel(xlabel)
  axes.set_ylabel('density')
  axes.legend(fontsize=8)
  if title:
    axes.set_title(title)
  figure.tight_layout()
  return _save(figure, path)


def sample_std(values):
  """The sample standard deviation of `values` (`ddof=1`; 0 for one value).

  The spread the seeds' tables and figures report, in one place.
  """
  values = np.asarray(values, float).ravel()
  return float(values.std(ddof=1)) if values.size > 1 else 0.0


def save_seed_points(path, rows, xlabel, title=None):
  """Writes one row per name: a dot per seed, the mean with a +-1 std bar.

  The std is the sample standard deviation (`ddof=1`; 0 for one value).

  Args:
    path: the `.png` file to write.
    rows: list of `(name, values)`, drawn top to bottom; `values` are the
      seeds' results (at least one finite number each).
    xlabel: label of the x axis.
    title: optional title.

  Returns:
    `path`.
  """
  path = _check_path(path)
  if not rows:
    raise ValueError('rows must be a non-empty list of (name, values).')
  figure = Figure(figsize=(7, 0.9 + 0.45 * len(rows)))
  axes = figure.add_subplot(1, 1, 1)
  for k, (name, values) in enumerate(rows):
    values = np.asarray(values, float).ravel()
    if values.size == 0 or not np.all(np.isfinite(values)):
      raise ValueError(f'row {name!r}: values must be finite numbers, got '
                       f'{values.tolist()}.')
    y = len(rows) - 1 - k
    std = sample_std(values)
    axes.plot(values, np.full(values.shape, y), 'o', color='grey',
              alpha=0.6, markersize=4)
    axes.errorbar([values.mean()], [y], xerr=[std], fmt='D', color='C0',
                  capsize=4, markersize=6)
    axes.annotate(f'{values.mean():.3f} +- {std:.3f}',
                  (max(values.max(), values.mean() + std), y), xytext=(8, 0),
                  textcoords='offset points', va='center', fontsize=8)
  axes.set_yticks(range(len(rows)))
  axes.set_yticklabels([name for name, _ in reversed(rows)], fontsize=8)
  axes.set_ylim(-0.7, len(rows) - 0.3)
  axes.margins(x=0.2)
  axes.set_xlabel(xlabel)
  axes.grid(alpha=0.3, axis='x')
  if title:
    axes.set_title(title, fontsize=10)
  figure.tight_layout()
  return _save(figure, path)


def _to_jsonable(value):
  if isinstance(value, dict):
    return {str(k): _to_jsonable(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [_to_jsonable(v) for v in value]
  if isinstance(value, np.ndarray):
    return _to_jsonable(value.tolist())
  if isinstance(value, np.generic):
    return value.item()
  if isinstance(value, float) and not math.isfinite(value):
    return None
  return value


def write_json(path, value):
  """Writes `value` (numpy values allowed; NaN/inf become null) as JSON, atomically."""
  path = os.fspath(path)
  checkpoints.write_json(path, _to_jsonable(value))
  return path


def read_json(path):
  """Reads a JSON file."""
  with open(os.fspath(path)) as f:
    return json.load(f)
