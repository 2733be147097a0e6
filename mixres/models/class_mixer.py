"""The supervised class mixer of the AMR paper (section 2.2, Figure 4): attributes -> a mask.

embed(y) is an MLP from an attribute vector y (B, A) to Bernoulli parameters p in [0, 1]^C, one
per feature map of the code (its last axis); a mask m ~ Bernoulli(p), broadcast over space as
the unsupervised Bernoulli mixer's (mixres/mixers.py), picks each feature map from h1 (m = 1)
or h2 (m = 0): mix = m h1 + (1 - m) h2.

A sampled mask has no gradient with respect to p, yet embed is trained by the generator's loss
through it; `mask` offers three ways (config.supervised.mask):
- 'sample' (default, the paper: "a Bernoulli mask m ~ Bernoulli(p) is sampled"): the
  straight-through estimator, m = hard + (p - stop_gradient(p)). Forward it is exactly the hard
  0/1 sample (the paper's mix copies whole feature maps); backward dm/dp = 1, as if m were p.
- 'relaxed': the relaxed Bernoulli (binary Concrete / Gumbel-sigmoid, Maddison et al. 2017;
  Jang et al. 2017): m = sigmoid((logit p + logistic noise) / temperature), in (0, 1), with
  the exact gradient of that relaxation. Low temperatures approach hard samples (and larger
  gradient variance).
- 'soft': the reference code's m = p, never sampled: a deterministic per-channel blend.

The authors' supervised loop (config.supervised.variant='reference'; 8187d92 `swapgan.py`,
`architectures/discriminators.py`) adds three pieces kept here: an embed whose last layer is
followed by a ReLU (`final_relu`; discriminators.py:364-371, where their own comment calls it a
bug), so p = sigmoid(ReLU(.)) >= 1/2; labels crossed over attribute by attribute
(`crossover_labels`) rather than convexly mixed; and a prior pulling the mask's channel count
towards C/2 (`mask_count_prior`).
"""

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from mixres import mixers

MASKS = ('sample', 'relaxed', 'soft')


class ClassMixer(nn.Module):
  """embed(y): attributes (B, A) -> Bernoulli logits (B, num_channels); p = sigmoid(logits).

  Returns logits rather than p so that the relaxed mask reads logit(p) without rounding it
  through a sigmoid and back; `probabilities` gives p.
  """
  num_channels: int
  hidden: Sequence[int] = (64, 64)
  # The reference embed's trailing ReLU (discriminators.py:370): logits >= 0, so p >= 1/2 and
  # every feature map leans towards h1.
  final_relu: bool = False

  @nn.compact
  def __call__(self, y: jax.Array) -> jax.Array:
    x = y.astype(jnp.float32)
    for width in self.hidden:
      x = nn.relu(nn.Dense(width)(x))
    logits = nn.Dense(self.num_channels)(x)
    return nn.relu(logits) if self.final_relu else logits


def probabilities(logits: jax.Array) -> jax.Array:
  """p = sigmoid(embed logits), in [0, 1]."""
  return jax.nn.sigmoid(logits)


def mask(key: jax.Array, logits: jax.Array, mode: str, temperature: float = 0.5) -> jax.Array:
  """A per-feature-map mask (B, C) from embed's logits (B, C); see the module docstring."""
  p = probabilities(logits)
  if mode == 'soft':
    return p
  if mode == 'sample':
    hard = (jax.random.uniform(key, p.shape) < p).astype(p.dtype)
    # hard + 0 forward (exactly 0/1, unlike p + (hard - p)); the gradient of p backward.
    return hard + (p - jax.lax.stop_gradient(p))
  if mode == 'relaxed':
    u = jax.random.uniform(key, p.shape, minval=1e-6, maxval=1.0 - 1e-6)
    noise = jnp.log(u) - jnp.log1p(-u)  # Logistic(0, 1): the difference of two Gumbels.
    return jax.nn.sigmoid((logits + noise) / temperature)
  raise ValueError(f'config.supervised.mask={mode!r} is not a mask; choose one of: '
                   f'{", ".join(MASKS)}')


def apply_mask(m: jax.Array, h1: jax.Array, h2: jax.Array) -> jax.Array:
  """m h1 + (1 - m) h2, the mask (B, C) broadcast over the middle (spatial) axes of (B, ..., C)."""
  m = m.reshape((m.shape[0],) + (1,) * (h1.ndim - 2) + (m.shape[-1],)).astype(h1.dtype)
  return mixers.convex_mix(m, h1, h2)


def crossover_labels(key: jax.Array, y1: jax.Array, y2: jax.Array) -> jax.Array:
  """y_mix (B, A): each attribute of each example copied from y1 or y2 by a fair coin.

  The reference's y_mix (swapgan.py:412-415 at 8187d92) draws c ~ Bernoulli(u), u ~ U(0, 1),
  per (example, attribute); marginally that is exactly Bernoulli(1/2), independent entries.
  """
  take_first = jax.random.bernoulli(key, 0.5, y1.shape)
  return jnp.where(take_first, y1, y2).astype(jnp.result_type(y1, y2))


def mask_count_prior(m: jax.Array) -> jax.Array:
  """mean over the batch of (sum_c m - C/2)^2 for a mask m (B, C): half the maps from each code.

  The reference's h_mask_prior (swapgan.py:422 at 8187d92), weighted there by 1e-4 (line 79).
  """
  return jnp.mean((jnp.sum(m, axis=-1) - m.shape[-1] / 2) ** 2)
