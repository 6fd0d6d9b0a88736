"""`VariationalDequantizer`: Flow++'s learned dequantisation noise `q(u | k)`.

Uniform dequantisation fills each pixel's bin with `u ~ U[0, 1)`
(`glow_tf.dequantize`), and the bound it gives on the discrete likelihood
is loose where the density `p` varies inside a bin. Flow++ (Ho et al. 2019,
section 3.1) learns the noise instead, as a flow conditioned on the
discrete image `k` (its bins, `[H, W, C]` integers in `[0, 2**n_bits)`):

```
f = features(k)                        conv net on the squeezed bin centres
eps ~ N(0, I)                          [H/2, W/2, 4C]
z = steps.forward(eps, context=f)      S glow steps; every coupling reads f
u = sigmoid(unsqueeze(z))              (0, 1)^(H x W x C)
log q(u | k) = log N(eps) - log|det dz/deps| - sum log sigmoid'(z)
x = (k + u) / 2**n_bits - 0.5          the model-space image
```

with `features(k)`:

```
s = squeeze((k + 0.5) / 2**n_bits - 0.5)                    [H/2, W/2, 4C]
f = relu(act_norm(conv3x3(relu(act_norm(conv3x3(s))))))     [H/2, W/2, channels]
```

The steps are `glow_tf.bijectors.flow_step`s (ActNorm -> 1x1 convolution ->
conditional affine coupling) on the squeezed noise, so a 1-channel image
has 4 channels to couple. `log q` is exact: the walk through the chain
`[sigmoid, unsqueeze, steps]` (`bijector`, image -> latent in list order)
sums every part's log-det. Trained jointly with the model on the
variational bound (`glow_tf.images.bits_per_dim_from_log_prob` with
`log_q`),

```
log P(k) >= E_q[log p(x) - log q(u | k)] - D log 2**n_bits
```

which for uniform noise (`log q = 0`) is the usual objective.
`initialize` sets the ActNorms from data so that `q` starts close to the
uniform noise it replaces (see there).

#### Examples

```python
config = glow_tf.preset('fashion_mnist', dequantization='variational')
glow = glow_tf.Glow(config)                 # glow.dequantizer: this class
x, log_q = glow.dequantizer.dequantize(images_uint8, seed=1)
bound = -(glow.log_prob(x) - log_q)        # nats, less D log 2**n_bits
```

#### References

[1]: Jonathan Ho, Xi Chen, Aravind Srinivas, Yan Duan, Pieter Abbeel.
     Flow++: Improving Flow-Based Generative Models with Variational
     Dequantization and Architecture Design. ICML 2019.
     https://arxiv.org/abs/1902.00275
"""

import math

import tensorflow as tf
import tensorflow_probability as tfp

from glow_tf import _checks
from glow_tf import _seeds
from glow_tf import _shapes
from glow_tf import images as images_lib
from glow_tf import kernels as kernels_lib
from glow_tf import networks
from glow_tf.bijectors.chain import forward_and_log_det
from glow_tf.bijectors.chain import initialize as initialize_chain
from glow_tf.bijectors.chain import inverse_and_log_det
from glow_tf.bijectors.flow_step import flow_step
from glow_tf.bijectors.squeeze import Squeeze

tfb = tfp.bijectors

__all__ = ['VariationalDequantizer']

# `initialize` reads the uniform noise of its images, kept this far inside
# (0, 1) so that its logit is finite.
_INIT_NOISE_MARGIN = 1e-4


def _standard_normal_log_prob(eps):
  """`sum log N(eps; 0, 1)` over each `[H, W, C]` event."""
  return tf.reduce_sum(-0.5 * tf.square(eps) - 0.5 * math.log(2.0 * math.pi),
                       axis=[-3, -2, -1])


class VariationalDequantizer(tf.Module):
  """`q(u | k)`: dequantisation noise in `(0, 1)^D` given the discrete image.

  See the module docstring for the distribution. Images are given as uint8
  (`[..., H, W, C]`, reduced to `n_bits` as `glow_tf.quantize` does) or as
  model-space floats, whose bins are the discrete image
  (`glow_tf.images.model_space_bins`: uniformly dequantised images, as the
  data pipeline gives, or the bins' corners).

  Args:
    image_shape: `(H, W, C)`, H and W even.
    n_bits: colour depth of the discrete images, 1..8.
    num_steps: S, the flow steps.
    channels: width of the conditioning network and of the couplings'
      networks; the couplings read `channels` context channels.
    seed: int seed of the initial weights (None: random).
    dtype: float dtype.
    act_norm_log_scale_factor: of every ActNorm (`GlowConfig`'s).
    kernels: the `glow_tf.kernels` backend of the convolutions.
    name: name scope.
  """

  def __init__(self, image_shape, n_bits=8, num_steps=4, channels=32,
               seed=None, dtype=tf.float32, act_norm_log_scale_factor=1.0,
               kernels='fast', name='dequantizer'):
    super().__init__(name=name)
    h, w, c = (_checks.positive_int(d, 'image_shape') for d in image_shape)
    if h % 2 or w % 2:
      raise ValueError('image_shape must have an even height and width (the '
                       f'noise is squeezed 2x2), got {tuple(image_shape)}.')
    self._image_shape = (h, w, c)
    self._latent_shape = (h // 2, w // 2, 4 * c)
    self._n_bits = images_lib.check_n_bits(n_bits)
    self._num_steps = _checks.positive_int(num_steps, 'num_steps')
    self._channels = _checks.positive_int(channels, 'channels')
    self._dtype = _checks.float_dtype(dtype)
    self._kernels = kernels_lib.get(kernels)
    factor = act_norm_log_scale_factor
    seeds = _seeds.split_seed(seed, self._num_steps + 2)
    with self.name_scope:
      squeezed = self._latent_shape[-1]
      self.conv_in = networks.Conv2D(
          squeezed, self._channels, 3, use_bias=False, seed=seeds[0],
          dtype=self._dtype, kernels=self._kernels, name='conv_in')
      self.norm_in = networks.ActNormLayer(
          self._channels, dtype=self._dtype, log_scale_factor=factor,
          name='norm_in')
      self.conv_hidden = networks.Conv2D(
          self._channels, self._channels, 3, use_bias=False, seed=seeds[1],
          dtype=self._dtype, kernels=self._kernels, name='conv_hidden')
      self.norm_hidden = networks.ActNormLayer(
          self._channels, dtype=self._dtype, log_scale_factor=factor,
          name='norm_hidden')
      steps = [
          flow_step(squeezed, self._channels, seed=seeds[2 + i],
                    dtype=self._dtype, act_norm_log_scale_factor=factor,
                    kernels=self._kernels, context_channels=self._channels,
                    name=f'step_{i}')
          for i in range(self._num_steps)]
      # Image -> latent in list order: logit, squeeze, the steps' inverses.
      self.bijector = tfb.Chain(
          [tfb.Sigmoid(), tfb.Invert(Squeeze(dtype=self._dtype))] + steps,
          name='noise_flow')

  @property
  def image_shape(self):
    return self._image_shape

  @property
  def latent_shape(self):
    """Shape `(H/2, W/2, 4C)` of one example's `eps`."""
    return self._latent_shape

  @property
  def n_bits(self):
    return self._n_bits

  @property
  def dtype(self):
    return self._dtype

  def bins(self, images):
    """The discrete images as bins `k`, floats of `dtype` `[..., H, W, C]`."""
    images = tf.convert_to_tensor(images)
    expected = f'[..., {", ".join(map(str, self._image_shape))}]'
    if images.shape.rank is None or images.shape.rank < 3 or (
        not images.shape[-3:].is_compatible_with(self._image_shape)):
      raise ValueError(f'images must have shape {expected}, got '
                       f'{images.shape}.')
    if images.dtype == tf.uint8:
      return tf.cast(images_lib.quantize(images, self._n_bits), self._dtype)
    if images.dtype != self._dtype:
      raise ValueError(f'images must be uint8, or model-space floats of '
                       f'dtype {self._dtype.name}; got {images.dtype.name}.')
    return images_lib.model_space_bins(images, self._n_bits)

  def context(self, images, initialize=False):
    """`features(k)` `[..., H/2, W/2, channels]`: what the couplings read.

    With `initialize`, the ActNorms take their statistics from this batch
    (once).
    """
    flat, undo = _shapes.to_rank4(self.bins(images))
    centres = (flat + 0.5) / 2.0**self._n_bits - 0.5
    s = tf.nn.space_to_depth(centres, 2)
    h = tf.nn.relu(self.norm_in(self.conv_in(s), initialize))
    return undo(tf.nn.relu(self.norm_hidden(self.conv_hidden(h), initialize)))

  def sample_and_log_prob(self, images, seed=None):
    """`(u, log q(u | k))`: noise `[..., H, W, C]` and its exact log-density.

    Args:
      images: uint8 or model-space images (see the class docstring).
      seed: None (fresh noise), or a stateless seed (an int or a `[2]`
        integer tensor): the same seed gives the same `u`.
    """
    context = self.context(images)
    eps_shape = tf.concat([tf.shape(context)[:-3], self._latent_shape], 0)
    if seed is None:
      eps = tf.random.normal(eps_shape, dtype=self._dtype)
    else:
      eps = tf.random.stateless_normal(eps_shape, _checks.seed_pair(seed),
                                       dtype=self._dtype)
    u, fldj = forward_and_log_det(self.bijector, eps, 3, self._kernels,
                                  context=context)
    return u, _standard_normal_log_prob(eps) - fldj

  def log_prob(self, u, images):
    """`log q(u | k)` of noise `u` in `(0, 1)^D`, through the inverse walk."""
    u = tf.convert_to_tensor(u, self._dtype)
    eps, ildj = inverse_and_log_det(self.bijector, u, 3, self._kernels,
                                    context=self.context(images))
    return _standard_normal_log_prob(eps) + ildj

  def dequantize(self, images, seed=None):
    """`(x, log q(u | k))` with `x = (k + u) / 2**n_bits - 0.5`, `u ~ q`.

    `x` lies in the images' bins (`model_space_bins(x) == k`, but where
    `u` rounds to 0 or 1); its gradient reaches every variable through `u`.
    """
    u, log_q = self.sample_and_log_prob(images, seed)
    x = (self.bins(images) + u) / 2.0**self._n_bits - 0.5
    return x, log_q

  def initialize(self, images, seed=None):
    """Data-dependent init of every ActNorm, once, so that `q` starts near uniform.

    The conditioning network's ActNorms normalise the features of the
    images' bins; the steps' ActNorms (and their couplings' networks') are
    initialised in the image -> latent direction on uniform noise `u`, the
    noise `q` replaces: the first ActNorm then standardises `logit(u)`, so
    that at the start `q` is close to the logistic, that is uniform, noise.
    The noise is that of the images themselves when they are uniformly
    dequantised floats (their position inside the bin), else drawn with
    `seed`; it is kept `_INIT_NOISE_MARGIN` inside `(0, 1)`. ActNorms
    already initialised (restored) are left alone. Under a `tf.distribute`
    strategy the statistics are all-reduced, as for the model's ActNorms.

    Returns:
      The images' `eps` under the initialised flow, `[..., H/2, W/2, 4C]`.
    """
    images = tf.convert_to_tensor(images)
    bins = self.bins(images)
    if images.dtype.is_floating:
      u = (images + 0.5) * 2.0**self._n_bits - bins
    elif seed is None:
      u = tf.random.uniform(tf.shape(bins), dtype=self._dtype)
    else:
      u = tf.random.stateless_uniform(tf.shape(bins), _checks.seed_pair(seed),
                                      dtype=self._dtype)
    u = tf.clip_by_value(u, _INIT_NOISE_MARGIN, 1.0 - _INIT_NOISE_MARGIN)
    context = self.context(images, initialize=True)
    return initialize_chain(self.bijector, u, context=context)
