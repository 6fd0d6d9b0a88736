"""The invertible 1x1 convolution, with an optional LU parameterisation."""

import numpy as np
import tensorflow as tf

from glow_tf import _checks
from glow_tf.bijectors.glow_bijector import GlowBijector

__all__ = ['InvertibleConv1x1']


def _random_rotation(num_channels, seed):
  """A random orthogonal matrix with det +1 (numpy, float64)."""
  rng = np.random.default_rng(seed)
  q, r = np.linalg.qr(rng.standard_normal((num_channels, num_channels)))
  q = q * np.sign(np.diag(r))  # Haar-distributed
  if np.linalg.det(q) < 0:
    q[:, 0] = -q[:, 0]
  return q


class InvertibleConv1x1(GlowBijector):
  """A learned channel-mixing matrix `W` applied to every pixel.

  ```
  inverse (image -> latent):  z = W x            (per pixel, one matmul)
  forward (latent -> image):  x = W^{-1} z
  inverse_log_det_jacobian  = log|det W|         per pixel (x H*W on images)
  ```

  `W` starts as a random rotation (`log|det W| = 0`). With
  `lu_decomposed=True` (the default) it is kept as

  ```
  W = P L (U + diag(sign * exp(log_abs)))
  ```

  with a fixed permutation `P`, a unit-lower-triangular `L`, a strictly upper
  `U` and a fixed `sign`, so `log|det W| = sum(log_abs)`: O(C) instead of the
  O(C^3) of `slogdet`. The forward direction builds `W^{-1}` once per call by
  two triangular solves (O(C^3) once, not per pixel). With
  `lu_decomposed=False`, `W` is a plain matrix, the log-det is `slogdet(W)`
  and the forward direction inverts `W` once per call.

  `P` and `sign` are non-trainable variables, so a checkpoint restores the
  same `W` whatever `seed` the restoring model was built with.

  The hooks act at event rank 1; on images pass `event_ndims=3`.

  #### Examples

  ```python
  conv = glow_tf.bijectors.InvertibleConv1x1(num_channels=12, seed=0)
  z = conv.inverse(images)                       # images: [N, H, W, 12]
  ildj = conv.inverse_log_det_jacobian(images, event_ndims=3)
  ```

  #### References

  [1]: Diederik P. Kingma, Prafulla Dhariwal. Glow: Generative Flow with
       Invertible 1x1 Convolutions. NeurIPS 2018, section 3.2.
  """

  def __init__(self, num_channels, lu_decomposed=True, seed=None,
               dtype=tf.float32, validate_args=False,
               name='invertible_conv_1x1'):
    """Builds the convolution with `W` a random rotation drawn from `seed`.

    Args:
      num_channels: number of channels C.
      lu_decomposed: keep `W` in LU form (fast log-det) or as a plain matrix.
      seed: int seed of the initial rotation; `None` draws one at random.
      dtype: float dtype.
      validate_args: passed to `tfb.Bijector`.
      name: name scope of the variables.
    """
    parameters = dict(locals())
    c = self._num_channels = _checks.positive_int(num_channels, 'num_channels')
    if not isinstance(lu_decomposed, bool):
      raise ValueError(
          f'`lu_decomposed` must be True or False, got {lu_decomposed!r}.')
    self._lu_decomposed = lu_decomposed
    dtype = _checks.float_dtype(dtype)
    w_init = _random_rotation(c, seed)
    with tf.name_scope(name) as scope_name:
      if lu_decomposed:
        lu, perm = tf.linalg.lu(tf.constant(w_init, tf.float64))
        lu = lu.numpy()
        diagonal = np.diag(lu)
        # tf.linalg.lu gives w = eye[perm]^T @ L @ U.
        self.permutation = tf.Variable(
            np.eye(c)[perm.numpy()].T, dtype=dtype, trainable=False,
            name='permutation')
        self.sign = tf.Variable(np.sign(diagonal), dtype=dtype,
                                trainable=False, name='sign')
        self.lower = tf.Variable(np.tril(lu, -1), dtype=dtype, name='lower')
        self.upper = tf.Variable(np.triu(lu, 1), dtype=dtype, name='upper')
        self.log_abs = tf.Variable(np.log(np.abs(diagonal)), dtype=dtype,
                                   name='log_abs')
      else:
        self.weight = tf.Variable(w_init, dtype=dtype, name='weight')
      super().__init__(forward_min_event_ndims=1, is_constant_jacobian=True,
                       validate_args=validate_args, dtype=dtype,
                       parameters=parameters, name=scope_name.rstrip('/'))

  @property
  def num_channels(self):
    return self._num_channels

  @property
  def lu_decomposed(self):
    return self._lu_decomposed

  def _lu_factors(self):
    c = self._num_channels
    lower = (tf.linalg.band_part(self.lower, -1, 0) -
             tf.linalg.band_part(self.lower, 0, 0) + tf.eye(c, dtype=self.dtype))
    upper = (tf.linalg.band_part(self.upper, 0, -1) -
             tf.linalg.band_part(self.upper, 0, 0) +
             tf.linalg.diag(self.sign * tf.exp(self.log_abs)))
    return lower, upper

  def matrix(self):
    """`W`, the image -> latent matrix (computed from its parameters)."""
    if not self._lu_decomposed:
      return tf.convert_to_tensor(self.weight)
    lower, upper = self._lu_factors()
    return tf.matmul(self.permutation, tf.matmul(lower, upper))

  def inverse_matrix(self):
    """`W^{-1}`, by triangular solves in LU form (never per pixel)."""
    if not self._lu_decomposed:
      return tf.linalg.inv(self.weight)
    lower, upper = self._lu_factors()
    # W^{-1} = U^{-1} L^{-1} P^T.
    solved = tf.linalg.triangular_solve(
        lower, tf.transpose(self.permutation), lower=True)
    return tf.linalg.triangular_solve(upper, solved, lower=False)

  def _apply(self, x, matrix):
    x = _checks.check_event(x, self, self._num_channels, min_rank=1)
    flat = tf.reshape(x, [-1, self._num_channels])
    out = tf.reshape(tf.matmul(flat, matrix, transpose_b=True), tf.shape(x))
    out.set_shape(x.shape)
    return out

  def _forward(self, z):
    return self._apply(z, self.inverse_matrix())

  def _inverse(self, x):
    return self._apply(x, self.matrix())

  def log_abs_det(self):
    """`log|det W|`, the inverse log-det per pixel: `sum(log_abs)` in LU form."""
    if self._lu_decomposed:
      return tf.reduce_sum(self.log_abs)
    return tf.linalg.slogdet(self.weight)[1]

  def _inverse_log_det_jacobian(self, x):
    return self.log_abs_det()

  def _forward_log_det_jacobian(self, z):
    return -self._inverse_log_det_jacobian(z)
