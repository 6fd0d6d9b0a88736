"""The flags several experiments binaries share, defined in one place.

Each `define_*` function defines its flags for the binary that calls it, at
that binary's import, and returns their holders:

```
_MODEL_DIR = _flags.define_model_dir()
_DATASET = _flags.define_dataset()
_DATA_DIR, _IDX_DIR = _flags.define_data_dirs()
```

A binary that uses a trained model takes it from a training directory or
from the models that ship with the package, `--model_dir` or `--pretrained`
(`define_model_source`, whose `load` gives `(glow, step, description)`).

The flags count as the calling binary's own (`disclaim_key_flags`), so its
`--help` lists them as before. A binary whose help says more passes its own
text; names and defaults are fixed here (except the short runs' peak rate,
which the demo sets higher than the ablation). Safe when two binaries are
imported into one process: a flag that is already defined with the same
default is reused instead of defined twice (a different default still
raises absl's DuplicateFlagError).
"""

import os
from typing import NamedTuple

from absl import app
from absl import flags

__all__ = [
    'given',
    'output_file_problem',
    'define_act_norm_log_scale_factor',
    'define_data_dirs',
    'define_dataset',
    'define_dequantization',
    'define_image_size',
    'define_image_source',
    'define_model_dir',
    'define_model_source',
    'ModelDescription',
    'ModelSource',
    'define_output_file',
    'define_output_dir',
    'define_short_run_flags',
    'define_use_ema',
    'pretrained_output_dir',
]

flags.disclaim_key_flags()  # The flags below belong to the binary calling.


def _define(define, name, default, help_text, required=False, **kwargs):
  """`define(name, default, help_text, ...)`, or the flag already defined."""
  existing = flags.FLAGS[name] if name in flags.FLAGS else None
  if existing is None or existing.default != default:
    return define(name, default, help_text, required=required, **kwargs)
  flags.declare_key_flag(name)  # Listed in the second binary's --help too.
  return flags.FlagHolder(flags.FLAGS, existing,
                          ensure_non_none_value=required or default is not None)


def define_model_dir(help_text='Training directory (experiments/train.py).'):
  """--model_dir, required: the training directory (experiments/train.py)."""
  return _define(flags.DEFINE_string, 'model_dir', None, help_text,
                 required=True)


def _pretrained_names():
  from glow_tf import pretrained_models  # pylint: disable=g-import-not-at-top
  return pretrained_models.available_pretrained()


def pretrained_output_dir(name):
  """`outputs/pretrained_<name>`: a pretrained model's default output folder.

  Relative to the working directory (the repository root in the README's
  commands), where `<model_dir>` holds a training directory's outputs.
  """
  return os.path.join('outputs', f'pretrained_{name}')


class ModelDescription(NamedTuple):
  """Which trained model a binary loaded (`ModelSource.load`).

  Attributes:
    name: for messages: the checkpoint prefix read from --model_dir, or
      `glow_tf.pretrained('<name>')`.
    record: JSON-able fields for the binary's results, in place of the
      model_dir: `{'model_dir', 'checkpoint', 'ema_weights'}`, or
      `{'pretrained', 'pretrained_info', 'ema_weights'}` where
      `pretrained_info` holds the step and test bits/dim of
      `glow_tf.pretrained_info(name)`.
    output_root: where the binary's default outputs go: the model_dir, or
      `pretrained_output_dir(name)`.
  """
  name: str
  record: dict
  output_root: str

  def __str__(self):
    return self.name


# The fields of glow_tf.pretrained_info that say what the model is and scores.
_PRETRAINED_INFO_FIELDS = ('step', 'test_bits_per_dim', 'dataset', 'split',
                           'num_images', 'weights')


class ModelSource:
  """--model_dir or --pretrained: where a binary's trained Glow comes from.

  Made by `define_model_source()`; exactly one of the two flags must be
  given, which `load` checks (an `app.UsageError` otherwise).

  ```
  _MODEL = _flags.define_model_source()
  ...
  glow, step, model = _MODEL.load(use_ema=_USE_EMA.value)
  results.update(model.record)      # which model, in the JSON
  ```
  """

  def __init__(self, model_dir, pretrained):
    self._model_dir, self._pretrained = model_dir, pretrained

  @property
  def model_dir(self):
    """The --model_dir given, or None."""
    return self._model_dir.value

  @property
  def pretrained(self):
    """The --pretrained name given, or None."""
    return self._pretrained.value

  def check(self):
    """Raises `app.UsageError` unless exactly one known model is given."""
    names = ', '.join(_pretrained_names()) or 'none'
    if self.model_dir is None and self.pretrained is None:
      raise app.UsageError(
          'Give --model_dir (a training directory) or --pretrained (a model '
          f'that ships with the package: {names}).')
    if self.model_dir is not None and self.pretrained is not None:
      raise app.UsageError(
          f'Give --model_dir or --pretrained, not both (got --model_dir='
          f'{self.model_dir!r} and --pretrained={self.pretrained!r}).')
    if (self.pretrained is not None and
        self.pretrained not in _pretrained_names()):
      raise app.UsageError(
          f'--pretrained={self.pretrained!r}: no such model; the package '
          f'ships: {names}.')

  def load(self, use_ema=True, checkpoint=None):
    """`(glow, step, description)` of the model the flags name.

    Args:
      use_ema: a training directory's averaged weights when the checkpoint
        has them; a pretrained model ships only its averaged weights, so
        False is a usage error with --pretrained.
      checkpoint: a checkpoint prefix of --model_dir (default the newest
        intact one); a usage error with --pretrained.

    Returns:
      The `Glow`, its training step (None when unknown) and a
      `ModelDescription`.

    Raises:
      app.UsageError: not exactly one of the flags, an unknown pretrained
        name, or a training directory's option with --pretrained.
      CheckpointError: the model_dir or checkpoint is missing or corrupt.
    """
    self.check()
    if self.model_dir is not None:
      return self._load_model_dir(use_ema, checkpoint)
    if checkpoint is not None:
      raise app.UsageError(
          f'--checkpoint={checkpoint!r} is a checkpoint of --model_dir, not '
          f'of --pretrained={self.pretrained!r}.')
    if not use_ema:
      raise app.UsageError(
          f'--nouse_ema needs --model_dir: --pretrained={self.pretrained!r} '
          'ships only its averaged weights.')
    import glow_tf  # pylint: disable=g-import-not-at-top
    name = self.pretrained
    info = glow_tf.pretrained_info(name)
    glow = glow_tf.pretrained(name)
    record = {'pretrained': name,
              'pretrained_info': {k: info[k] for k in _PRETRAINED_INFO_FIELDS
                                  if k in info},
              'ema_weights': info.get('weights', 'ema') == 'ema'}
    return glow, info.get('step'), ModelDescription(
        f'glow_tf.pretrained({name!r})', record, pretrained_output_dir(name))

  def _load_model_dir(self, use_ema, checkpoint):
    # pylint: disable-next=g-import-not-at-top
    from glow_tf.training import checkpoints
    model_dir = self.model_dir
    prefix = checkpoint or checkpoints.latest_checkpoint(model_dir)
    glow, step = checkpoints.restore_model(model_dir, use_ema=use_ema,
                                           checkpoint=prefix)
    record = {'model_dir': model_dir, 'checkpoint': prefix,
              'ema_weights': bool(use_ema and
                                  checkpoints.has_ema_weights(prefix))}
    return glow, step, ModelDescription(prefix, record, model_dir)


def define_model_source(
    model_dir_help='Training directory (experiments/train.py).',
    pretrained_help=None):
  """--model_dir and --pretrained, exactly one to give; a `ModelSource`.

  --pretrained names a model that ships with the package
  (`glow_tf.pretrained`), to use without training. A binary whose default
  outputs go under the model_dir says in its flag's help where they go with
  --pretrained (`ModelDescription.output_root`).
  """
  if pretrained_help is None:
    pretrained_help = (
        'A model that ships with the package (glow_tf.pretrained), in place '
        f'of --model_dir: one of {", ".join(_pretrained_names())}.')
  return ModelSource(
      _define(flags.DEFINE_string, 'model_dir', None,
              f'{model_dir_help} Or give --pretrained.'),
      _define(flags.DEFINE_string, 'pretrained', None, pretrained_help))


def define_output_dir(help_text='Folder for the PNG and JSON files.',
                      default=None):
  """--output_dir: where the binary writes; required when it has no default."""
  return _define(flags.DEFINE_string, 'output_dir', default, help_text,
                 required=default is None)


def output_file_problem(path):
  """Why `path` cannot be written as a file, or None when it can.

  Missing folders are fine (the writer creates them:
  `glow_tf.analysis.figures.write_json`);
  a path that is a folder, or whose nearest existing ancestor is a file or a
  folder this process cannot write to, is not.
  """
  if os.path.isdir(path):
    return f'{path!r} is a folder; give the path of a file.'
  folder = os.path.dirname(os.path.abspath(path))
  while not os.path.exists(folder):
    folder = os.path.dirname(folder)
  if not os.path.isdir(folder):
    return f'cannot write {path!r}: {folder!r} is a file, not a folder.'
  if not os.access(folder, os.W_OK | os.X_OK):
    return f'cannot write {path!r}: no write permission in {folder!r}.'
  return None


def _check_output_file(path):
  problem = path is not None and output_file_problem(path)
  if problem:
    raise flags.ValidationError(problem)
  return True


def define_output_file(help_text, required=False):
  """--output: a file written at the end, its path checked before the start.

  A binary that runs for minutes (the benchmark, a profile) would otherwise
  lose its result to a path it cannot write; absl reports the flag as a
  usage error at parsing instead (`output_file_problem`).
  """
  holder = _define(flags.DEFINE_string, 'output', None, help_text,
                   required=required)
  flags.register_validator('output', _check_output_file)
  return holder


def define_use_ema(
    help_text='Use the averaged weights when the checkpoint has them.'):
  """--use_ema (default true): restore the EMA weights when saved."""
  return _define(flags.DEFINE_boolean, 'use_ema', True, help_text)


def define_dataset(help_text='glow_tf.data.load_dataset name.'):
  """--dataset (default fashion_mnist): a glow_tf.data.load_dataset name."""
  return _define(flags.DEFINE_string, 'dataset', 'fashion_mnist', help_text)


def define_data_dirs(
    data_dir_help='TFDS data directory.',
    idx_dir_help='IDX folder (mnist_idx, or the Fashion-MNIST files).'):
  """--data_dir and --idx_dir: where glow_tf.data finds the images."""
  return (_define(flags.DEFINE_string, 'data_dir', None, data_dir_help),
          _define(flags.DEFINE_string, 'idx_dir', None, idx_dir_help))


def define_image_source():
  """--dataset, --split (default test), --data_dir, --idx_dir of a figure."""
  return (define_dataset('glow_tf.data.load_dataset name of the images.'),
          _define(flags.DEFINE_string, 'split', 'test',
                  'Split to take the images from.'),
          *define_data_dirs())


def define_image_size():
  """--image_size: the size celeb_a and lsun are resized to."""
  return _define(flags.DEFINE_integer, 'image_size', None,
                 'Image size of celeb_a and lsun (default 64).')


def define_short_run_flags(learning_rate=1e-3,
                           learning_rate_help='Peak rate.'):
  """--batch_size, --learning_rate, --warmup_steps of a wall-clock-bounded run.

  `learning_rate` is the binary's default peak rate (the demo's is 5e-3,
  see its flag's help).
  """
  return (_define(flags.DEFINE_integer, 'batch_size', 64,
                  'Training batch size.'),
          _define(flags.DEFINE_float, 'learning_rate', learning_rate,
                  learning_rate_help),
          _define(flags.DEFINE_integer, 'warmup_steps', 200,
                  'Learning-rate warm-up.'))


def define_network_dtype():
  """`--network_dtype`: the coupling networks' compute dtype (default float32)."""
  return flags.DEFINE_enum(
      'network_dtype', None, ['bfloat16'],
      "Run the coupling networks' matmuls in bfloat16 (mixed precision, for "
      'CPUs with AVX512_BF16 or AMX; GlowConfig.network_dtype). Default: '
      'float32 throughout.')


def define_init_from():
  """`--init_from`: TrainConfig.init_from, a warm restart from saved weights."""
  return flags.DEFINE_string(
      'init_from', None,
      'Start a new run from trained weights instead of the data-dependent '
      'initialisation: a shipped model\'s name (fashion_mnist) or a folder '
      'written by experiments/save_pretrained.py. Its model settings must '
      "be this run's; the optimizer, warm-up, decay and budget start "
      'afresh. Ignored when the run resumes from its own checkpoint.')


def define_act_norm_log_scale_factor():
  """`--act_norm_log_scale_factor`: GlowConfig.act_norm_log_scale_factor."""
  return flags.DEFINE_float(
      'act_norm_log_scale_factor', None,
      "Every ActNorm applies this times its log_scale variable (the official "
      'code: 3, the log-scales learn 3 times faster; default 1, as in the '
      "paper's text).", lower_bound=0.0)


def define_dequantization():
  """`--dequantization`: GlowConfig.dequantization (default: the preset's)."""
  return flags.DEFINE_enum(
      'dequantization', None, ['uniform', 'variational'],
      "How the loss fills each pixel's bin: 'uniform' noise (the paper's; "
      "the presets') or 'variational', Flow++'s learned noise q(u | x) "
      '(a small conditional flow trained with the model; the test bits/dim '
      'is then an importance-weighted bound).')


def given(**holders):
  """`{name: holder.value}` for the flag holders whose value is not None.

  The preset overrides a binary was given, e.g.
  `glow_tf.preset(name, **given(num_steps=_NUM_STEPS))`.
  """
  return {name: holder.value for name, holder in holders.items()
          if holder.value is not None}
