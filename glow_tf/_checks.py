"""Argument and shape checks shared by the whole package (private).

Each raises a ValueError that names the argument and quotes the bad value.
"""

import math

import numpy as np
import tensorflow as tf

_FLOATS = (tf.float16, tf.bfloat16, tf.float32, tf.float64)


def positive_int(value, name, allow_zero=False):
  """`int(value)` for an integer >= 1 (>= 0 with `allow_zero`); numpy ints pass."""
  if (isinstance(value, bool) or not isinstance(value, (int, np.integer))
      or value < (0 if allow_zero else 1)):
    kind = 'non-negative' if allow_zero else 'positive'
    raise ValueError(f'`{name}` must be a {kind} integer, got {value!r}.')
  return int(value)


def positive_float(value, name):
  """`float(value)` for a finite number > 0."""
  if (isinstance(value, bool) or
      not isinstance(value, (int, float, np.integer, np.floating)) or
      not value > 0 or not math.isfinite(value)):
    raise ValueError(f'`{name}` must be a positive float, got {value!r}.')
  return float(value)


def non_negative_float(value, name):
  """`float(value)` for a finite number >= 0."""
  if (isinstance(value, bool) or
      not isinstance(value, (int, float, np.integer, np.floating)) or
      not value >= 0 or not math.isfinite(value)):
    raise ValueError(f'`{name}` must be a non-negative float, got {value!r}.')
  return float(value)


def seed_pair(seed, name='seed'):
  """`seed` as a stateless `[2]` seed: an int `s` becomes `[0, s]`.

  A shape-`[2]` integer tensor, array or sequence passes unchanged; anything
  else (a string, a float, a bool, another shape) is a ValueError naming
  `name`.
  """
  if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
    return [0, int(seed)]
  problem = None
  try:
    t = seed if tf.is_tensor(seed) else np.asarray(seed)
    dtype = tf.as_dtype(t.dtype)
    if not dtype.is_integer:
      problem = f'dtype {dtype.name}'
    elif not tf.TensorShape(t.shape).is_compatible_with([2]):
      problem = f'shape {list(t.shape)}'
  except (TypeError, ValueError):
    problem = type(seed).__name__
  if problem is not None:
    raise ValueError(f'`{name}` must be an int or a stateless seed of two '
                     f'integers (shape [2]), got {seed!r} ({problem}).')
  return seed


def float_dtype(dtype):
  """Returns a floating `tf.DType`, or raises ValueError."""
  dtype = tf.as_dtype(dtype)
  if dtype not in _FLOATS:
    raise ValueError(f'`dtype` must be a float dtype, got {dtype.name}.')
  return dtype


def one_of(value, name, choices):
  """Returns `value` if it is one of `choices`, else a ValueError naming them."""
  if value not in choices:
    raise ValueError(f'`{name}` must be one of {list(choices)}, got {value!r}.')
  return value


def check_event(x, bijector, num_channels, min_rank):
  """Raises ValueError on a statically wrong rank or channel count of `x`."""
  shape = x.shape
  if shape.rank is not None and shape.rank < min_rank:
    expected = '[..., H, W, C]' if min_rank == 3 else '[..., C]'
    raise ValueError(
        f'{bijector.name}: expected a tensor of rank >= {min_rank} shaped '
        f'{expected} (channels last), got shape {shape}.')
  if (shape.rank is not None and shape[-1] is not None and
      shape[-1] != num_channels):
    raise ValueError(
        f'{bijector.name}: expected {num_channels} channels (last axis), '
        f'got shape {shape}.')
  return x


def check_context(context, channels, like, name):
  """`context` for a bijector with `channels` context channels, or a ValueError.

  A conditional bijector (`channels > 0`) needs a float tensor of `like`'s
  dtype shaped like `like` but for its last axis, `channels`; an
  unconditional one (`channels == 0`) refuses a context. Returns the context
  as a tensor (None for an unconditional bijector).
  """
  if not channels:
    if context is not None:
      raise ValueError(f'{name}: this bijector is unconditional '
                       '(context_channels=0) but got a `context`.')
    return None
  if context is None:
    raise ValueError(
        f'{name}: this bijector is conditional (context_channels='
        f'{channels}): pass `context`, a tensor shaped like its input but '
        f'with {channels} channels, [..., H, W, {channels}].')
  if tf.is_tensor(context) and context.dtype != like.dtype:
    raise ValueError(f'{name}: `context` must have dtype {like.dtype.name} '
                     f"(its input's), got {context.dtype.name}.")
  context = tf.convert_to_tensor(context, like.dtype)
  expected = like.shape[:-1].concatenate([channels])
  if not context.shape.is_compatible_with(expected):
    raise ValueError(
        f'{name}: `context` must have shape {expected} (the batch and '
        f'spatial shape {like.shape[:-1]} of the input, {channels} '
        f'channels), got shape {context.shape}.')
  return context
