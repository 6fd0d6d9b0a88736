"""`GlowConfig`: the frozen description of a Glow model, and the paper's presets."""

import dataclasses
import json
from typing import Optional, Tuple

import numpy as np
import tensorflow as tf

from glow_tf import _checks
from glow_tf import kernels as kernels_lib
from glow_tf.bijectors.flow_step import COUPLINGS
from glow_tf.bijectors.flow_step import PERMUTATIONS
from glow_tf.context_encoder import check_context_shape
from glow_tf.images import check_n_bits

__all__ = ['DEQUANTIZATIONS', 'GlowConfig', 'PRESETS', 'preset']

# How a discrete image becomes a model-space one (`glow_tf.images`,
# `glow_tf.dequantizer`).
DEQUANTIZATIONS = ('uniform', 'variational')


@dataclasses.dataclass(frozen=True)
class GlowConfig:
  """Architecture of a multi-scale Glow, validated at construction.

  Attributes:
    image_shape: `(H, W, C)`; H and W must be divisible by `2**num_levels`.
    num_levels: L, the number of squeeze -> steps -> split levels.
    num_steps: K, flow steps per level.
    hidden_channels: width of every coupling network.
    coupling: 'affine' or 'additive'.
    permutation: 'lu_conv', 'conv', 'shuffle' or 'reverse'.
    learn_top_prior: learn the top latent's mean and scale (else N(0, 1)).
    num_classes: None, or the number of classes of a class-conditional prior.
    class_loss_weight: with `num_classes`, the weight of the official
      code's class-prediction loss (`--ycond --weight_y`, 0.01 there): a
      linear classifier on the spatial mean of the top latent, its
      cross-entropy in bits added to the bits/dim loss. 0 (the default):
      no classifier.
    context_shape: None (an unconditional model), or the shape of one
      example's context: `(d,)` for a vector, `(h, w, c)` for an image (the
      low-resolution image of super-resolution). The model is then
      `p(x | context)`: the context is encoded once
      (`glow_tf.context_encoder`) and reaches every coupling network, every
      split prior and the top prior, at each level's resolution.
    context_channels: channels of the encoded context at every level (4 by
      default: every coupling network's first convolution reads them beside
      its input, and its cost grows with them; more for a rich context).
    n_bits: colour depth the data is reduced to, 1..8.
    dtype: 'float32' or 'float64'.
    edge_padding: give every 3x3 convolution (coupling networks, split
      priors) the official code's extra input channel that marks the zero
      padding (`glow_tf.networks`); off by default, as in the paper's text.
    network_dtype: None (compute in `dtype`), or 'bfloat16': the coupling
      networks' matmuls in bfloat16, for CPUs with bfloat16 units (AVX512_BF16
      or AMX). Mixed precision: variables, log-dets, priors and everything
      outside the coupling networks stay float32, and the flow stays exactly
      invertible. Needs dtype 'float32'. Speed and quality:
      docs/performance.md.
    act_norm_log_scale_factor: every ActNorm (the flow steps' and the
      coupling networks') applies this times its `log_scale` variable: 1 as
      in the paper's text, 3 as in the official code, where with Adamax it
      makes the log-scales learn 3 times faster
      (`glow_tf.act_norm_statistics.applied_log_scale`).
    kernels: how the layers are computed (`glow_tf.kernels`): 'fast' (the
      default: matmuls, folded ActNorms, XLA-compiled taps), 'matmul' (the
      same without XLA, for TF Serving) or 'reference' (`tf.nn.conv2d` and
      each bijector alone). The same function and variables either way.
    dequantization: how the training objective fills each pixel's bin
      (`glow_tf.images`): 'uniform' (the paper's: `u ~ U[0, 1)^D`, as the
      data pipeline draws it) or 'variational' (Flow++'s: `u ~ q(u | x)`, a
      small conditional flow trained with the model, `glow_tf.dequantizer`;
      the loss is then the variational bound, and `glow_tf.bits_per_dim` an
      importance-weighted estimate). Sampling, encode and decode are the
      same either way.
    dequantizer_steps: with 'variational', the flow steps of `q`.
    dequantizer_channels: with 'variational', the width of `q`'s
      conditioning network and of its couplings' networks.

  #### Examples

  ```python
  config = glow_tf.GlowConfig(image_shape=(32, 32, 3), num_levels=3,
                              num_steps=32, hidden_channels=512)
  small = glow_tf.preset('fashion_mnist').replace(num_steps=4)
  ```
  """
  image_shape: Tuple[int, int, int]
  num_levels: int = 3
  num_steps: int = 32
  hidden_channels: int = 512
  coupling: str = 'affine'
  permutation: str = 'lu_conv'
  learn_top_prior: bool = True
  num_classes: Optional[int] = None
  class_loss_weight: float = 0.0
  context_shape: Optional[Tuple[int, ...]] = None
  context_channels: int = 4
  n_bits: int = 8
  dtype: str = 'float32'
  edge_padding: bool = False
  network_dtype: Optional[str] = None
  act_norm_log_scale_factor: float = 1.0
  kernels: str = 'fast'
  dequantization: str = 'uniform'
  dequantizer_steps: int = 4
  dequantizer_channels: int = 32

  def __post_init__(self):
    try:
      shape = tuple(self.image_shape)
    except TypeError:
      shape = ()
    if len(shape) != 3 or not all(
        isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0
        for d in shape):
      raise ValueError('image_shape must be three positive ints (H, W, C), '
                       f'got {self.image_shape!r}.')
    shape = tuple(int(d) for d in shape)  # numpy ints too, as plain ints
    object.__setattr__(self, 'image_shape', shape)
    for name in ('num_levels', 'num_steps', 'hidden_channels',
                 'dequantizer_steps', 'dequantizer_channels'):
      # numpy ints pass, stored as plain ints (hashable, JSON as written)
      object.__setattr__(self, name,
                         _checks.positive_int(getattr(self, name), name))
    side = 2**self.num_levels
    if shape[0] % side or shape[1] % side:
      raise ValueError(
          f'image_shape {shape}: height and width must be divisible by '
          f'2**num_levels = {side} (num_levels={self.num_levels}).')
    _checks.one_of(self.coupling, 'coupling', COUPLINGS)
    _checks.one_of(self.permutation, 'permutation', PERMUTATIONS)
    _checks.one_of(self.dequantization, 'dequantization', DEQUANTIZATIONS)
    for name in ('learn_top_prior', 'edge_padding'):
      if not isinstance(getattr(self, name), bool):
        raise ValueError(f'{name} must be True or False, got '
                         f'{getattr(self, name)!r}.')
    if self.num_classes is not None:
      object.__setattr__(self, 'num_classes',
                         _checks.positive_int(self.num_classes, 'num_classes'))
    object.__setattr__(self, 'class_loss_weight',
                       _checks.non_negative_float(self.class_loss_weight,
                                                  'class_loss_weight'))
    if self.class_loss_weight and self.num_classes is None:
      raise ValueError('class_loss_weight > 0 needs num_classes (the '
                       'classifier predicts the labels), got '
                       f'class_loss_weight={self.class_loss_weight} and '
                       'num_classes=None.')
    if self.context_shape is not None:
      object.__setattr__(self, 'context_shape',
                         check_context_shape(self.context_shape))
    object.__setattr__(self, 'context_channels', _checks.positive_int(
        self.context_channels, 'context_channels'))
    object.__setattr__(self, 'n_bits', check_n_bits(self.n_bits))
    object.__setattr__(
        self, 'act_norm_log_scale_factor',
        _checks.positive_float(self.act_norm_log_scale_factor,
                               'act_norm_log_scale_factor'))
    if not isinstance(self.dtype, str):  # tf.float64, np.float32 ...: a name
      try:
        object.__setattr__(self, 'dtype', tf.as_dtype(self.dtype).name)
      except TypeError:
        pass  # refused just below, as given
    _checks.one_of(self.dtype, 'dtype', ('float32', 'float64'))
    if self.network_dtype is not None:
      _checks.one_of(self.network_dtype, 'network_dtype', ('bfloat16',))
      if self.dtype != 'float32':
        raise ValueError("network_dtype='bfloat16' needs dtype 'float32', got "
                         f'{self.dtype!r}.')
    _checks.one_of(self.kernels, 'kernels', kernels_lib.KERNELS)
    if self.network_dtype is not None and self.kernels == 'reference':
      raise ValueError("network_dtype='bfloat16' needs kernels 'fast' or "
                       "'matmul', got 'reference'.")

  def replace(self, **changes):
    """A copy with `changes` applied (and validated)."""
    return dataclasses.replace(self, **changes)

  def to_json(self):
    """The config as a dict of JSON values (`image_shape` a list).

    `json.dump(config.to_json(), f)` writes the `config.json` of a training
    `model_dir`, a pretrained model and an export; `from_json` reads it back.
    """
    fields = dataclasses.asdict(self)
    fields['image_shape'] = list(self.image_shape)
    if self.context_shape is not None:
      fields['context_shape'] = list(self.context_shape)
    return fields

  @classmethod
  def from_json(cls, value):
    """The `GlowConfig` of `to_json()`'s dict, or of its JSON text.

    A field missing from `value` takes its default, so a config saved before
    a field was added still loads; an unknown field or a bad value is a
    `ValueError` that names it.

    Args:
      value: a dict (e.g. `json.load(f)`) or a JSON string of one.

    Raises:
      ValueError: `value` is not a JSON object, lacks `image_shape`, names
        a field `GlowConfig` does not have, or holds a value it refuses.

    #### Examples

    ```python
    config = GlowConfig.from_json('{"image_shape": [28, 28, 1]}')
    assert GlowConfig.from_json(config.to_json()) == config
    ```
    """
    if isinstance(value, (str, bytes)):
      try:
        value = json.loads(value)
      except ValueError as e:
        raise ValueError(f'A GlowConfig must be a JSON object; {e}') from None
    if not isinstance(value, dict):
      raise ValueError('A GlowConfig must be a JSON object (a dict), got '
                       f'{type(value).__name__}: {value!r}.')
    names = [field.name for field in dataclasses.fields(cls)]
    unknown = sorted(str(key) for key in value if key not in names)
    if unknown:
      raise ValueError(f'Unknown GlowConfig field(s) {unknown}; the fields '
                       f'are {names}.')
    if 'image_shape' not in value:
      raise ValueError('A GlowConfig needs `image_shape`, got only '
                       f'{sorted(value)}.')
    fields = dict(value)
    for name in ('image_shape', 'context_shape'):
      if isinstance(fields.get(name), list):
        fields[name] = tuple(fields[name])
    return cls(**fields)

  @property
  def conditional(self):
    """Whether the model takes a `context` (`context_shape` is set)."""
    return self.context_shape is not None

  @property
  def num_dims(self):
    """D = H * W * C."""
    h, w, c = self.image_shape
    return h * w * c


PRESETS = {
    # The paper's settings (Kingma & Dhariwal 2018, table 4 and appendix).
    'cifar10': GlowConfig(image_shape=(32, 32, 3), num_levels=3, num_steps=32,
                          hidden_channels=512),
    'imagenet32': GlowConfig(image_shape=(32, 32, 3), num_levels=3,
                             num_steps=48, hidden_channels=512),
    'imagenet64': GlowConfig(image_shape=(64, 64, 3), num_levels=4,
                             num_steps=48, hidden_channels=512),
    'celeba_hq_256': GlowConfig(image_shape=(256, 256, 3), num_levels=6,
                                num_steps=32, hidden_channels=512,
                                coupling='additive', n_bits=5),
    # Small enough to train on two CPU cores. K=16 beat K=8 (and K=8 at
    # width 256) at equal wall-clock, and in two hours: docs/results.md.
    'fashion_mnist': GlowConfig(image_shape=(28, 28, 1), num_levels=2,
                                num_steps=16, hidden_channels=128),
}


def preset(name, **overrides):
  """The named preset, with `overrides` applied.

  Names: 'cifar10', 'imagenet32', 'imagenet64', 'celeba_hq_256',
  'fashion_mnist'.
  """
  if not isinstance(name, str) or name not in PRESETS:
    raise ValueError(f'Unknown preset {name!r}; expected one of '
                     f'{sorted(PRESETS)}.')
  return PRESETS[name].replace(**overrides)
