"""The 64x64 "beta-VAE-style" encoder, decoder and spectrally normalised discriminator.

The AMR paper's dSprites runs (Table 4; docs/architectures.md#beta-vae-style-networks) use
"beta-VAE-style" networks without listing them; this is the usual convolutional net of that line
of work (Higgins et al. 2017; Burgess et al. 2018 and Kim & Mnih 2018 use close variants on
dSprites): four 4x4 stride-2 convolutions (32, 32, 64, 64 channels), a dense layer of 256, then
the code; the decoder mirrors it with transposed convolutions. The code is a flat vector of
`code_size` numbers (dSprites: z = 10) and deterministic: an autoencoder has no log-variance
head.

The networks the authors actually ran are in mixres/models/dsprites_amr.py ('dsprites_amr': 32
channels throughout, two dense layers, tanh output, a ReLU discriminator); this family stays a
choice of its own.

For 1 image channel and code_size=10 the generator (encoder + decoder) has 761,675 parameters
and the discriminator 378,049 (tests/test_betavae.py has the arithmetic).
"""

import chex
import flax.linen as nn
import jax
import ml_collections

from mixres import config_checks as cc
from mixres.models.convnets import spectral

# Each 4x4 stride-2 conv halves the side: 64 -> 32 -> 16 -> 8 -> 4.
CONV_FEATURES = (32, 32, 64, 64)
DECONV_FEATURES = (64, 32, 32)  # The last transposed conv maps to the image channels.
HIDDEN = 256
DOWNSAMPLING = 2**len(CONV_FEATURES)


def check_image_size(image_size: int) -> None:
  """Raises ValueError unless the four stride-2 stages divide the image side exactly."""
  if image_size < DOWNSAMPLING or image_size % DOWNSAMPLING:
    raise ValueError(
        f"config.data.image_size={image_size} does not fit config.model.arch='betavae': it "
        f'must be a multiple of {DOWNSAMPLING} (dSprites: 64)')


# 'SAME' with a 4x4 kernel and stride 2 pads one pixel on each side (checked against the
# transpose of the conv), i.e. PyTorch's Conv2d / ConvTranspose2d(4, 2, padding=1) of the usual
# implementations; outputs are exactly size/2 (conv) or size*2 (transposed conv).
def _conv(features: int) -> nn.Conv:
  return nn.Conv(features, (4, 4), strides=(2, 2), padding='SAME')


def _deconv(features: int) -> nn.ConvTranspose:
  return nn.ConvTranspose(features, (4, 4), strides=(2, 2), padding='SAME')


class Encoder(nn.Module):
  """Image (B, image_size, image_size, C) -> code (B, code_size)."""
  image_size: int = 64
  code_size: int = 10

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    check_image_size(self.image_size)
    chex.assert_shape(x, (None, self.image_size, self.image_size, None))
    for features in CONV_FEATURES:
      x = nn.relu(_conv(features)(x))
    x = x.reshape(x.shape[0], -1)  # (B, 4 * 4 * 64) at 64x64.
    x = nn.relu(nn.Dense(HIDDEN)(x))
    return nn.Dense(self.code_size)(x)  # Linear code, (B, code_size).


class Decoder(nn.Module):
  """Code (B, code_size) -> image (B, image_size, image_size, channels)."""
  image_size: int = 64
  channels: int = 1

  @nn.compact
  def __call__(self, h: jax.Array) -> jax.Array:
    check_image_size(self.image_size)
    chex.assert_rank(h, 2)
    side = self.image_size // DOWNSAMPLING
    x = nn.relu(nn.Dense(HIDDEN)(h))
    x = nn.relu(nn.Dense(side * side * CONV_FEATURES[-1])(x))
    x = x.reshape(x.shape[0], side, side, CONV_FEATURES[-1])  # (B, 4, 4, 64) at 64x64.
    for features in DECONV_FEATURES:
      x = nn.relu(_deconv(features)(x))
    # No output activation: targets are in [-1, 1] (the papers' sigmoid/Bernoulli likelihood
    # belongs to their [0, 1] VAE setting).
    return _deconv(self.channels)(x)  # (B, image_size, image_size, channels)


class Discriminator(nn.Module):
  """The encoder topology with spectral norm on every conv and dense layer; one logit per image.

  Power-iteration vectors live in the 'spectral' collection; pass `update_stats=True` (with
  `mutable=['spectral']`) in training so that the step returns them.
  """
  image_size: int = 64
  leaky_slope: float = 0.01

  @nn.compact
  def __call__(self, x: jax.Array, update_stats: bool = False) -> jax.Array:
    check_image_size(self.image_size)
    chex.assert_shape(x, (None, self.image_size, self.image_size, None))
    act = lambda y: nn.leaky_relu(y, self.leaky_slope)
    for features in CONV_FEATURES:
      x = act(spectral(_conv(features), update_stats)(x))
    x = x.reshape(x.shape[0], -1)  # (B, 4 * 4 * 64) at 64x64.
    x = act(spectral(nn.Dense(HIDDEN), update_stats)(x))
    logits = spectral(nn.Dense(1), update_stats)(x)  # (B, 1)
    return logits[:, 0]  # (B,)


def build_autoencoder(config: ml_collections.ConfigDict, image_shape: tuple[int, int, int]
                      ) -> tuple[nn.Module, nn.Module]:
  """(encoder, decoder) for `config.model.arch='betavae'`; ValueError on sizes it cannot take."""
  (size, _, channels), code_size = image_shape, config.model.code_size
  check_image_size(size)
  cc.check_integer(config, 'model.code_size', 1, why='the length of the code')
  return (Encoder(image_size=size, code_size=code_size),
          Decoder(image_size=size, channels=channels))


def build_discriminator(config: ml_collections.ConfigDict, image_shape: tuple[int, int, int]
                        ) -> nn.Module:
  """The discriminator for `config.model.arch='betavae'`."""
  check_image_size(image_shape[0])
  return Discriminator(image_size=image_shape[0], leaky_slope=config.model.leaky_slope)
