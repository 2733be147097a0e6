"""XLA's convolutions against PyTorch's (oneDNN) on the shapes of a config's networks.

  python benchmarks/conv_kernels.py --config=configs/amr_svhn.py

Where does the rest of the gap to eager PyTorch lie, once the step is compiled whole? This times
each network of the AMR step (encoder, decoder, discriminator) and each distinct convolution in
them on their own: forward, and forward plus backward (gradients of sum(y^2) with respect to the
input and the weights), jitted with XLA and eager in PyTorch (benchmarks/torch_amr.py's modules,
the same computation as `python benchmarks/paired.py --check` shows), best of 3 x --repeats
calls, the same process alternating the two. torch is an optional benchmark dependency (see
benchmarks/torch_amr.py).
"""

import time

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
from absl import app
from absl import flags
from ml_collections import config_flags

import mixres  # pylint: disable=unused-import  (its XLA flags, before the backend starts)
from mixres import objectives

import torch_amr  # benchmarks/torch_amr.py, beside this file.
from torch_amr import torch

_CONFIG = config_flags.DEFINE_config_file('config', 'configs/amr_svhn.py', 'Config file.')
_CHANNELS = flags.DEFINE_integer('channels', 3, 'Image channels.')
_REPEATS = flags.DEFINE_integer('repeats', 20, 'Calls per timing; the best of 3 timings counts.')


def best_ms(call, repeats: int) -> float:
  """Milliseconds a call, best of 3 timings of `repeats` calls (after one warm-up call)."""
  jax.block_until_ready(call())
  best = float('inf')
  for _ in range(3):
    start = time.perf_counter()
    for _ in range(repeats):
      out = call()
    jax.block_until_ready(out)
    best = min(best, (time.perf_counter() - start) / repeats)
  return best * 1e3


def forward_convs(apply, variables, x) -> list[tuple]:
  """(input shape, kernel shape, padding) of every convolution in `apply`'s forward pass."""
  jaxpr = jax.make_jaxpr(apply)(variables, x)
  found = []

  def walk(jaxpr):
    for eqn in jaxpr.eqns:
      if eqn.primitive.name == 'conv_general_dilated':
        found.append((tuple(eqn.invars[0].aval.shape), tuple(eqn.invars[1].aval.shape),
                      tuple(tuple(p) for p in eqn.params['padding'])))
      for sub in jax.extend.core.jaxprs_in_params(eqn.params):
        walk(sub)
  walk(jaxpr.jaxpr)
  return found


def xla_conv_ms(shape, kernel, padding, repeats):
  """(forward, forward + backward) ms of one NHWC/HWIO convolution compiled by XLA."""
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.standard_normal(shape), jnp.float32)
  w = jnp.asarray(rng.standard_normal(kernel) * 0.1, jnp.float32)

  def conv(x, w):
    return jax.lax.conv_general_dilated(x, w, (1, 1), padding,
                                        dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
  forward = jax.jit(conv)
  both = jax.jit(jax.grad(lambda x, w: jnp.sum(conv(x, w)**2), argnums=(0, 1)))
  return best_ms(lambda: forward(x, w), repeats), best_ms(lambda: both(x, w), repeats)


def torch_conv_ms(shape, kernel, padding, repeats):
  """The same convolution in PyTorch eager, NCHW."""
  (b, h, w_, c), (kh, kw, _, c_out) = shape, kernel
  x = torch.randn(b, c, h, w_, requires_grad=True)
  w = torch.randn(c_out, c, kh, kw, requires_grad=True)
  pad = tuple(lo for lo, _ in padding)

  def forward():
    with torch.no_grad():
      return torch.nn.functional.conv2d(x, w, padding=pad)

  def both():
    y = torch.nn.functional.conv2d(x, w, padding=pad)
    (y**2).sum().backward()
    return y
  return best_ms(forward, repeats), best_ms(both, repeats)


def main(argv):
  del argv
  config, channels, repeats = _CONFIG.value, _CHANNELS.value, _REPEATS.value
  size = config.data.image_size
  torch.set_num_threads(2)
  objective = objectives.get_objective(config, (size, size, channels))
  state = objective.init(jax.random.PRNGKey(0))
  torch_step = torch_amr.TorchStep(config, (size, size, channels))
  images = np.random.default_rng(0).uniform(-1, 1, (config.batch_size, size, size, channels)
                                            ).astype(np.float32)
  codes = jax.jit(lambda p, c, x: objective.networks['encoder'].apply({'params': p, **c}, x))(
      state.params['encoder'], state.collections.get('encoder', {}), images)
  inputs = {'encoder': images, 'decoder': np.asarray(codes), 'disc': images}
  torch_modules = {'encoder': torch_step.encoder, 'decoder': torch_step.decoder,
                   'disc': lambda x: torch_step.disc(x, update_stats=False)}
  print(f'{config.objective} networks, batch {config.batch_size}, {size}x{size}x{channels}, '
        f'd_h {config.model.latent * config.model.latent_width**2}; ms per call, best of 3 x {repeats}; forward / forward + '
        'backward\n')
  print('| network | XLA | PyTorch | XLA time / PyTorch time (fwd+bwd) |\n|---|---|---|---|')
  shapes = {}
  for name, x in inputs.items():
    variables = {'params': state.params[name], **state.collections.get(name, {})}

    def apply(variables, x, name=name):
      return objective.networks[name].apply(variables, x)
    loss = jax.jit(jax.grad(lambda v, x: jnp.sum(apply(v, x)**2), argnums=(0, 1)))
    forward = jax.jit(apply)
    xla = (best_ms(lambda: forward(variables, x), repeats),
           best_ms(lambda: loss(variables, x), repeats))
    tx = torch.from_numpy(np.ascontiguousarray(np.moveaxis(x, -1, 1)))
    module = torch_modules[name]

    def torch_forward():
      with torch.no_grad():
        return module(tx)

    def torch_both():
      y = module(tx.requires_grad_(True))
      (y**2).sum().backward()
      return y
    pt = (best_ms(torch_forward, repeats), best_ms(torch_both, repeats))
    print(f'| {name} | {xla[0]:.2f} / {xla[1]:.2f} | {pt[0]:.2f} / {pt[1]:.2f} | '
          f'{xla[1] / pt[1]:.2f} |')
    for conv in forward_convs(apply, variables, x):
      shapes[conv] = shapes.get(conv, 0) + 1
  print('\n| convolution (input, kernel) | in the networks | XLA | PyTorch | '
        'XLA time / PyTorch time (fwd+bwd) |\n|---|---|---|---|---|')
  for (shape, kernel, padding), count in sorted(shapes.items(), key=lambda s: -np.prod(s[0][0])):
    xla = xla_conv_ms(shape, kernel, padding, repeats)
    pt = torch_conv_ms(shape, kernel, padding, repeats)
    print(f'| {shape}, {kernel} | {count} | {xla[0]:.2f} / {xla[1]:.2f} | {pt[0]:.2f} / '
          f'{pt[1]:.2f} | {xla[1] / pt[1]:.2f} |')


if __name__ == '__main__':
  app.run(main)
