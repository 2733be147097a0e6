"""Deep InfoMax networks (Hjelm et al. 2019, A.2; docs/architectures.md#deep-infomax-networks).

- `Encoder`: the DCGAN-discriminator-like CIFAR-10 encoder: three 4x4 stride-2 convolutions
  (64, 128, 256 channels), a fully connected layer of 1024, then the 64-d code Y; BatchNorm and
  ReLU on every hidden layer. It returns every layer DIM and its probes read: the local map
  (the second conv, 8x8x128 for 32x32 inputs: "the next-to-last layer worked best for CIFAR10"),
  the last conv map, the fc features and Y.
- `Embedding`: one half of an "encode-and-dot" critic (Tables 8 and 9): a one-hidden-layer net
  plus a linear shortcut to `units` features, applied per location (1x1 convolutions are dense
  layers on the channel axis); the local-map net ends in a layer norm ("Block Layer Norm").
- `PriorDiscriminator`: the prior-matching MLP 1000-200-1 on codes (Table 10).
- DIM(G)'s other critics (config.dim.global_critic): `PairCritic`, the paper's MLP on
  concat(flatten(M), Y) (Table 6); `GlobalConvCritic` + `Projection`, the reference code's
  GlobalDIM, a dot product of the encoder's later layers on the local map with a linear map of Y.

BatchNorm state lives in the 'batch_stats' collection: `train=True` normalises with batch
statistics and, applied with `mutable=['batch_stats']`, returns the updated running averages;
`train=False` uses the running averages.
"""

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp

CONV_FEATURES = (64, 128, 256)
LOCAL_LAYER = 1  # Index in CONV_FEATURES of the local map: 8x8x128 at 32x32.
FC_UNITS = 1024
PRIOR_HIDDEN = (1000, 200)
# PyTorch's BatchNorm defaults (momentum 0.1 on the new batch = flax momentum 0.9, eps 1e-5):
# the reference code is PyTorch.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5
DOWNSAMPLING = 2**len(CONV_FEATURES)


def _batch_norm(train: bool) -> nn.BatchNorm:
  return nn.BatchNorm(use_running_average=not train, momentum=BN_MOMENTUM, epsilon=BN_EPSILON)


def _conv_bn_relu(x: jax.Array, features: int, train: bool) -> jax.Array:
  """Conv 4x4 stride 2 -> BN -> ReLU. Padding 1 each side = PyTorch's Conv2d(4, 2, padding=1):
  the side exactly halves. No bias: BatchNorm's shift makes it redundant."""
  x = nn.Conv(features, (4, 4), strides=(2, 2), padding=((1, 1), (1, 1)), use_bias=False)(x)
  return nn.relu(_batch_norm(train)(x))


def _fc_bn_relu(x: jax.Array, train: bool) -> jax.Array:
  return nn.relu(_batch_norm(train)(nn.Dense(FC_UNITS, use_bias=False)(x)))


def near_identity(key: jax.Array, shape: tuple[int, int], dtype=jnp.float32) -> jax.Array:
  """Shortcut kernel (n_in, units): U[-0.01, 0.01] with ones on the diagonal where units >= n_in.

  The reference code's init (the paper gives none): the shortcut starts as a noisy copy of the
  input into the first n_in units. Narrower shortcuts keep the default (LeCun normal) init.
  """
  n_in, units = shape
  if units < n_in:
    return nn.initializers.lecun_normal()(key, shape, dtype)
  kernel = jax.random.uniform(key, shape, dtype, -0.01, 0.01)
  return kernel.at[jnp.arange(n_in), jnp.arange(n_in)].set(1.0)


def check_image_size(image_size: int) -> None:
  """Raises ValueError unless the three stride-2 convolutions divide the side exactly."""
  if image_size < DOWNSAMPLING or image_size % DOWNSAMPLING:
    raise ValueError(f"config.data.image_size={image_size} does not fit objective 'dim': it "
                     f'must be a multiple of {DOWNSAMPLING} (CIFAR-10: 32)')


class Encoder(nn.Module):
  """Image (B, H, W, C) -> {'local': (B, H/4, W/4, 128), 'conv': (B, H/8, W/8, 256),
  'fc': (B, 1024), 'code': (B, code_size)}; the code is linear (prior matching adds a sigmoid).
  """
  code_size: int = 64

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> dict[str, jax.Array]:
    chex.assert_rank(x, 4)
    check_image_size(x.shape[1])
    maps = []
    for features in CONV_FEATURES:
      # Every map DIM reads is after BN and ReLU ("all feature maps used for DIM included the
      # final batch normalization and ReLU").
      x = _conv_bn_relu(x, features, train)
      maps.append(x)
    h = _fc_bn_relu(x.reshape(x.shape[0], -1), train)
    code = nn.Dense(self.code_size)(h)
    return {'local': maps[LOCAL_LAYER], 'conv': maps[-1], 'fc': h, 'code': code}


class Embedding(nn.Module):
  """Features (..., C) -> (..., units): relu(dense) -> dense, plus a linear shortcut.

  layer_norm: a final layer norm: the local-map net's "Block Layer Norm" (Table 9; Table 8, the
    code side, has none; the reference code's MI1x1ConvNet ends both sides in one,
    `mi_networks.py:89-93, 117`).
  batchnorm: BatchNorm before the hidden ReLU, as the reference code has (`mi_networks.py:82-87`;
    the paper's tables list none); its statistics are over every leading axis (batch and
    locations), as BatchNorm2d's over batch and pixels.
  """
  units: int = 2048
  layer_norm: bool = False
  batchnorm: bool = False

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    h = nn.Dense(self.units, use_bias=not self.batchnorm)(x)
    if self.batchnorm:
      h = _batch_norm(train)(h)
    h = nn.Dense(self.units)(nn.relu(h))
    # "A single hidden layer network with a linear shortcut" (A.2): no activation on it.
    h = h + nn.Dense(self.units, use_bias=False, kernel_init=near_identity, name='shortcut')(x)
    if self.layer_norm:
      h = nn.LayerNorm(epsilon=1e-5)(h)
    return h


class PriorDiscriminator(nn.Module):
  """Codes (B, d) -> logits (B,): is this a prior sample (1) or an encoder output (0)?"""

  @nn.compact
  def __call__(self, z: jax.Array) -> jax.Array:
    chex.assert_rank(z, 2)
    for units in PRIOR_HIDDEN:
      z = nn.relu(nn.Dense(units)(z))
    return nn.Dense(1)(z)[:, 0]


class GlobalConvCritic(nn.Module):
  """DIM(G) map side as the reference code builds it (`cortex_DIM/models/dim.py:104-116`):
  the encoder's own layers from the local map on, the last swapped for a linear layer of
  `units` (conv 128 and 256, 4x4 stride 2, BN, ReLU; fc 1024, BN, ReLU; dense `units`).
  Local map (B, H/4, W/4, C) -> (B, 1, units): one location.
  """
  units: int = 2048

  @nn.compact
  def __call__(self, local_map: jax.Array, train: bool = False) -> jax.Array:
    chex.assert_rank(local_map, 4)
    x = local_map
    for features in CONV_FEATURES[LOCAL_LAYER:]:
      x = _conv_bn_relu(x, features, train)
    x = _fc_bn_relu(x.reshape(x.shape[0], -1), train)
    return nn.Dense(self.units)(x)[:, None, :]


class Projection(nn.Module):
  """DIM(G) code side in the reference code: one linear layer Y -> `units`
  (`cortex_DIM/models/dim.py:120-124`: the encoder's last layer, widened)."""
  units: int = 2048

  @nn.compact
  def __call__(self, codes: jax.Array, train: bool = False) -> jax.Array:
    del train
    return nn.Dense(self.units)(codes)


class PairCritic(nn.Module):
  """DIM(G)'s critic in the paper (A.2, Table 6): T(M, Y) = MLP(concat(flatten(M), Y)), two
  hidden layers of `hidden` units with ReLUs, scored on every pair of the batch.

  (maps (B, Dm), codes (B, Dy)) -> scores (B, B), scores[i, j] = T(maps[j], codes[i]) (the
  estimators' u[i, j]). The first layer is one dense layer on the concatenation, computed as
  the sum of its two blocks: B + B products per batch instead of B x B.
  """
  hidden: int = 512

  @nn.compact
  def __call__(self, pair: tuple[jax.Array, jax.Array], train: bool = False) -> jax.Array:
    del train
    maps, codes = pair
    chex.assert_rank([maps, codes], 2)
    d_map = maps.shape[-1]
    kernel = self.param('kernel', nn.initializers.lecun_normal(),
                        (d_map + codes.shape[-1], self.hidden))
    bias = self.param('bias', nn.initializers.zeros, (self.hidden,))
    h = (codes @ kernel[d_map:])[:, None, :] + (maps @ kernel[:d_map])[None, :, :] + bias
    h = nn.relu(nn.Dense(self.hidden)(nn.relu(h)))  # (B codes, B maps, hidden)
    return nn.Dense(1)(h)[..., 0]
