"""Mixing functions for adversarial mixup resynthesis (AMR): how a batch's codes are combined.

An autoencoder encodes a batch into codes h = f(x) of shape (B, ...): (B, D) for flat codes or
(B, H, W, C) for feature maps (NHWC). A mixer pairs each example with k-1 random partners from
the same batch and combines their codes; the decoder then has to make the result look real.

- `mixup` (Eq. 4 / Eq. 6 of the paper): a convex combination with weights ~ Dirichlet(1,...,1)
  over the k examples, one weight vector per example (for k=2, alpha ~ U(0,1)).
- `bernoulli` (Eq. 5 / k-Bernoulli): each feature map (channel, broadcast over space) is copied
  whole from one of the k examples. k = 2 is Eq. 5: p ~ U(0,1) per example, m ~ Bernoulli(p)
  per channel. For k > 2 `draw` (config.bernoulli_draw) says how each channel's source is
  picked:
  - 'uniform' (default; the authors' code, `models/threegan.py:41-47`, their Table 4 "Bern 3"
    run `exps/dsprite/gan3fm_lamb1.sh`): every (example, channel) draws its source uniformly
    from the k examples, independently of the other channels;
  - 'dirichlet': per example pi ~ Dirichlet(1,...,1) (as k-mixup's weights), then every channel
    draws its source from Categorical(pi). At k = 2 this is exactly Eq. 5, so both choices
    give the same masks there.
  The two differ in spread, not in mean: at k = 3 and C = 10 channels the number of channels
  taken from one source has variance 20/9 = 2.22 ('uniform', Binomial(10, 1/3)) against
  65/9 = 7.22 ('dirichlet'), and 1/22 = 4.5% of 'dirichlet' mixes are one example unmixed.

Everything here is a pure function of an explicit PRNG key and is jit-compatible with `k`,
`draw`, `name` and `num_steps` static. Every mixer has the signature
`mix(key, hs, **params) -> mixed` and returns codes of the same shape and dtype as `hs`.
"""

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

Mixer = Callable[..., jax.Array]

# How a k-way Bernoulli mix (k > 2) picks each channel's source; see the module docstring.
BERNOULLI_DRAWS = ('uniform', 'dirichlet')
# k = 2: whose p the mask m ~ Bernoulli(p) uses. 'per_example': p ~ U(0,1) for each example (Eq. 5
# as we read it); 'per_batch': one p ~ U(0,1) for the whole batch, the authors' 'fm2' mixer that
# their Bern-2 runs use (models/twogan.py:94-111, exps/*/mixupfm2_*.sh).
BERNOULLI_PS = ('per_example', 'per_batch')


def validate_k(k: int) -> None:
  """Raises ValueError unless k is a Python/NumPy integer >= 2."""
  # bool is an int subclass; `k=True` is surely a config mistake, not "mix 1 example".
  is_int = isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_))
  if not is_int or k < 2:
    raise ValueError(f'config.k={k!r} must be an integer >= 2 (number of examples mixed)')


def validate_bernoulli_draw(draw: str) -> None:
  """Raises ValueError unless draw is one of BERNOULLI_DRAWS."""
  if draw not in BERNOULLI_DRAWS:
    raise ValueError(f'config.bernoulli_draw={draw!r} is not a k-way Bernoulli draw; choose one '
                     f'of: {", ".join(BERNOULLI_DRAWS)}')


def validate_bernoulli_p(p: str, k: int) -> None:
  """Raises ValueError unless p is one of BERNOULLI_PS ('per_batch' only at k = 2)."""
  if p not in BERNOULLI_PS:
    raise ValueError(f'config.bernoulli_p={p!r} is not a Bernoulli p; choose one of: '
                     f'{", ".join(BERNOULLI_PS)}')
  if p == 'per_batch' and k != 2:
    raise ValueError(f"config.bernoulli_p='per_batch' is the k = 2 mixer of the authors' code, "
                     f"not k={k}: use 'per_example' (k > 2 draws by config.bernoulli_draw)")


def _check_codes(hs: jax.Array) -> None:
  if hs.ndim < 2:
    raise ValueError(f'codes must have rank >= 2 (batch first), got shape {hs.shape}')


def partner_indices(key: jax.Array, batch_size: int, k: int) -> jax.Array:
  """k-1 independent random permutations of range(batch_size): (k-1, B) int32."""
  perm_keys = jax.random.split(key, k - 1)
  return jax.vmap(lambda kk: jax.random.permutation(kk, batch_size))(perm_keys)


def partners(key: jax.Array, hs: jax.Array, k: int) -> jax.Array:
  """Stacks hs with k-1 independent random permutations of its batch: (k, B, ...).

  sources[0] is hs itself, so every example is mixed with k-1 partners drawn from the batch;
  sources[j][b] = hs[partner_indices(key, B, k)[j - 1, b]].
  """
  perms = partner_indices(key, hs.shape[0], k)  # (k-1, B)
  return jnp.concatenate([hs[None], hs[perms]], axis=0)


def _split_mix_key(key: jax.Array) -> tuple[jax.Array, jax.Array]:
  """(partner key, weight or mask key): the one split every mixer makes of its key."""
  perm_key, draw_key = jax.random.split(key)
  return perm_key, draw_key


def mix_partner_indices(key: jax.Array, batch_size: int, k: int) -> jax.Array:
  """The (k-1, B) partner indices that every mixer in MIXERS pairs the batch with under `key`.

  For objectives that reuse the unsupervised mix's pairing (supervised AMR's reference variant
  mixes each example with the same partner twice: the authors' `swapgan.py:386-416` at 8187d92).
  """
  return partner_indices(_split_mix_key(key)[0], batch_size, k)


def _flat_dirichlet(key: jax.Array, k: int, batch_size: int) -> jax.Array:
  """Samples (B, k) weights ~ Dirichlet(1,...,1): normalised i.i.d. Exp(1) draws."""
  # Exactly Dirichlet(1,...,1) (Gamma(1) is Exp(1)), without the rejection loop that
  # jax.random.dirichlet runs for general concentrations and that is slow to compile.
  draws = jax.random.exponential(key, (batch_size, k))
  return draws / jnp.sum(draws, axis=-1, keepdims=True)


def mixup_weights(key: jax.Array, k: int, batch_size: int, ndim: int) -> jax.Array:
  """Per-example convex weights ~ Dirichlet(1,...,1) over k: shape (k, B, 1, ..., 1).

  Args:
    ndim: rank of the codes being mixed; the weights get ndim-1 trailing singleton axes so
      one weight scales a whole example.
  """
  weights = _flat_dirichlet(key, k, batch_size)  # (B, k)
  return weights.T.reshape((k, batch_size) + (1,) * (ndim - 1))


def bernoulli_masks(key: jax.Array, k: int, hs_shape: tuple[int, ...],
                    draw: str = 'uniform', p: str = 'per_example') -> jax.Array:
  """One-hot source selection per feature map: shape (k, B, 1, ..., 1, C), float32.

  The feature map is the last axis; the mask is shared over every middle (spatial) axis so a
  channel is taken whole from one example. For rank-2 codes (B, D) each feature is its own map.
  `draw` ('uniform' or 'dirichlet', see the module docstring) matters only for k > 2; `p`
  (BERNOULLI_PS) only for k = 2.
  """
  validate_bernoulli_draw(draw)
  validate_bernoulli_p(p, k)
  batch_size, num_channels = hs_shape[0], hs_shape[-1]
  pi_key, pick_key = jax.random.split(key)
  if draw == 'uniform' and k > 2:
    # The authors' k-way draw (threegan.py:45-47): one fair k-sided die per (example, channel),
    # the mask (B, k, C, 1, 1) there broadcast over space as here.
    source = jax.random.randint(pick_key, (batch_size, num_channels), 0, k)  # (B, C)
  else:
    # k = 2 always comes here, so Eq. 5 (p ~ U(0,1) per example) is the same under both draws.
    # (B, k), or (1, k) shared by the batch: at k = 2, (p, 1 - p) with p ~ U(0, 1).
    pi = _flat_dirichlet(pi_key, k, 1 if p == 'per_batch' else batch_size)
    # Categorical(pi) by inverse CDF: the source is the number of cumulative probabilities that
    # u has passed. Comparing only against the first k-1 partial sums keeps the index <= k-1
    # even when float rounding leaves the total slightly below 1. For k=2 this is m = [u < p].
    u = jax.random.uniform(pick_key, (batch_size, num_channels))  # (B, C)
    partial_sums = jnp.cumsum(pi, axis=-1)[:, :-1]  # (B, k-1)
    source = jnp.sum(u[:, :, None] >= partial_sums[:, None, :], axis=-1)  # (B, C)
  one_hot = jax.nn.one_hot(source, k, dtype=jnp.float32)  # (B, C, k)
  spatial = (1,) * (len(hs_shape) - 2)
  return jnp.moveaxis(one_hot, -1, 0).reshape((k, batch_size) + spatial + (num_channels,))


def convex_mix(alpha, a, b):
  """alpha a + (1 - alpha) b: the one convex mix of two arrays (codes, images, labels, masks).

  alpha is a scalar or an array whose axes lead a's, e.g. one weight per example (B,) or a
  per-channel mask already shaped (B, 1, ..., C); it gains trailing singleton axes to broadcast
  over the rest. Written as alpha a + (1 - alpha) b, not b + alpha (a - b), which rounds
  differently: this form gives exactly a at alpha = 1 and b at alpha = 0. Compiled, XLA:CPU
  fuses one of the products into the add, so even the operand order shows in the last bit: this
  is the order every caller wrote by hand before. Operators only: NumPy in gives NumPy out.
  """
  if np.ndim(alpha):
    alpha = alpha.reshape(np.shape(alpha) + (1,) * (np.ndim(a) - np.ndim(alpha)))
  return alpha * a + (1 - alpha) * b


def combine(sources: jax.Array, weights: jax.Array) -> jax.Array:
  """Sums weights * sources over the leading k axis: (k, B, ...) -> (B, ...), sources' dtype."""
  # Accumulate in the promoted dtype (weights are float32) so bfloat16 codes are not rounded
  # k times, then return the codes' own dtype.
  return jnp.sum(weights * sources, axis=0).astype(sources.dtype)


def mixup(key: jax.Array, hs: jax.Array, *, k: int = 2) -> jax.Array:
  """Convex combination of each code with k-1 batch partners, weights ~ Dirichlet(1,...,1)."""
  validate_k(k)
  _check_codes(hs)
  perm_key, weight_key = _split_mix_key(key)
  sources = partners(perm_key, hs, k)
  weights = mixup_weights(weight_key, k, hs.shape[0], hs.ndim)
  return combine(sources, weights)


def bernoulli(key: jax.Array, hs: jax.Array, *, k: int = 2, draw: str = 'uniform',
              p: str = 'per_example') -> jax.Array:
  """Each feature map copied whole from one of k batch examples (k-Bernoulli mixing).

  Args:
    draw: how each channel's source is picked for k > 2 (config.bernoulli_draw): 'uniform'
      (the authors' code) or 'dirichlet'; k = 2 is Eq. 5 either way.
    p: k = 2 only (config.bernoulli_p): 'per_example' or 'per_batch' (BERNOULLI_PS).
  """
  validate_k(k)
  _check_codes(hs)
  perm_key, mask_key = _split_mix_key(key)
  sources = partners(perm_key, hs, k)
  masks = bernoulli_masks(mask_key, k, hs.shape, draw, p)
  # One-hot weights make the sum exact: 1*x + 0*y == x, so every channel is a source channel.
  return combine(sources, masks)


MIXERS: dict[str, Mixer] = {'mixup': mixup, 'bernoulli': bernoulli}


def _unknown_mixer(name: str) -> ValueError:
  return ValueError(
      f'config.mixer={name!r} is not a mixer; choose one of: {", ".join(sorted(MIXERS))}')


def get_mixer(name: str) -> Mixer:
  """Looks a mixer up by its config name; unknown names raise ValueError listing the choices."""
  if name not in MIXERS:
    raise _unknown_mixer(name)
  return MIXERS[name]


def mixer_params(config) -> dict:
  """The keyword arguments config's mixer takes: k, and for 'bernoulli' the k-way draw.

  Validates them (one-line ValueErrors naming the field), so objectives call it at build time.
  """
  validate_k(config.k)
  validate_bernoulli_draw(config.bernoulli_draw)
  params = {'k': int(config.k)}
  if config.mixer == 'bernoulli':
    validate_bernoulli_p(config.bernoulli_p, int(config.k))
    params.update(draw=str(config.bernoulli_draw), p=str(config.bernoulli_p))
  return params


def interpolation_path(name: str, h1: jax.Array, h2: jax.Array, num_steps: int,
                       key: jax.Array) -> jax.Array:
  """Deterministic path from h1 to h2 for interpolation figures: (num_steps, B, ...).

  Step i has p = i / (num_steps - 1). 'mixup' gives (1-p) h1 + p h2. 'bernoulli' takes the
  first floor(p * C) channels of a random channel order (from key, shared over the batch and
  all steps, so channels switch one way and never back) from h2 and the rest from h1. Step 0 is
  exactly h1 and the last step exactly h2. `key` is unused by 'mixup'.
  """
  if name not in MIXERS:
    raise _unknown_mixer(name)
  if h1.shape != h2.shape:
    raise ValueError(f'h1 and h2 must have the same shape, got {h1.shape} and {h2.shape}')
  _check_codes(h1)
  steps_shape = (num_steps,) + (1,) * h1.ndim
  if name == 'mixup':
    p = jnp.linspace(0.0, 1.0, num_steps).reshape(steps_shape)
    # Not convex_mix(p, h2, h1): compiled, XLA:CPU fuses one product into the add, and which
    # one follows the operand order, so that form would move the figures' last bits.
    path = (1.0 - p) * h1[None] + p * h2[None]
    return path.astype(jnp.result_type(h1, h2))

  num_channels = h1.shape[-1]
  # floor(p * C) in integers: float p * C can land a hair below an integer (e.g. 2/9 * 9) and
  # floor to one channel too few.
  if num_steps > 1:
    counts = (jnp.arange(num_steps) * num_channels) // (num_steps - 1)  # (S,)
  else:
    counts = jnp.zeros((num_steps,), jnp.int32)  # linspace(0, 1, 1) == [0.]
  order = jax.random.permutation(key, num_channels)
  rank = jnp.argsort(order)  # rank[c]: position of channel c in the order
  from_h2 = rank[None, :] < counts[:, None]  # (S, C)
  from_h2 = from_h2.reshape((num_steps,) + (1,) * (h1.ndim - 1) + (num_channels,))
  return jnp.where(from_h2, h2[None], h1[None])
