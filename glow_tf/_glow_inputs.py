"""What `Glow`'s methods accept: conditions, images, contexts (private).

`Glow` routes its conditions (`labels`, `context`) to the flow through TFP's
`bijector_kwargs`, and checks every argument before it reaches a bijector, so
that a wrong shape or dtype fails with a ValueError that names the argument,
the expected shape and the one it got (a bijector deep in the chain would
say neither). Each function here is one such check; `Glow`'s public
`check_images` and `check_context` are thin wrappers of the ones below.
"""

import math

import numpy as np
import tensorflow as tf

CONDITIONS = ('labels', 'context')


def condition_kwargs(labels, context=None):
  """The conditions given, as the flow's keywords."""
  kwargs = {'labels': labels, 'context': context}
  return {name: value for name, value in kwargs.items() if value is not None}


def conditions_to_bijector(kwargs):
  """TFP's `kwargs_split_fn`: every condition goes to the bijector."""
  bijector_kwargs = dict(kwargs.get('bijector_kwargs', {}))
  for name in CONDITIONS:
    if kwargs.get(name) is not None:
      bijector_kwargs[name] = kwargs[name]
  return kwargs.get('distribution_kwargs', {}), bijector_kwargs


def merge_bijector_kwargs(bijector_kwargs, labels, context):
  """`(labels, context)` from TFP's `bijector_kwargs` or the keywords.

  Raises:
    ValueError: `bijector_kwargs` holds another name, or a condition is
      given both ways.
  """
  if not bijector_kwargs:
    return labels, context
  unknown = sorted(set(bijector_kwargs) - set(CONDITIONS))
  if unknown:
    raise ValueError(f'bijector_kwargs may hold {list(CONDITIONS)}, got '
                     f'{unknown}.')
  given = {'labels': labels, 'context': context}
  for name, value in bijector_kwargs.items():
    if given[name] is not None:
      raise ValueError(f'`{name}` given twice: as a keyword and in '
                       'bijector_kwargs.')
    given[name] = value
  return given['labels'], given['context']


def check_sample_shape(sample_shape):
  """A Python `sample_shape` (an int or a sequence of them) must be >= 0."""
  if tf.is_tensor(sample_shape):
    return  # TFP checks a tensor's values
  dims = (sample_shape if isinstance(sample_shape, (list, tuple))
          else [sample_shape])
  for d in dims:
    if (isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 0):
      raise ValueError('sample_shape must be a non-negative int (or a '
                       f'sequence of them), got {sample_shape!r}.')


def check_temperature(temperature):
  """A Python temperature as a float: finite and >= 0, or a ValueError."""
  try:
    value = float(temperature)
  except (TypeError, ValueError):
    raise ValueError('temperature must be >= 0 and finite, got '
                     f'{temperature!r}.') from None
  if not (value >= 0 and math.isfinite(value)):  # also rejects NaN
    raise ValueError(f'temperature must be >= 0 and finite, got '
                     f'{temperature!r}.')
  return value


def checked_temperature(temperature, dtype):
  """`temperature` as a scalar tensor, checked >= 0 and finite.

  A Python number or an eager tensor is checked at once; a symbolic one by
  assertions that the returned tensor depends on.
  """
  if not tf.is_tensor(temperature):
    check_temperature(temperature)  # no assertion op in the graph
  value = tf.convert_to_tensor(temperature, dtype)
  if value.shape.rank not in (None, 0):
    raise ValueError(f'temperature must be a scalar, got shape {value.shape}.')
  if not tf.is_symbolic_tensor(value):
    if tf.is_tensor(temperature):
      check_temperature(float(value))
    return value
  # In graph mode the assertion is an op, not a tensor: depend on it (NaN
  # fails `>= 0` too).
  with tf.control_dependencies([
      tf.debugging.assert_non_negative(value,
                                       message='temperature must be >= 0'),
      tf.debugging.assert_less(value, tf.constant(np.inf, dtype),
                               message='temperature must be finite')]):
    return tf.identity(value)


def _dims(shape):
  return ', '.join(map(str, shape))


def check_images(x, image_shape, dtype, name='x'):
  """`x` as model-space images `[..., *image_shape]` (a tensor), or a ValueError.

  The images must be floats of `dtype` with a known rank; the error says
  how to fix them (`glow_tf.dequantize` for uint8 images).
  """
  x = tf.convert_to_tensor(x)
  dtype = tf.as_dtype(dtype)
  if not x.dtype.is_floating:
    raise ValueError(
        f'`{name}` must be float model-space images in [-0.5, 0.5], got dtype '
        f'{x.dtype.name}; convert uint8 images with glow_tf.dequantize.')
  if x.dtype != dtype:
    raise ValueError(f'`{name}` must have dtype {dtype.name} (the '
                     f"model's), got {x.dtype.name}.")
  shape = tuple(image_shape)
  if x.shape.rank is None:
    raise ValueError(
        f'`{name}` must have a known rank ([..., {_dims(shape)}]), got a '
        'tensor of unknown shape; trace the tf.function with an '
        f'input_signature such as tf.TensorSpec([None, {_dims(shape)}]).')
  if x.shape.rank < 3 or (x.shape[-3:].is_fully_defined() and
                          tuple(x.shape[-3:]) != shape):
    raise ValueError(f'`{name}` must have shape [..., {_dims(shape)}] (images '
                     f'of this model), got {x.shape}.')
  return x


def check_uint8_shape(images, image_shape, name='images'):
  """Raises a ValueError unless uint8 `images` are `[..., *image_shape]`."""
  shape = tuple(image_shape)
  if images.shape.rank is None or images.shape.rank < 3 or (
      not images.shape[-3:].is_compatible_with(shape)):
    raise ValueError(f'`{name}` must have shape [..., {_dims(shape)}], got '
                     f'{images.shape}.')


def labels_for(labels, batch_shape, num_classes):
  """`labels` (a tensor), checked against the batch shape where both are known.

  Their dtype and range are checked by the top prior (`check_labels`); an
  unconditional model (`num_classes` None) gets them back as they are, for
  the prior to refuse.
  """
  if labels is None or num_classes is None:
    return labels  # the prior says what is missing or not wanted
  labels = tf.convert_to_tensor(labels)
  batch_shape = tf.TensorShape(batch_shape)
  if (labels.shape.is_fully_defined() and batch_shape.is_fully_defined()
      and labels.shape != batch_shape):
    raise ValueError(
        f'`labels` must have the batch shape {batch_shape.as_list()} (one '
        f'integer label per image), got shape {labels.shape.as_list()}.')
  return labels


def check_context(context, batch_shape, context_shape, dtype, name='context'):
  """`context` as a tensor for images of `batch_shape`, or a ValueError.

  A conditional model (`context_shape` not None) needs floats of `dtype`
  shaped `[*batch_shape, *context_shape]`; an unconditional one refuses a
  context, and gets None.
  """
  dtype = tf.as_dtype(dtype)
  if context_shape is None:
    if context is not None:
      raise ValueError(f'This model is unconditional (context_shape=None) '
                       f'but got a `{name}`; build it with '
                       'GlowConfig(context_shape=...) to condition on one.')
    return None
  context_shape = tuple(context_shape)
  expected = f'[batch, {_dims(context_shape)}]'
  if context is None:
    raise ValueError(
        f'This model is conditional (context_shape={context_shape}): pass '
        f'`{name}`, {dtype.name} values shaped {expected}.')
  if tf.is_tensor(context) and context.dtype != dtype:
    raise ValueError(f'`{name}` must have dtype {dtype.name} (the '
                     f"model's), got {context.dtype.name}.")
  if not tf.is_tensor(context) and not np.issubdtype(
      np.asarray(context).dtype, np.floating):
    raise ValueError(f'`{name}` must be floats of dtype {dtype.name}, '
                     f'got {np.asarray(context).dtype}.')
  context = tf.convert_to_tensor(context, dtype)
  if context.shape.rank is None:
    raise ValueError(
        f'`{name}` must have a known rank ({expected}), got a tensor of '
        'unknown shape; trace the tf.function with an input_signature '
        f'such as tf.TensorSpec([None, {_dims(context_shape)}]).')
  batch_shape = tf.TensorShape(batch_shape)
  rank = len(context_shape)
  if (context.shape.rank < rank or
      not context.shape[-rank:].is_compatible_with(context_shape) or
      not context.shape[:-rank].is_compatible_with(batch_shape)):
    raise ValueError(
        f'`{name}` must have shape {batch_shape.concatenate(context_shape)}'
        f' (one context of shape {context_shape} per image of batch shape '
        f'{batch_shape}), got shape {context.shape}.')
  return context


def context_per_sample(context, latents, context_shape, dtype):
  """`context` for each of a batch of latents `[..., H, W, C]`, checked once.

  `context` is one context per sample (`[*batch, *context_shape]`), or a
  single context (`context_shape`) that every sample shares: it is
  broadcast to the batch.
  """
  batch_shape = latents.shape[:-3]
  if context is None or context_shape is None:
    return check_context(context, batch_shape, context_shape, dtype)
  if not tf.is_tensor(context):
    context = np.asarray(context)  # a list, too, takes a new axis below
  if tf.TensorShape(context.shape).rank != len(context_shape):
    return check_context(context, batch_shape, context_shape, dtype)
  one = check_context(context[tf.newaxis], [1], context_shape, dtype)[0]
  context = tf.broadcast_to(one, tf.concat(
      [tf.shape(latents)[:-3], tuple(context_shape)], axis=0))
  context.set_shape(batch_shape.concatenate(context_shape))
  return context
