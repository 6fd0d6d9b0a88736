"""`Kernels`: the one interface through which glow_tf's layers are computed.

The model code (`glow_tf.networks`, `glow_tf.bijectors`) states each
function once, plainly. A `Kernels` object decides how the expensive parts
are computed; every method has a plain default here, which is the
definition (`glow_tf.kernels.reference` uses them all). A fast backend
(`glow_tf.kernels.fast`) overrides them with code that computes the same
function faster on a CPU, and the tests compare the two.

```
conv2d(x, kernel, edge)               a 'SAME' convolution (+ edge padding)
coupling_network(net, x)              NN(x) of a CouplingNetwork
network_then(net, x, channels, tail)  tail(NN(x[..., :channels]), x): the
                                      coupling's sampling direction
units(parts)                          the parts of a chain of bijectors, as
                                      they are run (pairs may be fused)
map_batch(fn, x, *conditions)        fn over the batch (in parts, or whole)
```
"""

import tensorflow as tf

__all__ = ['Kernels']


class Kernels:
  """The plain computation of every layer; the base of every backend.

  Backends are stateless apart from caches of compiled functions, so one
  object of each serves every model (`glow_tf.kernels.get(name)`).
  """

  name = None

  def conv2d(self, x, kernel, edge=None):
    """`'SAME'` convolution of `[N, H, W, Cin]` with `[k, k, Cin, Cout]`.

    `edge` (`[9, Cout]`, or None; 3x3 only) holds the weights of the
    official code's extra input channel, 1 in the zero padding and 0 inside
    the image: the input is padded, the channel appended, and a 'VALID'
    convolution run with the kernel and `edge` stacked on input channels.
    """
    kernel = tf.convert_to_tensor(kernel)
    if edge is None:
      return tf.nn.conv2d(x, kernel, strides=1, padding='SAME')
    padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
    inside = tf.zeros_like(x[..., :1])
    indicator = tf.pad(inside, [[0, 0], [1, 1], [1, 1], [0, 0]],
                       constant_values=1.0)
    edge_kernel = tf.reshape(edge, [3, 3, 1, edge.shape[-1]])
    return tf.nn.conv2d(tf.concat([padded, indicator], axis=-1),
                        tf.concat([kernel, edge_kernel], axis=2),
                        strides=1, padding='VALID')

  def coupling_network(self, network, x):
    """`NN(x)`: by default the network's layers one after another."""
    return network.layers(x)

  def network_then(self, network, x, channels, tail, *args):
    """`tail(NN(x[..., :channels]), x, *args)`.

    `tail` is a module-level function of tensors and Python values (a fast
    backend may compile it together with the network's last layer).
    """
    return tail(self.coupling_network(network, x[..., :channels]), x, *args)

  def units(self, parts):
    """The parts of a chain, image -> latent order, as the chain walk runs them.

    By default each part alone. A backend may replace consecutive parts by
    one object with the same `inverse_and_log_det(x, event_ndims)` and
    `forward_and_log_det(z, event_ndims)`.
    """
    return list(parts)

  def map_batch(self, fn, x, *conditions):
    """`fn(x, *conditions)` on the whole batch (a backend may run it in parts).

    Each condition is None or a tensor whose first axis is the batch's
    (labels, a context).
    """
    return fn(x, *conditions)

  def __repr__(self):
    return f'glow_tf.kernels.get({self.name!r})'

