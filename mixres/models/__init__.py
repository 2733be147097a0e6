"""Flax Linen modules: encoder/decoder families, discriminators, probe head.

`config.model.arch` picks the family; every objective builds its networks through the two
functions here, so adding a family is one module with `build_autoencoder` and
`build_discriminator` plus one line in `ARCHITECTURES`.
"""

import types

import flax.linen as nn
import jax
import ml_collections

from mixres import config_checks as cc
from mixres.models import betavae
from mixres.models import convnets
from mixres.models import dsprites_amr
from mixres.models import infogan
from mixres.models import mlp

ARCHITECTURES: dict[str, types.ModuleType] = {
    'acai': convnets,  # 32x32 ACAI-style, code (B, latent_width, latent_width, latent).
    'betavae': betavae,  # 64x64 beta-VAE-style, code (B, code_size).
    'dsprites_amr': dsprites_amr,  # 64x64, the AMR authors' dSprites nets, tanh images.
    'infogan': infogan,  # 28x28 (any multiple of 4) InfoGAN-style MNIST nets, (B, code_size).
    'mlp': mlp,  # Any input flattened (the 2-D toys' points), code (B, code_size).
}


def _family(config: ml_collections.ConfigDict, image_shape: tuple[int, ...]) -> types.ModuleType:
  arch = config.model.arch
  cc.check_choice(config, 'model.arch', sorted(ARCHITECTURES), what='an architecture')
  if len(image_shape) != 3 and arch != 'mlp':  # The 2-D toys give points; only 'mlp' takes them.
    raise ValueError(f'config.model.arch={arch!r} takes images (H, W, C), but '
                     f'config.data.name={config.data.name!r} gives inputs of shape {image_shape}')
  m = config.model
  if arch != 'acai' and (m.get('init', 'flax') != 'flax' or m.get('entry_padding', 0) != 0):
    raise ValueError(f'config.model.init={m.init!r} and config.model.entry_padding='
                     f'{m.entry_padding!r} are choices of the acai family, not of '
                     f"config.model.arch={arch!r}: use 'flax' and 0")
  return ARCHITECTURES[arch]


def redraw_spectral_kernels(config: ml_collections.ConfigDict, key: jax.Array, params: dict,
                            spectral: dict) -> dict:
  """`params` with every spectrally normalised kernel drawn from the family's own initialiser.

  flax.linen.SpectralNorm writes W / sigma(W) into the params when it initialises, where torch's
  spectral norm (and the reference code) keeps the raw draw W and divides on the fly. The forward
  is the same either way (W / sigma is scale-free), but Adam's steps are a fixed size, so the
  weights' scale sets how fast D moves. A family that follows a torch reference says what its
  raw kernels start from (`spectral_kernel_init(config)`); the others keep flax's. The
  'spectral' collection names each wrapped kernel ('<layer>/kernel/u' under its SpectralNorm
  module, mirrored in the params' nesting).
  """
  family = ARCHITECTURES.get(config.model.arch)
  init = getattr(family, 'spectral_kernel_init', lambda config: None)(config)
  if init is None:
    return params
  params = jax.tree.map(lambda a: a, params)  # A copy to write into.
  paths = []

  def walk(tree, prefix):
    for name, value in tree.items():
      if hasattr(value, 'items'):
        walk(value, prefix if name.startswith('SpectralNorm_') else prefix + (name,))
      elif name.endswith('/u'):
        paths.append(prefix + tuple(name.split('/')[:-1]))

  walk(spectral, ())
  for i, path in enumerate(sorted(paths)):
    node = params
    for name in path[:-1]:
      node = node[name]
    kernel = node[path[-1]]
    node[path[-1]] = init(jax.random.fold_in(key, i), kernel.shape, kernel.dtype)
  return params


def tanh_output(config: ml_collections.ConfigDict) -> bool:
  """Whether `config.model.arch`'s decoder ends in tanh, i.e. its images are within [-1, 1].

  Losses that read the decoder's output as a probability ((y + 1) / 2: config.recon='bce_sum',
  config.vae.likelihood='bernoulli_mean') need one; the other families output unbounded values.
  """
  return getattr(ARCHITECTURES.get(config.model.arch), 'TANH_OUTPUT', False)


def build_autoencoder(config: ml_collections.ConfigDict, image_shape: tuple[int, int, int]
                      ) -> tuple[nn.Module, nn.Module]:
  """(encoder, decoder) of `config.model.arch` for images of shape (H, W, C)."""
  return _family(config, image_shape).build_autoencoder(config, tuple(image_shape))


def build_discriminator(config: ml_collections.ConfigDict, image_shape: tuple[int, int, int]
                        ) -> nn.Module:
  """The spectral-norm discriminator of `config.model.arch`: images -> logits (B,)."""
  return _family(config, image_shape).build_discriminator(config, tuple(image_shape))
