"""Contexts computed from the images themselves, for conditional models.

A conditional Glow (`GlowConfig.context_shape`) models `p(x | context)`.
Its batches carry the context under the key `'context'`. Contexts that are
a function of the image are named here, and `with_context` adds one to a
data set of uint8 images (before the pipeline, so random flips flip it with
its image):

```
'low_res'   the 2x2 average of the image, as floats in [-0.5, 0.5]:
            [H, W, C] uint8 -> [H / 2, W / 2, C]; a model of p(x | low_res)
            is a 2x super-resolution model.
```

#### Examples

```python
train = with_context(load_dataset('fashion_mnist', 'train'), 'low_res')
config = glow_tf.preset('fashion_mnist',
                        context_shape=context_shape('low_res', (28, 28, 1)))
```
"""

import tensorflow as tf

from glow_tf import _checks

__all__ = ['CONTEXTS', 'context_of', 'context_shape', 'low_resolution',
           'with_context']

CONTEXTS = ('low_res',)
_FACTOR = 2  # the super-resolution factor of 'low_res'


def low_resolution(images_uint8, factor=_FACTOR):
  """The `factor x factor` average of uint8 images, as floats in [-0.5, 0.5].

  Args:
    images_uint8: `[..., H, W, C]` uint8 images, H and W divisible by
      `factor`.
    factor: the downsampling factor.

  Returns:
    float32 `[..., H / factor, W / factor, C]`: `mean(pixels) / 255 - 0.5`.
  """
  images = tf.convert_to_tensor(images_uint8)
  if images.dtype != tf.uint8:
    raise ValueError(f'low_resolution takes uint8 images, got dtype '
                     f'{images.dtype.name}.')
  factor = _checks.positive_int(factor, 'factor')
  h, w = images.shape[-3], images.shape[-2]
  if (h is not None and h % factor) or (w is not None and w % factor):
    raise ValueError(f'low_resolution: height and width must be divisible by '
                     f'{factor}, got shape {images.shape}.')
  x = tf.cast(images, tf.float32) / 255.0 - 0.5
  batch_shape = tf.shape(x)[:-3]
  flat = tf.reshape(x, tf.concat([[-1], tf.shape(x)[-3:]], axis=0))
  pooled = tf.nn.avg_pool2d(flat, factor, factor, 'VALID')
  out = tf.reshape(pooled, tf.concat([batch_shape, tf.shape(pooled)[1:]], 0))
  out.set_shape(images.shape[:-3].concatenate(
      [None if h is None else h // factor, None if w is None else w // factor,
       images.shape[-1]]))
  return out


def context_of(name, images_uint8):
  """The context `name` (one of `CONTEXTS`) of uint8 images."""
  _checks.one_of(name, 'context', CONTEXTS)
  return low_resolution(images_uint8)


def context_shape(name, image_shape):
  """The shape of one image's context `name`, for `GlowConfig.context_shape`."""
  _checks.one_of(name, 'context', CONTEXTS)
  h, w, c = image_shape
  if h % _FACTOR or w % _FACTOR:
    raise ValueError(f"context 'low_res' needs a height and width divisible "
                     f'by {_FACTOR}, got image_shape {tuple(image_shape)}.')
  return (h // _FACTOR, w // _FACTOR, c)


def with_context(dataset, name):
  """`dataset` of `{'image': uint8, ...}` dicts with `'context'` added.

  Args:
    dataset: a `tf.data.Dataset` of dicts with a uint8 `'image'` (as
      `glow_tf.data.load_dataset` gives).
    name: one of `CONTEXTS`.
  """
  _checks.one_of(name, 'context', CONTEXTS)
  spec = dataset.element_spec
  if not isinstance(spec, dict) or 'image' not in spec:
    raise ValueError("with_context needs a dataset of dicts with an 'image', "
                     f'got element_spec {spec!r}.')

  def add(example):
    return dict(example, context=context_of(name, example['image']))

  return dataset.map(add, num_parallel_calls=tf.data.AUTOTUNE)
