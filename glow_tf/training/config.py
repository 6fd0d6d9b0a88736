"""`TrainConfig`: how to train (as opposed to `GlowConfig`, what to train).

A frozen dataclass, validated on construction, written to
`model_dir/train_config.json` by `glow_tf.training.train` (for the record;
the model's own `config.json` is what a resume checks).
"""

import dataclasses
import math
from typing import Optional

from glow_tf import _checks

__all__ = ['TrainConfig', 'OPTIMIZERS', 'LR_DECAYS', 'steps_for_epochs']

OPTIMIZERS = ('adamax', 'adam')
LR_DECAYS = ('none', 'cosine')


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  """How to train (as opposed to `GlowConfig`, what to train).

  Attributes:
    batch_size: global batch size, split evenly between the replicas.
    train_steps: total number of steps (batches), counted across restarts.
    learning_rate: peak learning rate.
    warmup_steps: the learning rate grows linearly from `lr / warmup_steps`
      to `lr` over this many updates (0: no warm-up).
    lr_decay: 'none' (constant after the warm-up) or 'cosine': the rate
      falls as `(1 + cos(pi p)) / 2` to 0 at the end of training, where the
      progress `p` is the larger of `step / train_steps` and `trained
      seconds / time_budget_s` (so a time-bounded run uses its whole budget).
    time_budget_s: stop (with a checkpoint) once training in this model_dir
      has taken this many wall-clock seconds, counted across restarts like
      `train_steps` (None: no limit). Each run's clock starts after its first
      step: building the model, the data-dependent initialisation and
      compiling the step are not counted, so every run makes at least two
      steps unless its budget was already used.
    optimizer: 'adamax' (the paper's) or 'adam'.
    beta_2: decay of the optimizer's second-moment estimate (Keras's 0.999
      by default; the official Glow code uses `1 - 1 / steps_per_epoch`,
      0.99893 for Fashion-MNIST at batch 64).
    clip_grad_norm: clip the global gradient norm to this value (None: off).
    ema_decay: decay of the parameter average kept in `ema_model` (0: off).
    init_batch_size: images in the batch of the data-dependent
      initialisation (rounded down to a multiple of the number of replicas).
    checkpoint_every: save a checkpoint every this many steps (and at the end).
    keep_checkpoints: the number of most recent checkpoints kept.
    log_every: a progress line every this many steps.
    summary_every: TensorBoard scalars every this many steps (0: never).
    sample_every: a grid of samples in TensorBoard every this many steps (0:
      never).
    num_samples: images in that grid.
    sample_temperature: temperature of those samples.
    max_consecutive_nonfinite: stop after this many non-finite steps in a row.
    random_flip: random horizontal flips of the training images.
    shuffle_buffer: size of the shuffle buffer of the training data.
    seed: seed of the initial weights, the data order and the noise.
    memory_saving: compute the gradient with
      `glow_tf.memory.memory_saving_log_prob`, which rebuilds each flow step's
      activations from its output instead of storing them: a step's memory
      stays flat in K, for about a fifth less speed (docs/performance.md).
    init_from: start a new run from trained weights instead of the
      data-dependent initialisation: the name of a model that ships with
      the package (`glow_tf.available_pretrained()`, e.g. 'fashion_mnist')
      or a folder written by `glow_tf.pretrained_models.save_pretrained`.
      Its `GlowConfig` must be the run's. The step count, optimizer,
      warm-up, decay and time budget start afresh (a warm restart); the
      average starts at the loaded weights. Used only when the model_dir
      has no checkpoint yet (a resumed run continues from its own).

  #### Examples

  ```python
  train_config = TrainConfig(batch_size=64, train_steps=20_000)
  quick = train_config.replace(train_steps=100, checkpoint_every=50)
  ```
  """
  batch_size: int = 64
  train_steps: int = 10_000
  learning_rate: float = 1e-3
  warmup_steps: int = 1000
  lr_decay: str = 'none'
  time_budget_s: Optional[float] = None
  optimizer: str = 'adamax'
  beta_2: float = 0.999
  clip_grad_norm: Optional[float] = None
  ema_decay: float = 0.999
  init_batch_size: int = 512
  checkpoint_every: int = 1000
  keep_checkpoints: int = 5
  log_every: int = 100
  summary_every: int = 100
  sample_every: int = 1000
  num_samples: int = 16
  sample_temperature: float = 0.7
  max_consecutive_nonfinite: int = 10
  random_flip: bool = False
  shuffle_buffer: int = 10_000
  seed: int = 0
  memory_saving: bool = False
  init_from: Optional[str] = None

  def __post_init__(self):
    for name in ('batch_size', 'train_steps', 'init_batch_size',
                 'checkpoint_every', 'keep_checkpoints', 'log_every',
                 'num_samples', 'max_consecutive_nonfinite', 'shuffle_buffer'):
      _checks.positive_int(getattr(self, name), name)
    for name in ('warmup_steps', 'summary_every', 'sample_every', 'seed'):
      _checks.positive_int(getattr(self, name), name, allow_zero=True)
    _checks.positive_float(self.learning_rate, 'learning_rate')
    _checks.one_of(self.optimizer, 'optimizer', OPTIMIZERS)
    if (isinstance(self.beta_2, bool) or
        not isinstance(self.beta_2, (int, float)) or
        not 0.0 < self.beta_2 < 1.0):
      raise ValueError(f'beta_2 must be in (0, 1), got {self.beta_2!r}.')
    if self.clip_grad_norm is not None:
      _checks.positive_float(self.clip_grad_norm, 'clip_grad_norm')
    _checks.one_of(self.lr_decay, 'lr_decay', LR_DECAYS)
    if self.time_budget_s is not None:
      _checks.positive_float(self.time_budget_s, 'time_budget_s')
    if (isinstance(self.ema_decay, bool) or
        not isinstance(self.ema_decay, (int, float)) or
        not 0.0 <= self.ema_decay < 1.0):
      raise ValueError(
          f'ema_decay must be in [0, 1) (0 turns averaging off), got '
          f'{self.ema_decay!r}.')
    if (isinstance(self.sample_temperature, bool) or
        not isinstance(self.sample_temperature, (int, float)) or
        not self.sample_temperature >= 0):
      raise ValueError('sample_temperature must be >= 0, got '
                       f'{self.sample_temperature!r}.')
    if self.init_from is not None and (not isinstance(self.init_from, str)
                                       or not self.init_from):
      raise ValueError('init_from must be None, a shipped model\'s name or '
                       f'a folder, got {self.init_from!r}.')
    for name in ('random_flip', 'memory_saving'):
      if not isinstance(getattr(self, name), bool):
        raise ValueError(
            f'{name} must be True or False, got {getattr(self, name)!r}.')

  def replace(self, **changes):
    """A copy with `changes` applied (and validated)."""
    return dataclasses.replace(self, **changes)


def steps_for_epochs(epochs, num_examples, batch_size):
  """`ceil(epochs * num_examples / batch_size)`: the steps of `epochs` passes."""
  _checks.positive_float(epochs, 'epochs')
  _checks.positive_int(num_examples, 'num_examples')
  _checks.positive_int(batch_size, 'batch_size')
  return max(1, math.ceil(epochs * num_examples / batch_size))
