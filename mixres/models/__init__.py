"""Flax Linen modules: encoder/decoder families, discriminators, probe head.

`config.model.arch` picks the family; every objective builds its networks through the two
functions here, so adding a family is one module with `build_autoencoder` and
`build_discriminator` plus one line in `ARCHITECTURES`.
"""

import types

import flax.linen as nn
import ml_collections

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
  if arch not in ARCHITECTURES:
    raise ValueError(f'config.model.arch={arch!r} is not an architecture; choose one of: '
                     f'{", ".join(sorted(ARCHITECTURES))}')
  if len(image_shape) != 3 and arch != 'mlp':  # The 2-D toys give points; only 'mlp' takes them.
    raise ValueError(f'config.model.arch={arch!r} takes images (H, W, C), but '
                     f'config.data.name={config.data.name!r} gives inputs of shape {image_shape}')
  m = config.model
  if arch != 'acai' and (m.get('init', 'flax') != 'flax' or m.get('entry_padding', 0) != 0):
    raise ValueError(f'config.model.init={m.init!r} and config.model.entry_padding='
                     f'{m.entry_padding!r} are choices of the acai family, not of '
                     f"config.model.arch={arch!r}: use 'flax' and 0")
  return ARCHITECTURES[arch]


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
