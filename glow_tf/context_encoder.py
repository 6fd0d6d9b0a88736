"""`ContextEncoder`: a conditional Glow's context, encoded once, at every level's shape.

A conditional Glow (`GlowConfig.context_shape`) models `p(x | context)`.
The context is a vector `[..., d]` (an embedding, attributes) or an image
`[..., h, w, c]` (a low-resolution version of `x`, a segmentation ...). It
is encoded once per call:

```
vector:  f = relu(dense(context))                 [..., channels]
         f_l = f broadcast to [..., H_l, W_l, channels]
image:   f = relu(conv3x3(context))               [..., h, w, channels]
         f_l = f resized to [..., H_l, W_l, channels]
```

(`H_l, W_l`: the spatial shape of level l of the flow; an image is
average-pooled when the level's size divides it, resized bilinearly,
antialiased, otherwise). Level l's couplings and split prior read `f_l`
beside their input; the top prior reads the last one.

#### Examples

```python
encoder = ContextEncoder((14, 14, 1), [(14, 14), (7, 7)], channels=4)
features = encoder(low_res)        # [[N, 14, 14, 4], [N, 7, 7, 4]]
```
"""

import numpy as np
import tensorflow as tf

from glow_tf import _checks
from glow_tf import _shapes
from glow_tf import networks

__all__ = ['ContextEncoder', 'check_context_shape']

_WEIGHT_STDDEV = 0.05


def check_context_shape(context_shape):
  """`context_shape` as a tuple of positive ints: `(d,)` or `(h, w, c)`."""
  try:
    shape = tuple(context_shape)
  except TypeError:
    shape = ()
  if len(shape) not in (1, 3) or not all(
      isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0
      for d in shape):
    raise ValueError('context_shape must be (d,) for a vector context or '
                     '(h, w, c) for an image context, positive ints; got '
                     f'{context_shape!r}.')
  return tuple(int(d) for d in shape)


def _resize(features, height, width):
  """`[N, h, w, c] -> [N, height, width, c]`: average pool, or bilinear."""
  h, w = features.shape[1], features.shape[2]
  if (h, w) == (height, width):
    return features
  if h % height == 0 and w % width == 0:
    window = (h // height, w // width)
    return tf.nn.avg_pool2d(features, window, window, 'VALID')
  return tf.image.resize(features, (height, width), method='bilinear',
                         antialias=True)


class ContextEncoder(tf.Module):
  """Encodes a context once and gives it at the shape of every level.

  Args:
    context_shape: `(d,)` (a vector) or `(h, w, c)` (an image).
    level_sizes: `[(H_0, W_0), ..., (H_top, W_top)]`, the spatial shapes of
      the flow's levels.
    channels: channels of every level's features.
    seed: int seed of the initial weights.
    dtype: float dtype.
    kernels: the `glow_tf.kernels` backend of the image encoder's conv.
    name: name scope.
  """

  def __init__(self, context_shape, level_sizes, channels=4, seed=None,
               dtype=tf.float32, kernels='fast', name='context_encoder'):
    super().__init__(name=name)
    self._context_shape = check_context_shape(context_shape)
    self._level_sizes = [tuple(int(d) for d in size) for size in level_sizes]
    self._channels = _checks.positive_int(channels, 'channels')
    self._dtype = _checks.float_dtype(dtype)
    with self.name_scope:
      if len(self._context_shape) == 1:
        rng = np.random.default_rng(seed)
        self.kernel = tf.Variable(
            rng.normal(0.0, _WEIGHT_STDDEV,
                       (self._context_shape[0], self._channels)),
            dtype=self._dtype, name='kernel')
        self.bias = tf.Variable(tf.zeros([self._channels], self._dtype),
                                name='bias')
      else:
        self.conv = networks.Conv2D(self._context_shape[-1], self._channels,
                                    3, seed=seed, dtype=self._dtype,
                                    kernels=kernels, name='conv')

  @property
  def context_shape(self):
    return self._context_shape

  @property
  def channels(self):
    """Channels of every level's features."""
    return self._channels

  def __call__(self, context):
    """`[f_0, ..., f_top]`, each `[*batch, H_l, W_l, channels]`.

    Args:
      context: `[*batch, *context_shape]` floats (checked by the caller,
        `glow_tf.Glow`).
    """
    context = tf.convert_to_tensor(context, self._dtype)
    if len(self._context_shape) == 1:
      encoded = tf.nn.relu(tf.tensordot(context, self.kernel, 1) + self.bias)
      return [self._broadcast(encoded, h, w) for h, w in self._level_sizes]
    flat, undo = _shapes.to_rank4(context)  # any batch shape
    encoded = tf.nn.relu(self.conv(flat))
    return [undo(_resize(encoded, h, w)) for h, w in self._level_sizes]

  def _broadcast(self, encoded, height, width):
    """`[*batch, channels] -> [*batch, height, width, channels]`."""
    out = tf.broadcast_to(
        encoded[..., None, None, :],
        tf.concat([tf.shape(encoded)[:-1], [height, width, self._channels]],
                  axis=0))
    out.set_shape(encoded.shape[:-1].concatenate(
        [height, width, self._channels]))
    return out
