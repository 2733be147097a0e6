"""Tests for mixres/mixers.py: shapes, the sampling distributions of Eqs. 4-6, exactness."""

import itertools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mixres import mixers

SHAPES = {2: (8, 6), 4: (8, 4, 4, 6)}  # rank -> code shape (B, ...)
MANY = 20000  # draws for the distribution tests; std of a mean of U(0,1) ~ 0.002


def _codes(shape, dtype=jnp.float32, seed=0):
  return jax.random.normal(jax.random.PRNGKey(seed), shape).astype(dtype)


# ----------------------------------------------------------------------------- shapes, jit


@pytest.mark.parametrize('name,rank,k',
                         list(itertools.product(['mixup', 'bernoulli'], [2, 4], [2, 3, 8])))
def test_mixer_shape_and_dtype(name, rank, k):
  hs = _codes(SHAPES[rank])
  mixed = mixers.get_mixer(name)(jax.random.PRNGKey(1), hs, k=k)
  chex.assert_shape(mixed, hs.shape)
  assert mixed.dtype == hs.dtype
  chex.assert_tree_all_finite(mixed)


@pytest.mark.parametrize('name,rank,dtype', [
    ('mixup', 4, jnp.float32), ('bernoulli', 4, jnp.float32),
    ('mixup', 2, jnp.bfloat16), ('bernoulli', 2, jnp.bfloat16)])
def test_mixer_jit_matches_eager(name, rank, dtype):
  hs = _codes(SHAPES[rank], dtype)
  mix = mixers.get_mixer(name)
  chex.clear_trace_counter()  # the counter is per function, shared by the parametrizations
  # One trace for k static: new keys and new code values must not retrace.
  jitted = jax.jit(chex.assert_max_traces(mix, n=1), static_argnames='k')
  for seed in (1, 2):
    key = jax.random.PRNGKey(seed)
    eager, compiled = mix(key, hs * seed, k=3), jitted(key, hs * seed, k=3)
    assert compiled.dtype == hs.dtype
    chex.assert_trees_all_close(eager.astype(jnp.float32), compiled.astype(jnp.float32),
                                atol=1e-6)


@pytest.mark.parametrize('rank,k', list(itertools.product([2, 4], [2, 3, 8])))
def test_helper_shapes(rank, k):
  shape = SHAPES[rank]
  key = jax.random.PRNGKey(0)
  chex.assert_shape(mixers.partners(key, _codes(shape), k), (k,) + shape)
  chex.assert_shape(mixers.mixup_weights(key, k, shape[0], rank),
                    (k, shape[0]) + (1,) * (rank - 1))
  chex.assert_shape(mixers.bernoulli_masks(key, k, shape),
                    (k, shape[0]) + (1,) * (rank - 2) + (shape[-1],))


# ----------------------------------------------------------------------------- partners


@pytest.mark.parametrize('k', [2, 3, 8])
def test_partners_are_permutations_of_the_batch(k):
  hs = jnp.arange(np.prod(SHAPES[2]), dtype=jnp.float32).reshape(SHAPES[2])  # rows distinct
  sources = np.asarray(mixers.partners(jax.random.PRNGKey(3), hs, k))
  np.testing.assert_array_equal(sources[0], hs)
  rows = [tuple(r) for r in np.asarray(hs)]
  for j in range(1, k):
    # Whole rows move together (a permutation along axis 0, not per element).
    assert sorted(tuple(r) for r in sources[j]) == sorted(rows)
  # Independent permutations: with 8! orderings they should not coincide, nor be identity.
  assert any(not np.array_equal(sources[j], sources[0]) for j in range(1, k))
  if k > 2:
    assert not np.array_equal(sources[1], sources[2])


# ----------------------------------------------------------------------------- mixup


@pytest.mark.parametrize('k', [2, 3, 8])
def test_mixup_weights_are_dirichlet_one(k):
  w = np.asarray(mixers.mixup_weights(jax.random.PRNGKey(k), k, MANY, 2))[..., 0]  # (k, N)
  assert w.min() >= 0.0 and w.max() <= 1.0
  np.testing.assert_allclose(w.sum(axis=0), 1.0, atol=1e-5)
  # Dirichlet(1,...,1) marginals are Beta(1, k-1): mean 1/k, variance (k-1) / (k^2 (k+1)).
  np.testing.assert_allclose(w.mean(axis=1), 1.0 / k, atol=0.01)
  np.testing.assert_allclose(w.var(axis=1), (k - 1) / (k**2 * (k + 1)), rtol=0.05)


def test_mixup_weights_k2_alpha_is_uniform():
  alpha = np.asarray(mixers.mixup_weights(jax.random.PRNGKey(7), 2, MANY, 4))[0].ravel()
  assert abs(alpha.mean() - 0.5) < 0.01
  assert abs(alpha.var() - 1.0 / 12.0) < 0.003
  # Deciles of U(0,1): each tenth of [0,1] holds ~10% of the draws.
  hist, _ = np.histogram(alpha, bins=10, range=(0.0, 1.0))
  np.testing.assert_allclose(hist / MANY, 0.1, atol=0.01)


@pytest.mark.parametrize('k', [2, 3, 8])
def test_mixup_is_convex_combination_of_partners(k):
  batch_size = SHAPES[4][0]  # shapes shared across tests reuse compiled ops
  # h_i = i everywhere, so mixed[b] = sum_j w[j, b] * partner_j(b) is readable directly.
  hs = jnp.broadcast_to(jnp.arange(batch_size, dtype=jnp.float32)[:, None, None, None],
                        SHAPES[4])
  key = jax.random.PRNGKey(11)
  mixed = np.asarray(mixers.mixup(key, hs, k=k))
  # One weight vector per example: the mix is constant over every non-batch axis.
  np.testing.assert_allclose(mixed, mixed[:, :1, :1, :1] * np.ones_like(mixed), atol=1e-5)
  assert mixed.min() >= 0.0 and mixed.max() <= batch_size - 1
  # Same key path as mixup: split into (permutation key, weight key).
  perm_key, weight_key = jax.random.split(key)
  sources = np.asarray(mixers.partners(perm_key, hs, k))[:, :, 0, 0, 0]  # (k, B) = indices
  weights = np.asarray(mixers.mixup_weights(weight_key, k, batch_size, 4))[:, :, 0, 0, 0]
  np.testing.assert_allclose(mixed[:, 0, 0, 0], (weights * sources).sum(axis=0), atol=1e-4)
  # Each mix lies between its own sources (the convex hull of the k codes).
  assert np.all(mixed[:, 0, 0, 0] >= sources.min(axis=0) - 1e-4)
  assert np.all(mixed[:, 0, 0, 0] <= sources.max(axis=0) + 1e-4)


def test_combine_is_weighted_sum():
  sources = jnp.array([[[1.0, 2.0]], [[10.0, 20.0]], [[100.0, 200.0]]])  # (k=3, B=1, D=2)
  weights = jnp.array([0.5, 0.25, 0.25]).reshape(3, 1, 1)
  chex.assert_trees_all_close(mixers.combine(sources, weights), jnp.array([[28.0, 56.0]]))


# ----------------------------------------------------------------------------- bernoulli


@pytest.mark.parametrize('k', [2, 3, 8])
def test_bernoulli_masks_one_hot_and_whole_feature_maps(k):
  masks = np.asarray(mixers.bernoulli_masks(jax.random.PRNGKey(5), k, SHAPES[4]))
  assert set(np.unique(masks)) <= {0.0, 1.0}
  np.testing.assert_array_equal(masks.sum(axis=0), 1.0)  # exactly one source per map
  # Middle axes are singletons, so one choice covers the whole spatial map of a channel.
  assert masks.shape[2:4] == (1, 1)


@pytest.mark.parametrize('k', [2, 3, 8])
def test_bernoulli_source_rates(k):
  channels = 64
  masks = np.asarray(mixers.bernoulli_masks(jax.random.PRNGKey(k), k, (MANY, channels)))
  share = masks.mean(axis=2)  # (k, N): per example, fraction of channels from each source
  np.testing.assert_allclose(share.mean(axis=1), 1.0 / k, atol=0.01)
  if k == 2:
    # Eq. 5: one p ~ U(0,1) per example, then m ~ Bernoulli(p) per channel. The per-example
    # keep fraction then has variance Var(p) + E[p(1-p)]/C = 1/12 + 1/(6C); a p per element
    # would give 1/(4C), and one p per batch ~0 (all examples share it).
    np.testing.assert_allclose(share[0].var(), 1.0 / 12 + 1.0 / (6 * channels), rtol=0.06)


def test_bernoulli_p_is_per_example_not_per_batch():
  # A single p for the whole batch would give every example the same expected keep-rate; with
  # a p per example the keep fractions of examples within one batch spread like U(0,1).
  masks = np.asarray(mixers.bernoulli_masks(jax.random.PRNGKey(9), 2, (512, 256)))
  keep = masks[0].mean(axis=1)
  assert keep.std() > 0.25  # U(0,1) has std 0.289; per-batch p would give ~0.03


def _source_counts(draw=None, k=3, channels=10, seed=0):
  """(k, N): per example, how many of its channels each source supplies (None: the default)."""
  key, shape = jax.random.PRNGKey(seed), (MANY, channels)
  masks = (mixers.bernoulli_masks(key, k, shape) if draw is None
           else mixers.bernoulli_masks(key, k, shape, draw))
  return np.asarray(masks).sum(axis=2)


def test_k_way_bernoulli_uniform_draw_is_the_authors():
  """docs/faithfulness.md#a3, threegan.py:45-47: every channel's source is a fair die,
  independent per channel.

  Count of channels from one source, k = 3, C = 10: Binomial(10, 1/3), mean 10/3 and variance
  C p (1 - p) = 10 * 1/3 * 2/3 = 20/9 = 2.222. The sample variance of N = 20,000 examples has
  std sqrt((mu4 - sigma^4) / N) ~ sqrt(9.1 / N) = 0.021; rtol 0.05 is ~5 of them.
  """
  counts = _source_counts()  # The default draw is the authors'.
  np.testing.assert_allclose(counts.mean(axis=1), 10 / 3, atol=0.05)
  np.testing.assert_allclose(counts.var(axis=1), 20 / 9, rtol=0.05)
  np.testing.assert_array_equal(counts, _source_counts('uniform'))
  # All ten channels from one example: 3 (1/3)^10 = 5e-5, i.e. ~1 in 20,000 mixes.
  assert (counts == 10).any(axis=0).mean() < 5e-4
  # Independent channels: two channels of one example share a source with probability 1/3
  # (the Dirichlet draw: E[sum_j pi_j^2] = 3 E[pi^2] = 3 * 1/6 = 1/2).
  masks = np.asarray(mixers.bernoulli_masks(jax.random.PRNGKey(1), 3, (MANY, 2), 'uniform'))
  same = (masks[:, :, 0] == masks[:, :, 1]).all(axis=0)
  assert abs(same.mean() - 1 / 3) < 0.015


def test_k_way_bernoulli_dirichlet_draw_kept_as_an_option():
  """The draw mixres had before A3: per example pi ~ Dirichlet(1,1,1), channels ~ Cat(pi).

  Each pi_j ~ Beta(1, 2): E = 1/3, Var = 1*2 / (3^2 * 4) = 1/18, E[pi^2] = 1/6, so with
  N_j | pi ~ Binomial(C, pi_j) the law of total variance gives
  Var N_j = C E[pi_j (1 - pi_j)] + C^2 Var pi_j = 10 * 1/6 + 100 * 1/18 = 65/9 = 7.222
  (docs/faithfulness.md#a3). P(one example supplies all C = 10 channels)
  = 3 E[pi^10] = 3 B(11, 2) / B(1, 2) = 3 * 2/132 = 1/22 = 4.5%. The sample variance's std
  is ~0.05 here (heavier tails than the binomial); rtol 0.05 is ~7 of them.
  """
  counts = _source_counts('dirichlet')
  np.testing.assert_allclose(counts.mean(axis=1), 10 / 3, atol=0.1)
  np.testing.assert_allclose(counts.var(axis=1), 65 / 9, rtol=0.05)
  unmixed = (counts == 10).any(axis=0).mean()  # std sqrt(p (1 - p) / N) = 0.0015
  assert abs(unmixed - 1 / 22) < 0.008


@pytest.mark.parametrize('channels', [10, 64])
def test_k_equals_2_is_eq_5_under_either_draw(channels):
  """k = 2 keeps p ~ U(0,1) per example: bit-identical masks whatever config.bernoulli_draw."""
  key = jax.random.PRNGKey(channels)
  uniform = mixers.bernoulli_masks(key, 2, (512, 4, 4, channels), 'uniform')
  dirichlet = mixers.bernoulli_masks(key, 2, (512, 4, 4, channels), 'dirichlet')
  np.testing.assert_array_equal(uniform, dirichlet)
  np.testing.assert_array_equal(mixers.bernoulli_masks(key, 2, (512, 4, 4, channels)), uniform)


def test_bernoulli_mixer_default_and_draw_argument():
  """mixers.bernoulli's default is the authors' draw, and `draw` reaches the masks it uses."""
  hs = _codes(SHAPES[4])
  key = jax.random.PRNGKey(2)
  _, mask_key = jax.random.split(key)
  sources = mixers.partners(jax.random.split(key)[0], hs, 3)
  for draw in mixers.BERNOULLI_DRAWS:
    expected = mixers.combine(sources, mixers.bernoulli_masks(mask_key, 3, hs.shape, draw))
    np.testing.assert_array_equal(mixers.bernoulli(key, hs, k=3, draw=draw), expected)
  np.testing.assert_array_equal(mixers.bernoulli(key, hs, k=3),
                                mixers.bernoulli(key, hs, k=3, draw='uniform'))
  jitted = jax.jit(mixers.bernoulli, static_argnames=('k', 'draw'))
  np.testing.assert_array_equal(jitted(key, hs, k=3, draw='dirichlet'),
                                mixers.bernoulli(key, hs, k=3, draw='dirichlet'))


def test_mix_partner_indices_are_the_mixers_partners():
  """Objectives that reuse a mix's pairing read it from mix_partner_indices (same key)."""
  hs = jnp.arange(8, dtype=jnp.float32)[:, None] * jnp.ones((8, 16))  # row b holds b
  key = jax.random.PRNGKey(4)
  for k in (2, 3):
    indices = np.asarray(mixers.mix_partner_indices(key, 8, k))  # (k-1, B)
    assert indices.shape == (k - 1, 8)
    for mix in mixers.MIXERS.values():
      mixed = np.asarray(mix(key, hs, k=k))
      own, others = np.arange(8)[:, None], indices.T[:, :, None]  # (B, 1), (B, k-1, 1)
      if mix is mixers.bernoulli:  # every channel is its own example's or a partner's
        assert np.all((mixed == own) | (mixed[:, None] == others).any(axis=1))
      else:
        weight_key = jax.random.split(key)[1]
        weights = np.asarray(mixers.mixup_weights(weight_key, k, 8, 2))[:, :, 0]  # (k, B)
        expected = weights[0] * np.arange(8) + (weights[1:] * indices).sum(axis=0)
        np.testing.assert_allclose(mixed[:, 0], expected, rtol=1e-5)


@pytest.mark.parametrize('rank,k', list(itertools.product([2, 4], [2, 3, 8])))
def test_bernoulli_channels_come_whole_from_one_source(rank, k):
  shape = SHAPES[rank]
  # Distinct values everywhere, so a channel equal to a source's channel identifies it.
  hs = jnp.arange(np.prod(shape), dtype=jnp.float32).reshape(shape)
  key = jax.random.PRNGKey(21)
  mixed = np.asarray(mixers.bernoulli(key, hs, k=k))
  perm_key, mask_key = jax.random.split(key)
  sources = np.asarray(mixers.partners(perm_key, hs, k))
  masks = np.asarray(mixers.bernoulli_masks(mask_key, k, shape))
  middle = tuple(range(2, rank))  # spatial axes of (k, B, ..., C)
  matches = (sources == mixed[None]).all(axis=middle)  # (k, B, C)
  assert matches.any(axis=0).all(), 'some channel is not any single source channel'
  chosen = masks.reshape(k, shape[0], shape[-1]) == 1.0
  assert matches[chosen].all(), 'a channel does not come from the source its mask chose'


# ----------------------------------------------------------------------------- convex_mix


def test_convex_mix_broadcasts_alpha_over_any_rank():
  """One weight per example over labels and images; a scalar; a mask shaped (B, 1, 1, C)."""
  y1 = jnp.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
  y2 = jnp.array([[0.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
  np.testing.assert_allclose(mixers.convex_mix(jnp.array([0.25, 1.0]), y1, y2),
                             [[0.25, 0.0, 1.0], [0.0, 1.0, 1.0]])
  a, b = _codes((2, 3, 3, 4)), _codes((2, 3, 3, 4), seed=1)
  alpha = jnp.array([0.25, 0.75])
  mixed = mixers.convex_mix(alpha, a, b)
  for i in range(2):
    np.testing.assert_array_equal(mixed[i], alpha[i] * a[i] + (1 - alpha[i]) * b[i])
  np.testing.assert_array_equal(mixers.convex_mix(0.2, a, b), 0.2 * a + (1.0 - 0.2) * b)
  mask = jnp.array([[1.0, 0.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0]]).reshape(2, 1, 1, 4)
  np.testing.assert_array_equal(mixers.convex_mix(mask, a, b), jnp.where(mask > 0, a, b))


def test_convex_mix_ends_exact_and_the_rounding_of_its_form():
  """alpha = 1 gives a and 0 gives b exactly; the form is alpha a + (1 - alpha) b bit for bit,
  compiled too, where XLA fuses a product into the add by operand order (b + alpha (a - b)
  and (1 - alpha) b + alpha a round differently), so callers' numbers did not move."""
  a, b = _codes((4096, 5)), _codes((4096, 5), seed=1)
  np.testing.assert_array_equal(mixers.convex_mix(jnp.ones(4096), a, b), a)
  np.testing.assert_array_equal(mixers.convex_mix(jnp.zeros(4096), a, b), b)
  alpha = jax.random.uniform(jax.random.PRNGKey(2), (4096,))
  by_hand = lambda alpha, a, b: alpha[:, None] * a + (1 - alpha[:, None]) * b
  np.testing.assert_array_equal(mixers.convex_mix(alpha, a, b), by_hand(alpha, a, b))
  np.testing.assert_array_equal(jax.jit(mixers.convex_mix)(alpha, a, b),
                                jax.jit(by_hand)(alpha, a, b))
  w = alpha[:, None]
  assert np.any(np.asarray(mixers.convex_mix(alpha, a, b)) != np.asarray(b + w * (a - b)))


def test_convex_mix_keeps_numpy_in_numpy():
  """Evaluators mix host arrays (few_shot, the pixel blend): no device round trip, same bits."""
  rng = np.random.default_rng(0)
  a, b = rng.normal(size=(6, 2, 2)).astype(np.float32), rng.normal(size=(6, 2, 2)).astype(
      np.float32)
  alpha = rng.uniform(size=6).astype(np.float32)
  mixed = mixers.convex_mix(alpha, a, b)
  assert isinstance(mixed, np.ndarray) and mixed.dtype == np.float32
  w = alpha[:, None, None]
  np.testing.assert_array_equal(mixed, w * a + (1 - w) * b)


# ----------------------------------------------------------------------------- interpolation


@pytest.mark.parametrize('name,rank', list(itertools.product(['mixup', 'bernoulli'], [2, 4])))
def test_interpolation_endpoints_exact(name, rank):
  h1, h2 = _codes(SHAPES[rank], seed=1), _codes(SHAPES[rank], seed=2)
  path = mixers.interpolation_path(name, h1, h2, 10, jax.random.PRNGKey(0))
  chex.assert_shape(path, (10,) + SHAPES[rank])
  np.testing.assert_array_equal(path[0], h1)
  np.testing.assert_array_equal(path[-1], h2)
  jitted = jax.jit(mixers.interpolation_path, static_argnames=('name', 'num_steps'))(
      name, h1, h2, 10, jax.random.PRNGKey(0))
  chex.assert_trees_all_close(path, jitted, atol=1e-6)


def test_interpolation_mixup_is_linear():
  h1, h2 = _codes((4, 3, 3, 5), seed=1), _codes((4, 3, 3, 5), seed=2)
  path = mixers.interpolation_path('mixup', h1, h2, 5, jax.random.PRNGKey(0))
  chex.assert_trees_all_close(path[2], (h1 + h2) / 2, atol=1e-6)
  chex.assert_trees_all_close(path[1], 0.75 * h1 + 0.25 * h2, atol=1e-6)


@pytest.mark.parametrize('channels,num_steps', [(9, 10), (7, 4), (5, 2)])
def test_interpolation_bernoulli_channel_counts(channels, num_steps):
  h1 = jnp.zeros((3, 2, 2, channels))
  h2 = jnp.ones((3, 2, 2, channels))
  path = np.asarray(mixers.interpolation_path('bernoulli', h1, h2, num_steps,
                                              jax.random.PRNGKey(4)))
  assert set(np.unique(path)) <= {0.0, 1.0}
  # The channel set is shared by all examples and all positions at every step.
  np.testing.assert_array_equal(path, np.broadcast_to(path[:, :1, :1, :1], path.shape))
  from_h2 = path[:, 0, 0, 0, :].astype(bool)  # (S, C)
  p = np.arange(num_steps) / (num_steps - 1)
  expected = np.floor(p * channels + 1e-9).astype(int)  # exact floor(p_i * C)
  np.testing.assert_array_equal(from_h2.sum(axis=1), expected)
  # A fixed order: channels switched to h2 stay switched at every later step.
  assert np.all(from_h2[1:] >= from_h2[:-1])


def test_interpolation_bernoulli_order_depends_on_key():
  h1, h2 = jnp.zeros((1, 32)), jnp.ones((1, 32))
  a = mixers.interpolation_path('bernoulli', h1, h2, 3, jax.random.PRNGKey(0))
  b = mixers.interpolation_path('bernoulli', h1, h2, 3, jax.random.PRNGKey(1))
  assert not np.array_equal(a[1], b[1])


# ----------------------------------------------------------------------------- config errors


def test_registry_and_unknown_mixer():
  assert mixers.get_mixer('mixup') is mixers.mixup
  assert mixers.get_mixer('bernoulli') is mixers.bernoulli
  assert sorted(mixers.MIXERS) == ['bernoulli', 'mixup']
  expected = "config.mixer='foo' is not a mixer; choose one of: bernoulli, mixup"
  with pytest.raises(ValueError) as err:
    mixers.get_mixer('foo')
  assert str(err.value) == expected
  with pytest.raises(ValueError) as err:
    mixers.interpolation_path('foo', jnp.zeros((2, 3)), jnp.ones((2, 3)), 4,
                              jax.random.PRNGKey(0))
  assert str(err.value) == expected


@pytest.mark.parametrize('bad_k', [1, 0, -3, 2.0, '2', True, None])
def test_validate_k_rejects(bad_k):
  with pytest.raises(ValueError) as err:
    mixers.validate_k(bad_k)
  message = str(err.value)
  assert message.startswith(f'config.k={bad_k!r} ')
  assert 'integer >= 2' in message and '\n' not in message


def test_validate_k_message_and_mixers_use_it():
  with pytest.raises(ValueError, match=r'^config\.k=1 must be an integer >= 2 \(number of '
                     r'examples mixed\)$'):
    mixers.validate_k(1)
  for k in (2, 3, 8, np.int64(4)):
    mixers.validate_k(k)
  for mix in mixers.MIXERS.values():
    with pytest.raises(ValueError, match='config.k=1'):
      mix(jax.random.PRNGKey(0), jnp.zeros((4, 3)), k=1)


def test_bad_bernoulli_draw_is_a_one_line_error():
  expected = (r"^config.bernoulli_draw='gamma' is not a k-way Bernoulli draw; choose one of: "
              r'uniform, dirichlet$')
  with pytest.raises(ValueError, match=expected):
    mixers.bernoulli_masks(jax.random.PRNGKey(0), 3, (4, 5), 'gamma')
  with pytest.raises(ValueError, match=expected):
    mixers.bernoulli(jax.random.PRNGKey(0), jnp.zeros((4, 5)), k=3, draw='gamma')


def test_rank_one_codes_rejected():
  with pytest.raises(ValueError, match='rank >= 2'):
    mixers.mixup(jax.random.PRNGKey(0), jnp.zeros((4,)))


def test_k2_bernoulli_p_per_batch_is_the_authors_fm2():
  """The authors' Bern-2 runs ('fm2', twogan.py:94-111): one p ~ U(0,1) for the whole batch.

  Two examples' shares of channels kept, over many batches, are then correlated through the
  shared p: r = Var(p) / (Var(p) + E[p(1-p)] / C) = (1/12) / (1/12 + 1/96) = 8/9 at C = 16;
  with p per example they are independent (r = 0). Either way a channel is kept half the time.
  """
  keys = jax.random.split(jax.random.key(0), 2000)
  shape = (8, 4, 4, 16)
  for p, expected_r in (('per_batch', 8 / 9), ('per_example', 0.0)):
    masks = jax.vmap(lambda key: mixers.bernoulli_masks(key, 2, shape, p=p)[0])(keys)
    kept = np.asarray(masks).reshape(2000, 8, 16).mean(-1)  # (draws, B): share from self.
    r = np.corrcoef(kept[:, 0], kept[:, 1])[0, 1]
    assert abs(r - expected_r) < 0.06, (p, r)
    assert abs(kept.mean() - 0.5) < 0.01
    assert set(np.unique(np.asarray(masks))) == {0.0, 1.0}
  with pytest.raises(ValueError, match=r"config.bernoulli_p='per_batch' is the k = 2 mixer"):
    mixers.bernoulli_masks(keys[0], 3, shape, p='per_batch')
  with pytest.raises(ValueError, match=r"config.bernoulli_p='per_channel' is not a Bernoulli p"):
    mixers.bernoulli_masks(keys[0], 2, shape, p='per_channel')
