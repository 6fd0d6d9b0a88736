"""The PyTorch contender of the benchmark: `TorchGlow`'s training step and sampler.

PyTorch is optional (`pip install -e '.[bench]'`): `import_torch()` returns
None when it is missing, and nothing here imports it before that check, so
the benchmark can say the contender is skipped and carry on.

#### Examples

```python
torch = import_torch()
if torch is not None:
  model = build_torch_glow(glow_tf.preset('fashion_mnist'))
  model.initialize(x)                 # x: [N, 1, 28, 28] torch images
  step = make_torch_train_step(model, x)
  loss = step()
```
"""

import importlib
import os

import numpy as np
import tensorflow as tf

__all__ = ['INSTALL_HINT', 'build_torch_glow', 'contenders',
           'copy_glow_tf_weights', 'import_torch', 'make_torch_sampler',
           'make_torch_train_step', 'set_torch_threads', 'setup',
           'tensorflow_threads', 'to_torch_images']

INSTALL_HINT = "pip install -e '.[bench]'"


def import_torch():
  """The `torch` module, or None if PyTorch is not installed."""
  try:
    return importlib.import_module('torch')
  except ImportError:
    return None


def tensorflow_threads():
  """Intra-op threads TensorFlow runs its ops on (its default: every usable core)."""
  configured = tf.config.threading.get_intra_op_parallelism_threads()
  if configured:
    return configured
  try:
    return len(os.sched_getaffinity(0))
  except AttributeError:  # not Linux
    return os.cpu_count() or 1


def set_torch_threads(threads=None):
  """Gives PyTorch `threads` intra-op threads (default: TensorFlow's); returns it."""
  torch = importlib.import_module('torch')
  threads = threads or tensorflow_threads()
  torch.set_num_threads(threads)
  return threads


def build_torch_glow(config, seed=0, channels_last=False):
  """`TorchGlow(config, seed)` in `config.dtype`, its weights channels-last if asked."""
  torch = importlib.import_module('torch')
  torch_glow = importlib.import_module('benchmarks.torch_glow')
  model = torch_glow.TorchGlow(config, seed=seed)
  if config.dtype == 'float64':
    model = model.double()
  if channels_last:
    model = model.to(memory_format=torch.channels_last)
  return model


def to_torch_images(x, channels_last=False):
  """glow_tf's `[N, H, W, C]` images as `[N, C, H, W]` torch images.

  Stored contiguously, or channels-last (`torch.channels_last`: the same
  bytes as `x`, PyTorch's fast layout for CPU convolutions) if asked.
  """
  torch = importlib.import_module('torch')
  images = torch.from_numpy(
      np.ascontiguousarray(np.transpose(np.asarray(x), [0, 3, 1, 2])))
  if channels_last:
    images = images.contiguous(memory_format=torch.channels_last)
  return images


def _assign(parameter, value, layout=None):
  torch = importlib.import_module('torch')
  value = tf.convert_to_tensor(value)
  if layout is not None:
    value = tf.transpose(value, layout)
  value = torch.from_numpy(value.numpy().copy()).to(parameter.dtype)
  with torch.no_grad():
    parameter.copy_(value.reshape(parameter.shape))


def copy_glow_tf_weights(glow, model):
  """Copies every parameter of `glow` (a `glow_tf.Glow`) into `model` (a `TorchGlow`).

  The two then compute the same log-density: `model.log_prob` of
  `to_torch_images(x)` equals `glow.log_prob(x)` up to round-off.
  Convolution kernels go from `[kh, kw, in, out]` to `[out, in, kh, kw]`.
  """
  kernel = (3, 2, 0, 1)
  flow = glow.bijector
  for level, torch_level in zip(flow.steps, model.levels):
    for step, torch_step in zip(level.bijectors, torch_level):
      act_norm, conv, coupling = step.bijectors
      for name in ('bias', 'log_scale'):
        _assign(getattr(torch_step.act_norm, name), getattr(act_norm, name))
      for name in ('permutation', 'sign', 'lower', 'upper', 'log_abs'):
        _assign(getattr(torch_step.conv, name), getattr(conv, name))
      net, torch_net = coupling.network, torch_step.coupling.network
      _assign(torch_net.conv_in, net.conv_in.kernel, kernel)
      _assign(torch_net.conv_hidden, net.conv_hidden.kernel, kernel)
      for norm in ('norm_in', 'norm_hidden'):
        for name in ('bias', 'log_scale'):
          _assign(getattr(getattr(torch_net, norm), name),
                  getattr(getattr(net, norm), name))
      _copy_zero_conv(net.conv_out, torch_net.conv_out)
  for split, torch_split in zip(flow.split_priors, model.split_priors):
    _copy_zero_conv(split.conditioner, torch_split)
  if flow.top_prior.learn:
    _assign(model.top_loc, flow.top_prior.loc)
    _assign(model.top_log_scale, flow.top_prior.log_scale)
  return model


def _copy_zero_conv(zero_conv, torch_zero_conv):
  _assign(torch_zero_conv.weight, zero_conv.kernel, (3, 2, 0, 1))
  _assign(torch_zero_conv.bias, zero_conv.bias)
  _assign(torch_zero_conv.log_scale, zero_conv.log_scale)


def make_torch_train_step(model, x, learning_rate=1e-4):
  """`() -> loss`: one Adam step on `-mean(model.log_prob(x))`.

  The same loss and optimiser as `make_train_step` (Adam, epsilon 1e-7 as
  Keras's), eager PyTorch: forward, `backward()`, `optimizer.step()`.
  """
  torch = importlib.import_module('torch')
  optimizer = torch.optim.Adam(
      [p for p in model.parameters() if p.requires_grad], lr=learning_rate,
      eps=1e-7)

  def step():
    optimizer.zero_grad(set_to_none=True)
    loss = -model.log_prob(x).mean()
    loss.backward()
    optimizer.step()
    return loss.detach()

  return step


def make_torch_sampler(model, batch_size, temperature=1.0, seed=0):
  """`() -> batch_size images`, a fresh draw each call."""
  torch = importlib.import_module('torch')
  generator = torch.Generator().manual_seed(seed)
  return lambda: model.sample(batch_size, temperature, generator=generator)


def setup(threads=None):
  """Readies the PyTorch contender: `(True, facts)`, or `(False, why it is skipped)`.

  With PyTorch installed, gives it `threads` intra-op threads (default:
  TensorFlow's, so both libraries use the same cores) and returns the facts
  for the record: version, threads, TensorFlow's threads, memory format.
  """
  torch = import_torch()
  if torch is None:
    return False, ('PyTorch is not installed: the PyTorch contender is '
                   f'skipped (install it with {INSTALL_HINT}).')
  tensorflow = tensorflow_threads()
  return True, {'version': torch.__version__,
                'threads': set_torch_threads(threads or tensorflow),
                'interop_threads': torch.get_num_interop_threads(),
                'tensorflow_threads': tensorflow,
                'memory_format': 'channels_last'}


def contenders(config, x, batch_size, seed=0):
  """`TorchGlow` on glow_tf's images `x`, initialised on them, and its timed calls.

  Returns:
    `(model, {'train': step, 'sample': sampler})`, channels-last.
  """
  images = to_torch_images(x, channels_last=True)
  model = build_torch_glow(config, seed=seed, channels_last=True)
  model.initialize(images)
  return model, {'train': make_torch_train_step(model, images),
                 'sample': make_torch_sampler(model, batch_size)}
