"""FactorVAE and beta-VAE metrics: ground truth scores 1, random codes about 1/K, hand cases."""

import collections

import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from mixres.data import procedural
from mixres.data import sources
from mixres.evaluation import disentanglement as dis

SIZES = procedural.DSPRITES_SIZES
VOTES = dict(num_train=300, num_test=300)


def ground_truth(factors):
  """The factors themselves, with a different scale per dimension and a shuffled order."""
  return factors[:, [3, 0, 4, 2, 1]] * np.array([0.1, 5.0, 1.0, 3.0, 0.05])


def noisy_ground_truth(seed):
  """Factors in [0, 1) plus noise of std 0.02, dimension j scaled by 10^(0, 2, 5, 3, 1)."""
  noise = np.random.default_rng(seed)
  scales = np.array([1.0, 1e2, 1e5, 1e3, 10.0])
  return lambda f: (f / np.array(SIZES) + 0.02 * noise.standard_normal(f.shape)) * scales


def random_codes(seed, dims=6):
  rng = np.random.default_rng(seed)
  return lambda factors: rng.standard_normal((len(factors), dims))


def test_majority_vote_hand_computed():
  train = (np.array([0, 0, 0, 1, 1, 2]), np.array([3, 3, 1, 0, 0, 2]))
  # Classifier: dim 0 -> 3, dim 1 -> 0, dim 2 -> 2, dim 3 -> nothing (no training votes).
  test = (np.array([0, 0, 1, 2, 3]), np.array([3, 1, 0, 2, 4]))
  assert dis.majority_vote_accuracy(train, test, num_dims=4, num_factors=5) == 3 / 5


def test_factor_vae_votes_pick_the_fixed_factor_of_ground_truth():
  rng = np.random.default_rng(0)
  scale = dis.code_scale(ground_truth, SIZES, rng, 2000)
  dims, factors = dis.factor_vae_votes(ground_truth, SIZES, scale, rng, 50, 100)
  # Ground-truth dimension j holds factor [3, 0, 4, 2, 1][j].
  np.testing.assert_array_equal(np.array([3, 0, 4, 2, 1])[dims], factors)


def test_factor_vae_ground_truth_scores_one_random_about_a_fifth():
  assert dis.factor_vae_score(ground_truth, SIZES, np.random.default_rng(1), **VOTES) == 1.0
  score = dis.factor_vae_score(random_codes(2), SIZES, np.random.default_rng(3), **VOTES)
  assert 0.1 < score < 0.32, score


def test_factor_vae_divides_by_the_std_of_each_dimension():
  """With noise, the fixed factor's dimension has the least variance only after each dimension
  is divided by its std: unnormalised, the small-scale dimension 0 wins most votes."""
  assert dis.factor_vae_score(noisy_ground_truth(0), SIZES, np.random.default_rng(1),
                              **VOTES) == 1.0
  rng = np.random.default_rng(1)
  unnormalised = [dis.factor_vae_votes(noisy_ground_truth(0), SIZES, np.ones(5), rng, 300, 100)
                  for _ in range(2)]
  assert dis.majority_vote_accuracy(*unnormalised, 5, 5) < 0.5


def test_factor_vae_scores_held_out_votes_not_training_votes():
  """Random 20-d codes, 40 training votes: each dimension's majority is fitted to about two votes,
  so the training votes agree with it about 60% of the time, while a held-out vote agrees with
  probability 1/5 when its dimension was seen: E = 0.2 (1 - 0.95^40) = 0.174."""
  code_rng = np.random.default_rng(11)
  codes = lambda f: code_rng.standard_normal((len(f), 20))
  score = dis.factor_vae_score(codes, SIZES, np.random.default_rng(12), num_train=40,
                               num_test=800, scale_examples=1000)
  assert abs(score - 0.174) < 0.04, score
  rng = np.random.default_rng(12)
  scale = dis.code_scale(codes, SIZES, rng, 1000)
  train = dis.factor_vae_votes(codes, SIZES, scale, rng, 40, 100)
  assert dis.majority_vote_accuracy(train, train, 20, 5) > 0.45  # What scoring training gives.


def test_collapsed_dimensions_are_pruned_below_prune_std():
  """Factor 4 read by a dimension of std 0.0003 (below disentanglement_lib's 0.05): pruned, its
  votes fall on the other dimensions, each owned by its own factor, so exactly the held-out
  votes that fix factor 4 are wrong; with prune_std = 0 the code is perfect again."""
  def collapsed(f):
    unit = f / np.array(SIZES)
    return np.concatenate([unit[:, :4], 1e-3 * unit[:, 4:]], 1)

  score = dis.factor_vae_score(collapsed, SIZES, np.random.default_rng(2), **VOTES)
  rng = np.random.default_rng(2)  # The same draws, step by step.
  scale = dis.code_scale(collapsed, SIZES, rng, 10_000)
  np.testing.assert_array_equal(dis.active_dimensions(scale, 0.05), [1, 1, 1, 1, 0])
  dis.factor_vae_votes(collapsed, SIZES, scale, rng, 300, 100, 0.05)
  _, test_factors = dis.factor_vae_votes(collapsed, SIZES, scale, rng, 300, 100, 0.05)
  assert score == np.mean(test_factors != 4) and 0.7 < score < 0.9
  assert dis.factor_vae_score(collapsed, SIZES, np.random.default_rng(2), prune_std=0.0,
                              **VOTES) == 1.0
  # Every dimension collapsed: 0, as disentanglement_lib scores it.
  tiny = lambda f: 1e-3 * f
  assert dis.factor_vae_score(tiny, SIZES, np.random.default_rng(3), **VOTES) == 0.0


def test_constant_dimensions_are_never_chosen():
  with_constant = lambda f: np.concatenate([np.zeros((len(f), 1)), ground_truth(f)], 1)
  rng = np.random.default_rng(4)
  scale = dis.code_scale(with_constant, SIZES, rng, 1000)
  assert scale[0] == 0
  dims, _ = dis.factor_vae_votes(with_constant, SIZES, scale, rng, 30, 50)
  assert (dims > 0).all()
  assert dis.factor_vae_score(with_constant, SIZES, rng, **VOTES) == 1.0
  with pytest.raises(ValueError, match='every code dimension is constant'):
    dis.factor_vae_votes(lambda f: np.ones((len(f), 3)), SIZES, np.zeros(3), rng, 2, 4)


def test_amr_authors_protocol_ground_truth_scores_0_8():
  """Their dsprite_disentanglement_fv never counts the last factor's votes: ceiling 4/5."""
  score = dis.amr_authors_factor_vae_score(ground_truth, SIZES, np.random.default_rng(1))
  assert score == 0.8  # 4 factors x 160 votes, over 800 (defaults n_votes = L = 800).
  # Our protocol scores the same code 1.0 (test above): the two are different numbers.


def test_amr_authors_protocol_random_and_one_dimensional_codes():
  """Random codes: each vote's dimension is uniform, so a factor's top count is the max of a
  Multinomial(160, 1/D) and the score 0.8 E[max] / 160: 0.193 at D = 5. A one-dimensional code
  scores the ceiling 0.8 (every vote picks it; the score counts factor -> dimension, not
  dimension -> factor), where ours gives it 1/5."""
  score = dis.amr_authors_factor_vae_score(random_codes(2, 5), SIZES, np.random.default_rng(3),
                                           batch=50)
  assert 0.16 < score < 0.23, score  # Sd about 0.007.
  score = dis.amr_authors_factor_vae_score(random_codes(4, 10), SIZES, np.random.default_rng(5),
                                           batch=50)
  assert 0.08 < score < 0.15, score  # D = 10: 0.112.
  one = random_codes(6, 1)
  assert dis.amr_authors_factor_vae_score(one, SIZES, np.random.default_rng(7), batch=50) == 0.8
  assert dis.factor_vae_score(one, SIZES, np.random.default_rng(8), **VOTES) < 0.3


def step_by_step_amr_authors(code_fn, rng, num_votes, batch):
  """Their tools.py:830-892 step by step: keep every code, pooled std, per-factor top counts."""
  codes, fixed = [], []
  for k in range(len(SIZES)):
    for _ in range(num_votes // len(SIZES)):
      f = dis.sample_factors(rng, SIZES, batch)
      f[:, k] = rng.integers(0, SIZES[k])
      codes.append(code_fn(f))
      fixed.append(k)
  codes, fixed = np.asarray(codes), np.asarray(fixed)  # (votes, batch, D), (votes,)
  codes = codes / codes.reshape(-1, codes.shape[-1]).std(0)
  chosen = np.array([np.argmin(vote.var(0)) for vote in codes])
  tops = [collections.Counter(chosen[fixed == j]).most_common()[0][1] for j in range(fixed.max())]
  return sum(tops) / len(chosen)


def test_amr_authors_protocol_matches_their_steps_on_a_noisy_code():
  """A code that mixes the factors with noise scores strictly between chance and 0.8, and the
  same as their procedure spelled out, which keeps every code (ours keeps vote statistics)."""
  weights = np.eye(5, 6) + 0.3 * np.random.default_rng(8).standard_normal((5, 6))

  def noisy_code(seed):
    noise = np.random.default_rng(seed)
    return lambda f: f / np.array(SIZES) @ weights + 0.2 * noise.standard_normal((len(f), 6))

  ours = dis.amr_authors_factor_vae_score(noisy_code(9), SIZES, np.random.default_rng(10),
                                          num_votes=200, batch=100)
  theirs = step_by_step_amr_authors(noisy_code(9), np.random.default_rng(10), 200, 100)
  assert ours == theirs and 0.3 < ours < 0.8, (ours, theirs)
  with pytest.raises(ValueError, match='amr_authors_votes=4 must be >= 5'):
    dis.amr_authors_factor_vae_score(noisy_code(9), SIZES, np.random.default_rng(0), num_votes=4)


def test_beta_vae_ground_truth_scores_one_random_about_a_fifth():
  features, factors = dis.beta_vae_features(ground_truth, SIZES, np.random.default_rng(5), 20, 64)
  # The shared factor's dimension differs by exactly 0 in every pair.
  shared_dim = np.array([1, 4, 3, 0, 2])[factors]
  assert (features[np.arange(20), shared_dim] == 0).all()
  assert dis.beta_vae_score(ground_truth, SIZES, np.random.default_rng(6), **VOTES) >= 0.99
  score = dis.beta_vae_score(random_codes(7), SIZES, np.random.default_rng(8), **VOTES)
  assert 0.1 < score < 0.32, score


class _InkStatistics:
  """A hand-made 'encoder' of sprites: ink amount and its centroid (scale, x, y)."""

  def inference_params(self, state):
    return state

  def encode(self, params, images):
    ink = (images + 1.0) / 2.0
    rows, cols = jnp.arange(images.shape[1]), jnp.arange(images.shape[2])
    mass = ink.sum((1, 2, 3))
    return jnp.stack([mass, (ink.sum((2, 3)) * rows).sum(1) / mass,
                     (ink.sum((1, 3)) * cols).sum(1) / mass], -1)


def rendered_config(protocols=('kim_mnih', 'amr_authors')):
  return ml_collections.ConfigDict({
      'data': {'name': 'dsprites_rendered', 'image_size': 32, 'valid_fraction': 0.01,
               'split_seed': 0},
      'eval': {'batch_size': 256, 'disentanglement': {
          'seed': 0, 'num_train': 40, 'num_test': 40, 'factor_vae_batch': 20,
          'beta_vae_batch': 16, 'scale_examples': 500, 'prune_std': 0.05, 'protocols': protocols,
          'amr_authors_votes': 40, 'amr_authors_batch': 20}}})


def rendered_valid_source():
  full = procedural.DspritesSource(32)
  _, valid_indices = sources.split_indices(len(full), 0.01, 0)
  return sources.SubsetSource(full, valid_indices)


def test_evaluator_on_rendered_sprites():
  evaluator = dis.Disentanglement(_InkStatistics(), rendered_config(), None,
                                  rendered_valid_source())
  scalars, images = evaluator({})
  assert set(scalars) == set(evaluator.maximize) and not images
  assert set(scalars) == {'disentanglement/factor_vae', 'disentanglement/factor_vae_amr_authors',
                          'disentanglement/beta_vae'}
  # Ink and centroid carry scale, x and y (3 of 5 factors) but not shape or orientation; three
  # dimensions can vote for at most 3 factors, so FactorVAE is near 3/5 at best.
  assert 0.25 < scalars['disentanglement/factor_vae'] <= 0.65, scalars
  assert 0.5 < scalars['disentanglement/beta_vae'] < 0.95, scalars
  # The authors' protocol never counts y (the last factor): x and scale at most, 2/5 here.
  assert 0.2 <= scalars['disentanglement/factor_vae_amr_authors'] <= 0.8, scalars
  assert evaluator({}) == (scalars, {})  # Fixed votes: the same model scores the same.


def test_evaluator_protocols_name_their_scalars():
  """Only the protocols asked for, each under its own name; the default is ours alone."""
  evaluator = dis.Disentanglement(_InkStatistics(), rendered_config(('amr_authors',)), None,
                                  rendered_valid_source())
  assert evaluator.maximize == ('disentanglement/factor_vae_amr_authors',
                                'disentanglement/beta_vae')
  from configs import base
  assert tuple(base.get_config().eval.disentanglement.protocols) == ('kim_mnih',)
  for protocols in ((), ('kim_mnih', 'higgins')):
    with pytest.raises(ValueError, match=r'^config.eval.disentanglement.protocols=.* must list '
                                         r'one or more of: kim_mnih, amr_authors$'):
      dis.Disentanglement(_InkStatistics(), rendered_config(protocols), None, None)
  config = rendered_config()
  config.eval.disentanglement.prune_std = -0.1
  with pytest.raises(ValueError, match=r'^config.eval.disentanglement.prune_std=-0.1 must be >= 0'):
    dis.Disentanglement(_InkStatistics(), config, None, None)


def test_evaluator_needs_dsprites():
  config = ml_collections.ConfigDict({'data': {'name': 'digits'}})
  with pytest.raises(ValueError, match="needs config.data.name='dsprites'"):
    dis.Disentanglement(_InkStatistics(), config, None, None)
