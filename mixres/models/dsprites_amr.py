"""The AMR authors' dSprites networks (Table 4), `config.model.arch='dsprites_amr'`.

What their runs built (architectures/dsprite_gd.py:13-23 for AE+GAN and AMR,
architectures/arch_dsprite_burgess-g_kyle_d_vae.py:10-21 for the beta-VAE): the generator is
Burgess et al.'s beta-VAE network as in their copy of konny/model.py:81-114 (BetaVAE_B), the
discriminator the spectral-norm net of konny/model.py:156-177.

- Encoder: four 4x4 stride-2 convolutions of 32 channels (64 -> 32 -> 16 -> 8 -> 4), ReLU, then
  dense 256, 256 (ReLU) and a linear code of `code_size` (z = 10). Their AE and AMR runs build it
  with `vae=False` (one code); the VAE run with `vae=True` (2z: mean, then the std head): our VAE
  asks for the doubled code_size itself.
- Decoder: dense 256, 256, 4*4*32 (ReLU), four 4x4 stride-2 transposed convolutions (32, 32, 32,
  image channels), ReLU between and tanh at the end: images in [-1, 1], so the reconstruction
  loss is `config.recon='bce_sum'` (mixres/objectives/losses.py) and a VAE's likelihood
  'bernoulli_mean'.
- Discriminator: four 4x4 stride-2 SN convolutions of `disc_channels` (their ndf: 32 in the AMR
  scripts; the AE+GAN script passes none, so it ran their default 64), SN dense 256, 256, 1,
  ReLU throughout. Theirs ends in a sigmoid under BCE; ours returns the logit and takes
  sigmoid-BCE on it, the same loss.
- Initialisation (their `weight_init`, konny/model.py:117-120, 132-136, also run on the
  discriminator): He normal, std sqrt(2 / fan_in), zero bias for every conv and dense layer;
  transposed convolutions are not in that list and keep torch's default, U(+-1/sqrt(fan_in)) for
  kernel and bias, where torch's fan_in of a transposed kernel counts output channels * 4 * 4.

For 1 image channel and code_size=10 the generator has 499,435 parameters (encoder 249,482,
decoder 249,953) and the discriminator 247,169 at 32 channels, 526,337 at 64
(tests/test_dsprites_amr.py has the arithmetic).
"""

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections

from mixres import config_checks as cc
from mixres.models.convnets import spectral
from mixres.models.convnets import torch_default_uniform

CHANNELS = 32  # Every generator conv (konny/model.py:82-88, 106-112).
HIDDEN = 256  # Both dense layers (konny/model.py:91-93, 99-101).
NUM_STAGES = 4
DOWNSAMPLING = 2**NUM_STAGES
TANH_OUTPUT = True  # The decoder's images are in [-1, 1] (mixres.models.tanh_output).

# He normal without truncation (torch's kaiming_normal, a = 0, fan_in).
_HE_NORMAL = nn.initializers.variance_scaling(2.0, 'fan_in', 'normal')
# torch's Conv2d(4, 2, 1) pads one pixel a side; its ConvTranspose2d(4, 2, 1) is a stride-1 conv
# of the 2x-dilated input padded by k - 1 - p = 2 a side. Both map a side s to s/2 or 2s exactly.
_CONV_PADDING = ((1, 1), (1, 1))
_DECONV_PADDING = ((2, 2), (2, 2))


def check_image_size(image_size: int) -> None:
  """Raises ValueError unless the four stride-2 stages divide the image side exactly."""
  if image_size < DOWNSAMPLING or image_size % DOWNSAMPLING:
    raise ValueError(
        f"config.data.image_size={image_size} does not fit config.model.arch='dsprites_amr': it "
        f'must be a multiple of {DOWNSAMPLING} (dSprites: 64)')


def spectral_kernel_init(config: ml_collections.ConfigDict):
  """D's spectrally normalised kernels start He normal as every other layer: their kaiming_init
  writes the raw weight that torch's spectral_norm divides on the fly (flax stores W / sigma)."""
  del config
  return _HE_NORMAL


def _conv(features: int) -> nn.Conv:
  return nn.Conv(features, (4, 4), strides=(2, 2), padding=_CONV_PADDING, kernel_init=_HE_NORMAL)


def _dense(features: int) -> nn.Dense:
  return nn.Dense(features, kernel_init=_HE_NORMAL)


def _deconv(features: int) -> nn.ConvTranspose:
  init = torch_default_uniform(features * 4 * 4)  # torch counts a transposed kernel's outputs.
  return nn.ConvTranspose(features, (4, 4), strides=(2, 2), padding=_DECONV_PADDING,
                          kernel_init=init, bias_init=init)


class Encoder(nn.Module):
  """Image (B, image_size, image_size, C) -> code (B, code_size)."""
  image_size: int = 64
  code_size: int = 10

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    check_image_size(self.image_size)
    chex.assert_shape(x, (None, self.image_size, self.image_size, None))
    for _ in range(NUM_STAGES):
      x = nn.relu(_conv(CHANNELS)(x))
    x = x.reshape(x.shape[0], -1)  # (B, 4 * 4 * 32) at 64x64.
    for _ in range(2):
      x = nn.relu(_dense(HIDDEN)(x))
    return _dense(self.code_size)(x)  # Linear code, (B, code_size).


class Decoder(nn.Module):
  """Code (B, code_size) -> image (B, image_size, image_size, channels) in [-1, 1]."""
  image_size: int = 64
  channels: int = 1

  @nn.compact
  def __call__(self, h: jax.Array) -> jax.Array:
    check_image_size(self.image_size)
    chex.assert_rank(h, 2)
    side = self.image_size // DOWNSAMPLING
    x = h
    for _ in range(2):
      x = nn.relu(_dense(HIDDEN)(x))
    x = nn.relu(_dense(side * side * CHANNELS)(x))
    x = x.reshape(x.shape[0], side, side, CHANNELS)  # (B, 4, 4, 32) at 64x64.
    for _ in range(NUM_STAGES - 1):
      x = nn.relu(_deconv(CHANNELS)(x))
    return jnp.tanh(_deconv(self.channels)(x))  # (B, image_size, image_size, channels)


class Discriminator(nn.Module):
  """Spectral norm on every conv and dense layer, ReLU, one logit per image.

  Power-iteration vectors live in the 'spectral' collection; pass `update_stats=True` (with
  `mutable=['spectral']`) in training so that the step returns them.
  """
  image_size: int = 64
  channels: int = 32

  @nn.compact
  def __call__(self, x: jax.Array, update_stats: bool = False) -> jax.Array:
    check_image_size(self.image_size)
    chex.assert_shape(x, (None, self.image_size, self.image_size, None))
    for _ in range(NUM_STAGES):
      x = nn.relu(spectral(_conv(self.channels), update_stats)(x))
    x = x.reshape(x.shape[0], -1)  # (B, 4 * 4 * channels) at 64x64.
    for _ in range(2):
      x = nn.relu(spectral(_dense(HIDDEN), update_stats)(x))
    logits = spectral(_dense(1), update_stats)(x)  # (B, 1)
    return logits[:, 0]  # (B,)


def build_autoencoder(config: ml_collections.ConfigDict, image_shape: tuple[int, int, int]
                      ) -> tuple[nn.Module, nn.Module]:
  """(encoder, decoder) for `config.model.arch='dsprites_amr'`; ValueError naming a bad field."""
  (size, _, channels), code_size = image_shape, config.model.code_size
  check_image_size(size)
  cc.check_integer(config, 'model.code_size', 1)
  return (Encoder(image_size=size, code_size=code_size),
          Decoder(image_size=size, channels=channels))


def build_discriminator(config: ml_collections.ConfigDict, image_shape: tuple[int, int, int]
                        ) -> nn.Module:
  """The discriminator for `config.model.arch='dsprites_amr'`, config.model.disc_channels wide."""
  check_image_size(image_shape[0])
  cc.check_integer(config, 'model.disc_channels', 1)
  return Discriminator(image_size=image_shape[0], channels=config.model.disc_channels)
