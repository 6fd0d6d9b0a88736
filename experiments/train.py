r"""Trains Glow on an image data set; rerun the same command to resume.

```
python -m experiments.train --dataset=fashion_mnist --model_dir=/tmp/glow \
    --data_dir=/tmp/tfds --train_steps=20000
```

The model is a named `--preset` (default: the data set's own) with the model
flags overriding it; `config.json`, checkpoints (`ckpt-<step>`) and
TensorBoard summaries (`train/`) go to `--model_dir` (layout in
`glow_tf/training/checkpoints.py`). `--strategy=multi_worker` reads the
cluster from `TF_CONFIG`, one process per worker.

Conditional models: `--class_conditional` (a class-conditional top prior;
`--class_loss_weight=0.01` adds the official code's class-prediction loss)
and `--context=low_res` (p(image | its 2x2 average): 2x super-resolution).
"""

import os
import sys

if not __package__:  # Run as `python experiments/<name>.py`: find the packages.
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  import experiments  # Loads TensorFlow quietly (experiments/__init__.py).

# pylint: disable=g-import-not-at-top,wrong-import-position
from absl import app
from absl import flags

from experiments import _flags
from experiments import _main
from glow_tf import config as config_lib
from glow_tf import data
from glow_tf import training
from glow_tf.training import distribution


_DATASET = _flags.define_dataset(
    'glow_tf.data.load_dataset name: fashion_mnist, mnist_idx, cifar10, '
    'mnist, celeb_a, downsampled_imagenet/32x32, downsampled_imagenet/64x64, '
    'lsun/<category>.')
_SPLIT = flags.DEFINE_string('split', None,
                             'Split to train on; default the training split.')
_DATA_DIR, _IDX_DIR = _flags.define_data_dirs(
    data_dir_help='TFDS data directory (fashion_mnist is prepared into it on '
    'first use; other TFDS data sets must already be there).',
    idx_dir_help='IDX folder: the Fashion-MNIST source files (default '
    '/usr/share/datasets/fashion-mnist) or the mnist_idx data.')
_IMAGE_SIZE = _flags.define_image_size()
_MODEL_DIR = _flags.define_model_dir('Training directory.')
_PRESET = flags.DEFINE_enum(
    'preset', None, sorted(config_lib.PRESETS),
    'Named model; default the one named after --dataset, else the first '
    'for the data set\'s image shape, else cifar10.')
_NUM_LEVELS = flags.DEFINE_integer('num_levels', None, 'L (overrides preset).')
_NUM_STEPS = flags.DEFINE_integer('num_steps', None,
                                  'K, steps per level (overrides preset).')
_HIDDEN_CHANNELS = flags.DEFINE_integer(
    'hidden_channels', None, 'Coupling network width (overrides preset).')
_COUPLING = flags.DEFINE_enum('coupling', None, ['affine', 'additive'],
                              'Coupling layer (overrides preset).')
_PERMUTATION = flags.DEFINE_enum(
    'permutation', None, ['lu_conv', 'conv', 'shuffle', 'reverse'],
    'Channel permutation (overrides preset).')
_EDGE_PADDING = flags.DEFINE_boolean(
    'edge_padding', None, "The official code's padding-indicator channel in "
    'every 3x3 convolution (overrides preset; default off).')
_NETWORK_DTYPE = _flags.define_network_dtype()
_ACT_NORM_LOG_SCALE_FACTOR = _flags.define_act_norm_log_scale_factor()
_DEQUANTIZATION = _flags.define_dequantization()
_INIT_FROM = _flags.define_init_from()
_N_BITS = flags.DEFINE_integer('n_bits', None,
                               'Colour depth, 1..8 (overrides preset).')
_CLASS_CONDITIONAL = flags.DEFINE_boolean(
    'class_conditional', False,
    'Learn a class-conditional top prior from the labels.')
_CLASS_LOSS_WEIGHT = flags.DEFINE_float(
    'class_loss_weight', None,
    'Weight of the class-prediction loss (a linear classifier on the top '
    "latent; the official code's --weight_y, 0.01); implies "
    '--class_conditional.')
_CONTEXT = flags.DEFINE_enum(
    'context', None, list(data.CONTEXTS),
    'Condition the model on a context computed from each image: low_res, '
    'its 2x2 average (2x super-resolution).')
_BATCH_SIZE = flags.DEFINE_integer('batch_size', 64, 'Global batch size.')
_TRAIN_STEPS = flags.DEFINE_integer(
    'train_steps', None, 'Total training steps (default 10000).')
_EPOCHS = flags.DEFINE_float('epochs', None,
                             'Train this many passes instead of --train_steps.')
_LEARNING_RATE = flags.DEFINE_float('learning_rate', 1e-3,
                                    'Peak learning rate.')
_WARMUP_STEPS = flags.DEFINE_integer(
    'warmup_steps', 1000, 'Linear learning rate warm-up, in updates.')
_OPTIMIZER = flags.DEFINE_enum('optimizer', 'adamax',
                               list(training.OPTIMIZERS),
                               'adamax (the paper\'s) or adam.')
_BETA_2 = flags.DEFINE_float(
    'beta_2', 0.999, "Second-moment decay of the optimizer (the official "
    "Glow code: 1 - 1/steps_per_epoch).")
_CLIP_GRAD_NORM = flags.DEFINE_float(
    'clip_grad_norm', None, 'Clip the global gradient norm (default: off).')
_EMA_DECAY = flags.DEFINE_float(
    'ema_decay', 0.999, 'Decay of the parameter average used for '
    'evaluation (0: off).')
_INIT_BATCH_SIZE = flags.DEFINE_integer(
    'init_batch_size', 512, 'Images of the data-dependent initialisation.')
_RANDOM_FLIP = flags.DEFINE_boolean('random_flip', False,
                                    'Random horizontal flips.')
_SHUFFLE_BUFFER = flags.DEFINE_integer('shuffle_buffer', 10_000,
                                       'Size of the shuffle buffer.')
_MEMORY_SAVING = flags.DEFINE_boolean(
    'memory_saving', False, 'Gradients that rebuild the flow steps\' '
    'activations from their outputs instead of storing them: memory flat in '
    'K, about a fifth slower (glow_tf.memory).')
_CHECKPOINT_EVERY = flags.DEFINE_integer('checkpoint_every', 1000,
                                         'Steps between checkpoints.')
_KEEP_CHECKPOINTS = flags.DEFINE_integer('keep_checkpoints', 5,
                                         'Checkpoints kept.')
_LOG_EVERY = flags.DEFINE_integer('log_every', 100,
                                  'Steps between progress lines.')
_SUMMARY_EVERY = flags.DEFINE_integer(
    'summary_every', 100, 'Steps between TensorBoard scalars (0: never).')
_SAMPLE_EVERY = flags.DEFINE_integer(
    'sample_every', 1000, 'Steps between sample grids (0: never).')
_MAX_NONFINITE = flags.DEFINE_integer(
    'max_consecutive_nonfinite', 10,
    'Stop after this many non-finite steps in a row.')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of weights, data and noise.')
_TIME_BUDGET = flags.DEFINE_float(
    'time_budget_s', None, 'Stop (with a checkpoint) once training in '
    '--model_dir has taken this many seconds, counted across restarts '
    "from the end of each run's first (compiling) step.")
_LR_DECAY = flags.DEFINE_enum(
    'lr_decay', 'none', ['none', 'cosine'],
    'Learning-rate decay after the warm-up: cosine to 0 by --train_steps or '
    '--time_budget_s, whichever comes first.')
_STRATEGY = flags.DEFINE_enum('strategy', 'default',
                              list(distribution.STRATEGIES),
                              'Distribution strategy.')


def _glow_config(info):
  matching = [name for name, preset in sorted(config_lib.PRESETS.items())
              if preset.image_shape == info.image_shape]
  name = _PRESET.value or (
      _DATASET.value if _DATASET.value in config_lib.PRESETS else
      (matching or ['cifar10'])[0])
  overrides = _flags.given(
      num_levels=_NUM_LEVELS, num_steps=_NUM_STEPS,
      hidden_channels=_HIDDEN_CHANNELS, coupling=_COUPLING,
      permutation=_PERMUTATION, n_bits=_N_BITS, edge_padding=_EDGE_PADDING,
      network_dtype=_NETWORK_DTYPE,
      act_norm_log_scale_factor=_ACT_NORM_LOG_SCALE_FACTOR,
      dequantization=_DEQUANTIZATION)
  if _CLASS_CONDITIONAL.value or _CLASS_LOSS_WEIGHT.value:
    if info.num_classes is None:
      raise app.UsageError(
          f'--class_conditional: {_DATASET.value!r} has no labels.')
    overrides['num_classes'] = info.num_classes
  if _CLASS_LOSS_WEIGHT.value is not None:
    overrides['class_loss_weight'] = _CLASS_LOSS_WEIGHT.value
  if _CONTEXT.value is not None:
    overrides['context_shape'] = data.context_shape(_CONTEXT.value,
                                                    info.image_shape)
  preset = config_lib.preset(name)
  if preset.image_shape != info.image_shape:
    _main.progress(f'Preset {name!r} is for {preset.image_shape} images; '
                   f'using the data set\'s {info.image_shape}.')
  return preset.replace(image_shape=info.image_shape, **overrides)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  # First: MultiWorkerMirroredStrategy must exist before any other TF op.
  strategy = distribution.make_strategy(_STRATEGY.value)
  info = data.dataset_info(_DATASET.value, image_size=_IMAGE_SIZE.value)
  split = _SPLIT.value or info.train_split
  def load():
    dataset = data.load_dataset(
        _DATASET.value, split, data_dir=_DATA_DIR.value,
        idx_dir=_IDX_DIR.value, image_size=_IMAGE_SIZE.value)
    if _CONTEXT.value is not None:
      dataset = data.with_context(dataset, _CONTEXT.value)
    return dataset

  glow_config = _glow_config(info)
  # `is None`, not `or`: --train_steps=0 must reach TrainConfig's check.
  train_steps = 10_000 if _TRAIN_STEPS.value is None else _TRAIN_STEPS.value
  train_config = training.TrainConfig(
      batch_size=_BATCH_SIZE.value, train_steps=train_steps,
      learning_rate=_LEARNING_RATE.value, warmup_steps=_WARMUP_STEPS.value,
      optimizer=_OPTIMIZER.value, beta_2=_BETA_2.value,
      clip_grad_norm=_CLIP_GRAD_NORM.value,
      ema_decay=_EMA_DECAY.value, init_batch_size=_INIT_BATCH_SIZE.value,
      checkpoint_every=_CHECKPOINT_EVERY.value,
      keep_checkpoints=_KEEP_CHECKPOINTS.value, log_every=_LOG_EVERY.value,
      summary_every=_SUMMARY_EVERY.value, sample_every=_SAMPLE_EVERY.value,
      max_consecutive_nonfinite=_MAX_NONFINITE.value,
      random_flip=_RANDOM_FLIP.value, shuffle_buffer=_SHUFFLE_BUFFER.value,
      seed=_SEED.value, memory_saving=_MEMORY_SAVING.value,
      time_budget_s=_TIME_BUDGET.value, lr_decay=_LR_DECAY.value,
      init_from=_INIT_FROM.value)
  source = load()  # Prepares Fashion-MNIST once; fails early if missing.
  if _EPOCHS.value is not None:
    if _TRAIN_STEPS.value is not None:
      raise app.UsageError('Give --train_steps or --epochs, not both.')
    num_examples = int(source.cardinality())
    if num_examples <= 0:
      raise app.UsageError(f'The size of {_DATASET.value} {split} is unknown; '
                           'give --train_steps instead of --epochs.')
    train_config = train_config.replace(train_steps=training.steps_for_epochs(
        _EPOCHS.value, num_examples, _BATCH_SIZE.value))
  train_steps = train_config.train_steps
  bound = f'to step {train_steps}'
  if _TIME_BUDGET.value is not None:
    bound += f' or for {_TIME_BUDGET.value:g} s, whichever comes first'
  _main.progress(f'Training {glow_config} on {_DATASET.value} {split} with '
                 f'{strategy.num_replicas_in_sync} replica(s), {bound}.')
  metrics = training.train(glow_config, train_config, _MODEL_DIR.value,
                           lambda context: load(), strategy=strategy,
                           log=_main.progress)
  if metrics['stop_reason'] == 'already_trained':
    limits, flags_to_raise = f'--train_steps={train_steps}', '--train_steps'
    if _TIME_BUDGET.value is not None:
      limits += f', --time_budget_s={_TIME_BUDGET.value:g}'
      flags_to_raise += ' or --time_budget_s'
    print(f'Already trained to step {metrics["step"]} ({limits}); nothing to '
          f'do. Raise {flags_to_raise} to train on.')
    return
  parts = [f'Trained to step {metrics["step"]} ({metrics["stop_reason"]})']
  if metrics['bits_per_dim'] is not None:
    parts.append(f'{metrics["bits_per_dim"]:.4f} bits/dim')
  if metrics['images_per_sec'] is not None:
    parts.append(f'{metrics["images_per_sec"]:.1f} images/s')
  parts.append(f'{metrics["nonfinite_steps"]} steps skipped')
  print(', '.join(parts) + f'. Checkpoint: {metrics["checkpoint"]}')


if __name__ == '__main__':
  _main.run(main)
