"""Fully connected encoder, decoder and spectrally normalised discriminator for vector inputs.

GAIA's 2-D experiments (GAIA paper appendix 5.1; docs/architectures.md#mlps-for-the-2-d-toys)
use "6 fully connected layers per network with 256 units per layer, and a latent layer with two
neurons". We read
"per network" as each of encoder and decoder: the encoder is `mlp_layers` ReLU layers of
`mlp_width` units then a linear code of `code_size`; the decoder mirrors it and ends in a linear
layer (no output activation: inputs are points or pixels in about [-1, 1]). ReLU is the GAIA
code's default activation. Inputs of any shape are flattened, so the family also takes images;
it is the only family that takes the 2-D toys' points (B, 2).
"""

import math

import chex
import flax.linen as nn
import jax
import ml_collections

from mixres import config_checks as cc
from mixres.models.convnets import spectral


class Encoder(nn.Module):
  """Input (B, *shape) -> code (B, code_size)."""
  layers: int = 6
  width: int = 256
  code_size: int = 2

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    x = x.reshape(x.shape[0], -1)  # (B, D)
    for _ in range(self.layers):
      x = nn.relu(nn.Dense(self.width)(x))
    return nn.Dense(self.code_size)(x)  # Linear code.


class Decoder(nn.Module):
  """Code (B, code_size) -> output (B, *shape)."""
  shape: tuple[int, ...] = (2,)
  layers: int = 6
  width: int = 256

  @nn.compact
  def __call__(self, h: jax.Array) -> jax.Array:
    chex.assert_rank(h, 2)
    x = h
    for _ in range(self.layers):
      x = nn.relu(nn.Dense(self.width)(x))
    x = nn.Dense(math.prod(self.shape))(x)  # Linear output.
    return x.reshape(x.shape[0], *self.shape)


class Discriminator(nn.Module):
  """The encoder topology with spectral norm on every dense layer; one logit per input.

  Power-iteration vectors live in the 'spectral' collection; pass `update_stats=True` (with
  `mutable=['spectral']`) in training so that the step returns them.
  """
  layers: int = 6
  width: int = 256
  leaky_slope: float = 0.01

  @nn.compact
  def __call__(self, x: jax.Array, update_stats: bool = False) -> jax.Array:
    x = x.reshape(x.shape[0], -1)
    for _ in range(self.layers):
      x = nn.leaky_relu(spectral(nn.Dense(self.width), update_stats)(x), self.leaky_slope)
    return spectral(nn.Dense(1), update_stats)(x)[:, 0]  # (B,)


def _check(config: ml_collections.ConfigDict) -> None:
  for field, low in (('mlp_layers', 0), ('mlp_width', 1), ('code_size', 1)):
    cc.check_integer(config, f'model.{field}', low)


def build_autoencoder(config: ml_collections.ConfigDict, image_shape: tuple[int, ...]
                      ) -> tuple[nn.Module, nn.Module]:
  """(encoder, decoder) for `config.model.arch='mlp'`; inputs of shape `image_shape`."""
  _check(config)
  m = config.model
  return (Encoder(layers=m.mlp_layers, width=m.mlp_width, code_size=m.code_size),
          Decoder(shape=tuple(image_shape), layers=m.mlp_layers, width=m.mlp_width))


def build_discriminator(config: ml_collections.ConfigDict, image_shape: tuple[int, ...]
                        ) -> nn.Module:
  """The discriminator for `config.model.arch='mlp'`."""
  del image_shape  # Dense layers take any flattened size.
  _check(config)
  m = config.model
  return Discriminator(layers=m.mlp_layers, width=m.mlp_width, leaky_slope=m.leaky_slope)
