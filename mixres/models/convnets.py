"""The 32x32 "ACAI-style" encoder, decoder and spectrally normalised discriminator.

Topology of the AMR reference code (docs/architectures.md#acai-style-networks):
`num_scales = log2(width / latent_width)` stages, each two 3x3 convolutions then a 2x resample,
channels `depth * 2**scale`. For width=32, latent_width=4, depth=16, latent=2 and 3 image
channels the generator (encoder + decoder) has 226,917 parameters and the discriminator 150,178.

Two choices follow the AMR authors' code (`architectures/arch_kyle.py` of
christopher-beckham/amr) when the config asks (`config.model.init`, `config.model.entry_padding`;
the paper-table configs do):
- init 'reference': their `Initializer` (arch_kyle.py:18-25, applied at 56 and 77) draws every
  weight of the encoder and decoder from N(0, std^2) with std = 1 / sqrt(1.04 * prod(shape[:-1]))
  of the torch layout (C_out, C_in, k, k), i.e. 1 / sqrt(1.04 C_out C_in k), and zeroes the
  biases. An instance norm's scale has torch shape (C,), whose shape[:-1] is empty, so it is drawn
  from N(0, 0.98^2) instead of starting at 1. In the discriminator the same applies to the
  unnormalised 1x1 entry conv only: the spectral-norm wrapper hides `weight` and `bias` from
  `Initializer`, so those convolutions keep torch's default, U(-1/sqrt(fan_in), 1/sqrt(fan_in))
  for weight and bias alike (kaiming_uniform with a = sqrt(5)).
- entry_padding 1: the entry 1x1 conv has `padding=1` (arch_kyle.py:36), so a 32x32 input
  becomes 34x34 (a frame of pure bias) and average pooling gives 34 -> 17 -> 8 -> 4; the number
  of parameters is unchanged.
"""

import math
from typing import Any, Callable

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections

from mixres import config_checks as cc

NORMS = ('instance', 'none')
INITS = ('flax', 'reference')  # See the module docstring.
LEAKY_SLOPE_OF_INIT = 0.2  # arch_kyle.py:18: Initializer's default slope, so 1 + 0.2^2 = 1.04.


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


def reference_normal(key: jax.Array, shape: tuple[int, ...], dtype=jnp.float32) -> jax.Array:
  """The AMR code's Initializer: N(0, 1 / (1.04 prod(torch_shape[:-1]))).

  A flax conv kernel (k, k, C_in, C_out) is torch's (C_out, C_in, k, k), whose shape[:-1] has
  product C_out * C_in * k; a flax vector (C,) is torch's (C,), product 1.
  """
  if len(shape) == 4:
    fan = shape[3] * shape[2] * shape[1]
  elif len(shape) == 1:
    fan = 1
  else:
    raise ValueError(f'reference_normal takes conv kernels and vectors, not shape {shape}')
  std = 1.0 / math.sqrt((1.0 + LEAKY_SLOPE_OF_INIT**2) * fan)
  return std * jax.random.normal(key, shape, dtype)


def torch_default_uniform(fan_in: int) -> Callable:
  """torch's default init of Conv2d, ConvTranspose2d and Linear weights and biases:
  U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
  bound = 1.0 / math.sqrt(fan_in)
  return lambda key, shape, dtype=jnp.float32: jax.random.uniform(key, shape, dtype, -bound,
                                                                  bound)


def _conv(features: int, kernel: int, init: str = 'flax', padding: Any = 'SAME',
          name: str | None = None) -> nn.Conv:
  """A conv of the generator (or D's unnormalised entry conv) under init `init`."""
  extra = {'kernel_init': reference_normal} if init == 'reference' else {}
  return nn.Conv(features, (kernel, kernel), padding=padding, name=name, **extra)


def _spectral_conv(features: int, fan_in: int, init: str) -> nn.Conv:
  """A conv that D wraps in spectral norm; 'reference' gives its bias torch's default init.

  Its kernel cannot be given one here: flax's SpectralNorm stores the normalised kernel W/sigma
  at init, so Objective.init redraws it (`spectral_kernel_init`, models.redraw_spectral_kernels).
  """
  if init == 'reference':
    return nn.Conv(features, (3, 3), padding='SAME', bias_init=torch_default_uniform(fan_in))
  return _conv(features, 3)


def _entry_conv(features: int, init: str, entry_padding: int) -> nn.Conv:
  """The first 1x1 conv; entry_padding 1 frames the image as the reference's padding=1 does."""
  pad = ((entry_padding, entry_padding),) * 2
  return _conv(features, 1, init, padding=pad)


class _ConvNormAct(nn.Module):
  """3x3 conv -> optional instance norm -> LeakyReLU."""
  features: int
  norm: str
  leaky_slope: float
  init_scheme: str = 'flax'

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    x = _conv(self.features, 3, self.init_scheme)(x)
    if self.norm == 'instance':
      scale = {'scale_init': reference_normal} if self.init_scheme == 'reference' else {}
      x = nn.InstanceNorm(epsilon=1e-5, **scale)(x)
    return nn.leaky_relu(x, self.leaky_slope)


class Encoder(nn.Module):
  """Image (B, width, width, C) -> code (B, latent_width, latent_width, latent)."""
  width: int = 32
  latent_width: int = 4
  depth: int = 16
  latent: int = 2
  leaky_slope: float = 0.01
  norm: str = 'instance'
  init_scheme: str = 'flax'
  entry_padding: int = 0

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    chex.assert_rank(x, 4)
    scales = num_scales(self.width, self.latent_width)
    x = _entry_conv(self.depth, self.init_scheme, self.entry_padding)(x)
    for scale in range(scales):
      for _ in range(2):
        x = _ConvNormAct(self.depth << scale, self.norm, self.leaky_slope, self.init_scheme)(x)
      x = nn.avg_pool(x, (2, 2), (2, 2))  # Floors odd sides: 34 -> 17 -> 8 -> 4.
    x = _ConvNormAct(self.depth << scales, self.norm, self.leaky_slope, self.init_scheme)(x)
    h = _conv(self.latent, 3, self.init_scheme)(x)  # Linear bottleneck: no norm, no activation.
    chex.assert_shape(h, (None, self.latent_width, self.latent_width, self.latent))
    return h


class Decoder(nn.Module):
  """Code (B, latent_width, latent_width, latent) -> image (B, width, width, channels)."""
  width: int = 32
  latent_width: int = 4
  depth: int = 16
  channels: int = 3
  leaky_slope: float = 0.01
  norm: str = 'instance'
  init_scheme: str = 'flax'

  @nn.compact
  def __call__(self, h: jax.Array) -> jax.Array:
    chex.assert_rank(h, 4)
    scales = num_scales(self.width, self.latent_width)
    x = h
    for scale in reversed(range(scales)):
      for _ in range(2):
        x = _ConvNormAct(self.depth << scale, self.norm, self.leaky_slope, self.init_scheme)(x)
      b, hh, ww, c = x.shape
      x = jax.image.resize(x, (b, 2 * hh, 2 * ww, c), 'nearest')
    x = _ConvNormAct(self.depth, self.norm, self.leaky_slope, self.init_scheme)(x)
    # No output activation: targets are in [-1, 1].
    return _conv(self.channels, 3, self.init_scheme)(x)


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
  init_scheme: str = 'flax'
  entry_padding: int = 0

  @nn.compact
  def __call__(self, x: jax.Array, update_stats: bool = False
               ) -> jax.Array | tuple[jax.Array, jax.Array]:
    chex.assert_rank(x, 4)
    scales = num_scales(self.width, self.latent_width)
    act = lambda y: nn.leaky_relu(y, self.leaky_slope)

    def sn(features: int, fan_in_channels: int):
      conv = _spectral_conv(features, 9 * fan_in_channels, self.init_scheme)
      return spectral(conv, update_stats)

    # The reference leaves the first 1x1 conv unnormalised.
    x = _entry_conv(self.depth, self.init_scheme, self.entry_padding)(x)
    previous = self.depth
    for scale in range(scales):
      for _ in range(2):
        x = act(sn(self.depth << scale, previous)(x))
        previous = self.depth << scale
      x = nn.avg_pool(x, (2, 2), (2, 2))
    features = act(sn(self.depth << scales, previous)(x))
    logits = jnp.mean(sn(self.latent, self.depth << scales)(features), axis=(1, 2, 3))  # (B,)
    return (logits, features) if self.with_features else logits


def spectral(layer: nn.Module, update_stats: bool) -> Callable[[jax.Array], jax.Array]:
  """`layer` with spectral norm, one power iteration per call, state in 'spectral'."""
  norm = nn.SpectralNorm(layer, n_steps=1, collection_name='spectral')
  return lambda x: norm(x, update_stats=update_stats)


def spectral_kernel_init(config: ml_collections.ConfigDict) -> Callable | None:
  """What D's spectrally normalised kernels start from: torch's default under 'reference'.

  torch.nn.Conv2d's default (kaiming_uniform, a = sqrt(5)) is U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
  variance scaling 1/3 over fan_in; None keeps flax's (the stored W / sigma).
  """
  if config.model.init == 'reference':
    return nn.initializers.variance_scaling(1 / 3, 'fan_in', 'uniform')
  return None


def check_model_fields(config: ml_collections.ConfigDict) -> None:
  """ValueError naming the field for a norm, init or entry padding the family cannot build."""
  m = config.model
  cc.check_choice(config, 'model.norm', NORMS, what='a norm')
  cc.check_choice(config, 'model.init', INITS, what='an initialisation')
  if m.entry_padding not in (0, 1):
    raise ValueError(f'config.model.entry_padding={m.entry_padding!r} must be 0 (32x32 stays '
                     '32x32) or 1 (the reference code: 34x34)')


def build_autoencoder(config: ml_collections.ConfigDict, image_shape: tuple[int, int, int]
                      ) -> tuple[nn.Module, nn.Module]:
  """(encoder, decoder) for `config.model.arch='acai'`; ValueError naming a bad field."""
  m, (width, _, channels) = config.model, image_shape
  check_model_fields(config)
  num_scales(width, m.latent_width)  # Fails early, naming the fields.
  shared = dict(width=width, latent_width=m.latent_width, depth=m.depth,
                leaky_slope=m.leaky_slope, init_scheme=m.init)
  return (Encoder(latent=m.latent, norm=m.norm, entry_padding=m.entry_padding, **shared),
          Decoder(channels=channels, norm=m.norm, **shared))


def build_discriminator(config: ml_collections.ConfigDict, image_shape: tuple[int, int, int]
                        ) -> nn.Module:
  """The discriminator for `config.model.arch='acai'`."""
  m = config.model
  check_model_fields(config)
  return Discriminator(width=image_shape[0], latent_width=m.latent_width, depth=m.depth,
                       latent=m.latent, leaky_slope=m.leaky_slope, init_scheme=m.init,
                       entry_padding=m.entry_padding)
