"""InfoGAN-style MNIST encoder, decoder and spectral-norm discriminator (AugIntAE report, 4.1).

The AugIntAE report (seeds/augintae_report.txt, Tables 2 and 3; Chen et al. 2016's MNIST nets)
for 28x28 images, with `depth` = 64 and s = image_size / 4 = 7:
- Encoder: 4x4 stride-2 conv (depth) -> LeakyReLU -> 4x4 stride-2 conv (2 depth) -> LeakyReLU
  -> norm -> flatten (2 depth s s) -> dense (depth s s = 3,136) -> LeakyReLU -> dense code_size.
- Decoder: dense (depth s s) -> ReLU -> norm -> dense (2 depth s s) -> ReLU -> norm -> reshape
  (s, s, 2 depth) -> 4x4 stride-2 transposed conv (depth) -> norm -> ReLU -> 4x4 stride-2
  transposed conv (channels) -> tanh. The report's table lists no ReLU after the first
  transposed conv; InfoGAN's generator has one, and two linear upsamplings in a row with only a
  norm between would waste a layer, so we keep it.
- Discriminator: the encoder with a 1-logit head, spectral norm on every layer and no norm (as
  every mixres D). The report's D, "identical to the encoder" (4.2.2), is the Encoder itself with
  code_size 1: config.augint.disc='encoder' (mixres/objectives/augint.py).

Any image side divisible by 4 works: MNIST at its native 28 (as in the report; configs/
augint_mnist.py sets data.image_size = 28) or at 32 (s = 8, the dense layers grow by 64/49).

Normalisation (`config.model.norm`), at the places the report's tables put it: 'batch' is the
report's BatchNorm (2D after convolutions, 1D after dense layers), with PyTorch's momentum 0.1
(flax's 0.9) and epsilon 1e-5. Called with `train=True` (and `mutable=['batch_stats']`) it
normalises by the batch and updates running averages, which `train=False` uses; only objectives
that carry the 'batch_stats' collection through their step take it (Objective.batch_norm). Its
running variance averages the biased batch variance, torch's the unbiased one (a factor
n / (n - 1): 1.008 for BatchNorm1d at batch 128). 'instance' normalises each example on its own
at the same places (InstanceNorm after convolutions, LayerNorm after dense layers, the
per-example analogue of BatchNorm1d), so any objective and evaluator can use it; 'none' drops
them.

For 1 channel, 28x28, depth 64 and code_size 10: the encoder has 19,836,042 parameters, the
decoder 19,860,865, the discriminator 19,807,553 (tests/test_augint.py has the arithmetic); the
two 6,272 x 3,136 dense layers hold 99% of them.
"""

import chex
import flax.linen as nn
import jax
import ml_collections

from mixres import config_checks as cc
from mixres.models.convnets import spectral

NORMS = ('instance', 'none', 'batch')
DOWNSAMPLING = 4  # Two stride-2 stages: 28 -> 14 -> 7.


def check_image_size(image_size: int) -> None:
  """Raises ValueError unless the two stride-2 stages divide the image side exactly."""
  if image_size < DOWNSAMPLING or image_size % DOWNSAMPLING:
    raise ValueError(
        f"config.data.image_size={image_size} does not fit config.model.arch='infogan': it must "
        f'be a multiple of {DOWNSAMPLING} (MNIST: 28 as in the report, or 32)')


# 'SAME' with a 4x4 kernel and stride 2 is PyTorch's Conv2d / ConvTranspose2d(4, 2, padding=1):
# the side halves (conv) or doubles (transposed conv) exactly.
def _conv(features: int) -> nn.Conv:
  return nn.Conv(features, (4, 4), strides=(2, 2), padding='SAME')


def _deconv(features: int) -> nn.ConvTranspose:
  return nn.ConvTranspose(features, (4, 4), strides=(2, 2), padding='SAME')


def _normalise(x: jax.Array, norm: str, train: bool) -> jax.Array:
  """The normalisation where the report has BatchNorm (module docstring)."""
  if norm == 'none':
    return x
  if norm == 'batch':  # Over every axis but the channels: BatchNorm2d on maps, 1d on vectors.
    return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5)(x)
  if x.ndim == 4:
    return nn.InstanceNorm(epsilon=1e-5)(x)
  return nn.LayerNorm(epsilon=1e-5)(x)


class Encoder(nn.Module):
  """Image (B, image_size, image_size, C) -> code (B, code_size)."""
  image_size: int = 28
  code_size: int = 10
  depth: int = 64
  leaky_slope: float = 0.01
  norm: str = 'instance'

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    check_image_size(self.image_size)
    chex.assert_shape(x, (None, self.image_size, self.image_size, None))
    side = self.image_size // DOWNSAMPLING
    x = nn.leaky_relu(_conv(self.depth)(x), self.leaky_slope)
    x = nn.leaky_relu(_conv(2 * self.depth)(x), self.leaky_slope)
    x = _normalise(x, self.norm, train)
    x = x.reshape(x.shape[0], -1)  # (B, s * s * 2 depth)
    x = nn.leaky_relu(nn.Dense(self.depth * side * side)(x), self.leaky_slope)
    return nn.Dense(self.code_size)(x)  # Linear code, (B, code_size).


class Decoder(nn.Module):
  """Code (B, code_size) -> image (B, image_size, image_size, channels) in (-1, 1)."""
  image_size: int = 28
  channels: int = 1
  depth: int = 64
  norm: str = 'instance'

  @nn.compact
  def __call__(self, h: jax.Array, train: bool = False) -> jax.Array:
    check_image_size(self.image_size)
    chex.assert_rank(h, 2)
    side = self.image_size // DOWNSAMPLING
    x = _normalise(nn.relu(nn.Dense(self.depth * side * side)(h)), self.norm, train)
    x = _normalise(nn.relu(nn.Dense(2 * self.depth * side * side)(x)), self.norm, train)
    x = x.reshape(x.shape[0], side, side, 2 * self.depth)
    x = nn.relu(_normalise(_deconv(self.depth)(x), self.norm, train))
    return nn.tanh(_deconv(self.channels)(x))  # Images live in [-1, 1].


class Discriminator(nn.Module):
  """The encoder topology with spectral norm on every layer; one logit per image.

  Power-iteration vectors live in the 'spectral' collection; pass `update_stats=True` (with
  `mutable=['spectral']`) in training so that the step returns them.
  """
  image_size: int = 28
  depth: int = 64
  leaky_slope: float = 0.01

  @nn.compact
  def __call__(self, x: jax.Array, update_stats: bool = False) -> jax.Array:
    check_image_size(self.image_size)
    chex.assert_shape(x, (None, self.image_size, self.image_size, None))
    side = self.image_size // DOWNSAMPLING
    act = lambda y: nn.leaky_relu(y, self.leaky_slope)
    x = act(spectral(_conv(self.depth), update_stats)(x))
    x = act(spectral(_conv(2 * self.depth), update_stats)(x))
    x = x.reshape(x.shape[0], -1)
    x = act(spectral(nn.Dense(self.depth * side * side), update_stats)(x))
    return spectral(nn.Dense(1), update_stats)(x)[:, 0]  # (B,)


def _check(config: ml_collections.ConfigDict, image_shape: tuple[int, int, int]) -> None:
  check_image_size(image_shape[0])
  cc.check_choice(config, 'model.norm', NORMS, what="a norm of config.model.arch='infogan'")
  for field in ('code_size', 'depth'):
    cc.check_integer(config, f'model.{field}', 1)


def build_autoencoder(config: ml_collections.ConfigDict, image_shape: tuple[int, int, int]
                      ) -> tuple[nn.Module, nn.Module]:
  """(encoder, decoder) for `config.model.arch='infogan'`; ValueError naming a bad field."""
  _check(config, image_shape)
  m, (size, _, channels) = config.model, image_shape
  return (Encoder(image_size=size, code_size=m.code_size, depth=m.depth,
                  leaky_slope=m.leaky_slope, norm=m.norm),
          Decoder(image_size=size, channels=channels, depth=m.depth, norm=m.norm))


def build_discriminator(config: ml_collections.ConfigDict, image_shape: tuple[int, int, int]
                        ) -> nn.Module:
  """The discriminator for `config.model.arch='infogan'`."""
  _check(config, image_shape)
  m = config.model
  return Discriminator(image_size=image_shape[0], depth=m.depth, leaky_slope=m.leaky_slope)
