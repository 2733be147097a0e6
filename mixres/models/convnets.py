"""The 32x32 "ACAI-style" encoder, decoder and spectrally normalised discriminator.

Topology follows REFERENCE.md section 1 (the AMR reference code): `num_scales =
log2(width / latent_width)` stages, each two 3x3 convolutions then a 2x resample, channels
`depth * 2**scale`. For width=32, latent_width=4, depth=16, latent=2 and 3 image channels the
generator (encoder + decoder) has 226,917 parameters and the discriminator 150,178.
"""

import math
from typing import Callable

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections

NORMS = ('instance', 'none')


def num_scales(width: int, latent_width: int) -> int:
  """Number of 2x down/up-sampling stages; raises ValueError if the sizes do not fit."""
  ratio = width / latent_width if latent_width > 0 else 0
  scales = round(math.log2(ratio)) if ratio >= 1 else -1
  if latent_width < 1 or scales < 1 or latent_width * 2**scales != width:
    raise ValueError(
        f'config.data.image_size={width} cannot be reached from '
        f'config.model.latent_width={latent_width}: image_size must be latent_width * 2**n '
        f'with n >= 1 (e.g. {max(latent_width, 1) * 2}, {max(latent_width, 1) * 4}, '
        f'{max(latent_width, 1) * 8})')
  return scales


def _conv(features: int, kernel: int, name: str | None = None) -> nn.Conv:
  return nn.Conv(features, (kernel, kernel), padding='SAME', name=name)


class _ConvNormAct(nn.Module):
  """3x3 conv -> optional instance norm -> LeakyReLU."""
  features: int
  norm: str
  leaky_slope: float

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    x = _conv(self.features, 3)(x)
    if self.norm == 'instance':
      x = nn.InstanceNorm(epsilon=1e-5)(x)
    return nn.leaky_relu(x, self.leaky_slope)


class Encoder(nn.Module):
  """Image (B, width, width, C) -> code (B, latent_width, latent_width, latent)."""
  width: int = 32
  latent_width: int = 4
  depth: int = 16
  latent: int = 2
  leaky_slope: float = 0.01
  norm: str = 'instance'

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    chex.assert_rank(x, 4)
    scales = num_scales(self.width, self.latent_width)
    x = _conv(self.depth, 1)(x)
    for scale in range(scales):
      for _ in range(2):
        x = _ConvNormAct(self.depth << scale, self.norm, self.leaky_slope)(x)
      x = nn.avg_pool(x, (2, 2), (2, 2))
    x = _ConvNormAct(self.depth << scales, self.norm, self.leaky_slope)(x)
    return _conv(self.latent, 3)(x)  # Linear bottleneck: no norm, no activation.


class Decoder(nn.Module):
  """Code (B, latent_width, latent_width, latent) -> image (B, width, width, channels)."""
  width: int = 32
  latent_width: int = 4
  depth: int = 16
  channels: int = 3
  leaky_slope: float = 0.01
  norm: str = 'instance'

  @nn.compact
  def __call__(self, h: jax.Array) -> jax.Array:
    chex.assert_rank(h, 4)
    scales = num_scales(self.width, self.latent_width)
    x = h
    for scale in reversed(range(scales)):
      for _ in range(2):
        x = _ConvNormAct(self.depth << scale, self.norm, self.leaky_slope)(x)
      b, hh, ww, c = x.shape
      x = jax.image.resize(x, (b, 2 * hh, 2 * ww, c), 'nearest')
    x = _ConvNormAct(self.depth, self.norm, self.leaky_slope)(x)
    return _conv(self.channels, 3)(x)  # No output activation: targets are in [-1, 1].


class Discriminator(nn.Module):
  """The encoder topology without normalisation, spectral norm on every 3x3 conv.

  Returns one logit per image: the mean of the final (latent_width, latent_width, latent) map.
  Power-iteration vectors live in the 'spectral' collection; pass `update_stats=True` (with
  `mutable=['spectral']`) in training so that the step returns them. With `with_features` it
  returns (logits, the last hidden map (B, latent_width, latent_width, depth * 2**scales)), the
  trunk an auxiliary classifier head branches from (mixres/models/auxiliary.py); the parameters
  are the same either way.
  """
  width: int = 32
  latent_width: int = 4
  depth: int = 16
  latent: int = 2
  leaky_slope: float = 0.01
  with_features: bool = False

  @nn.compact
  def __call__(self, x: jax.Array, update_stats: bool = False
               ) -> jax.Array | tuple[jax.Array, jax.Array]:
    chex.assert_rank(x, 4)
    scales = num_scales(self.width, self.latent_width)
    sn = lambda features: spectral(_conv(features, 3), update_stats)
    act = lambda y: nn.leaky_relu(y, self.leaky_slope)
    x = _conv(self.depth, 1)(x)  # The reference leaves the first 1x1 conv unnormalised.
    for scale in range(scales):
      for _ in range(2):
        x = act(sn(self.depth << scale)(x))
      x = nn.avg_pool(x, (2, 2), (2, 2))
    features = act(sn(self.depth << scales)(x))
    logits = jnp.mean(sn(self.latent)(features), axis=(1, 2, 3))  # (B,)
    return (logits, features) if self.with_features else logits


def spectral(layer: nn.Module, update_stats: bool) -> Callable[[jax.Array], jax.Array]:
  """`layer` with spectral norm, one power iteration per call, state in 'spectral'."""
  norm = nn.SpectralNorm(layer, n_steps=1, collection_name='spectral')
  return lambda x: norm(x, update_stats=update_stats)


def build_autoencoder(config: ml_collections.ConfigDict, image_shape: tuple[int, int, int]
                      ) -> tuple[nn.Module, nn.Module]:
  """(encoder, decoder) for `config.model.arch='acai'`; ValueError naming a bad field."""
  m, (width, _, channels) = config.model, image_shape
  if m.norm not in NORMS:
    raise ValueError(f'config.model.norm={m.norm!r} is not a norm; choose one of: '
                     f'{", ".join(NORMS)}')
  num_scales(width, m.latent_width)  # Fails early, naming the fields.
  shared = dict(width=width, latent_width=m.latent_width, depth=m.depth,
                leaky_slope=m.leaky_slope)
  return (Encoder(latent=m.latent, norm=m.norm, **shared),
          Decoder(channels=channels, norm=m.norm, **shared))


def build_discriminator(config: ml_collections.ConfigDict, image_shape: tuple[int, int, int]
                        ) -> nn.Module:
  """The discriminator for `config.model.arch='acai'`."""
  m = config.model
  return Discriminator(width=image_shape[0], latent_width=m.latent_width, depth=m.depth,
                       latent=m.latent, leaky_slope=m.leaky_slope)
