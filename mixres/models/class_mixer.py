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
"""

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

MASKS = ('sample', 'relaxed', 'soft')


class ClassMixer(nn.Module):
  """embed(y): attributes (B, A) -> Bernoulli logits (B, num_channels); p = sigmoid(logits).

  Returns logits rather than p so that the relaxed mask reads logit(p) without rounding it
  through a sigmoid and back; `probabilities` gives p.
  """
  num_channels: int
  hidden: Sequence[int] = (64, 64)

  @nn.compact
  def __call__(self, y: jax.Array) -> jax.Array:
    x = y.astype(jnp.float32)
    for width in self.hidden:
      x = nn.relu(nn.Dense(width)(x))
    return nn.Dense(self.num_channels)(x)


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
  return m * h1 + (1 - m) * h2


def mix_labels(alpha: jax.Array, y1: jax.Array, y2: jax.Array) -> jax.Array:
  """y_mix = alpha y1 + (1 - alpha) y2, one alpha (B,) per example."""
  alpha = alpha.reshape((-1,) + (1,) * (y1.ndim - 1))
  return alpha * y1 + (1 - alpha) * y2
