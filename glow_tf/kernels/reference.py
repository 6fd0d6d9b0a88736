"""The reference kernels: every layer computed as its definition.

`tf.nn.conv2d` for convolutions (with the official code's padded indicator
channel for edge padding), each coupling network's layers one after
another, each part of a chain alone, and the whole batch at once. The fast
kernels (`glow_tf.kernels.fast`) are tested against these.
"""

from glow_tf.kernels.interface import Kernels

__all__ = ['ReferenceKernels']


class ReferenceKernels(Kernels):
  """`Kernels` as defined: plain TensorFlow ops and TFP's hooks.

  #### Examples

  ```python
  config = glow_tf.preset('fashion_mnist', kernels='reference')
  glow = glow_tf.Glow(config)        # same variables, same function
  ```
  """

  name = 'reference'
