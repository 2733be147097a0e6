"""Disentanglement on dSprites: the FactorVAE metric (Kim & Mnih 2018) and the beta-VAE metric
(Higgins et al. 2017); docs/metrics.md#disentanglement-on-dsprites. The AMR paper's Table 4
reports the first.

Both score an encoder through votes on the ground-truth factors. A code function maps factor
index vectors (n, K) to codes (n, D), rendering and encoding the matching images; the metrics
themselves never see images, so ground-truth and random codes test them directly.

- FactorVAE ('kim_mnih', the default protocol): codes are divided by their std over the data,
  and dimensions whose std is below `prune_std` (disentanglement_lib's gin setting: 0.05) are
  pruned as collapsed. A vote fixes one factor k at a random value, draws `batch` examples with
  the other factors random, and takes d = argmin over the kept dimensions of the variance of the
  normalised codes. A majority-vote classifier d -> k is fitted on training votes; the score is
  its accuracy on held-out votes. Every factor counts. Two stated rules: a dimension no training
  vote chose predicts no factor, so held-out votes for it count as wrong (disentanglement_lib's
  argmax sends it to factor 0 instead, a free 1/K for whatever lands there); a code with every
  dimension pruned scores 0 (as disentanglement_lib).
- FactorVAE as the AMR authors scored Table 4 ('amr_authors', `amr_authors_factor_vae_score`):
  their tools.py `dsprite_disentanglement_fv`, which differs in four ways. L = 800 examples a
  vote, 800 votes split evenly over the factors (160 each); the std is taken over those votes'
  own codes; nothing is held out; and the score sums, for every factor *but the last* (posY), how
  many of its votes chose its most frequent dimension, over all votes. Ground truth scores 0.8,
  and so does a code of one dimension. Its scalar is disentanglement/factor_vae_amr_authors, so
  that it is never read as the metric above.
- beta-VAE: a vote draws `batch` pairs that share factor k and nothing else by design; its
  feature is the mean absolute code difference over the pairs; the score is the held-out accuracy
  of a linear (logistic regression) classifier from that feature to k.

Ground-truth factors as codes score 1.0 on both; codes independent of the factors about 1/K.
"""

from typing import Callable

import jax
import numpy as np

from mixres import config_checks as cc
from mixres.data import pipeline
from mixres.data import procedural

CodeFn = Callable[[np.ndarray], np.ndarray]  # factor indices (n, K) -> codes (n, D)

# FactorVAE protocol (config.eval.disentanglement.protocols) -> the scalar it is logged as.
PROTOCOLS = {'kim_mnih': 'disentanglement/factor_vae',
             'amr_authors': 'disentanglement/factor_vae_amr_authors'}


def sample_factors(rng: np.random.Generator, sizes: tuple[int, ...], n: int) -> np.ndarray:
  """n independent uniform factor index vectors, int (n, K)."""
  return np.stack([rng.integers(0, s, n) for s in sizes], -1)


def code_scale(code_fn: CodeFn, sizes: tuple[int, ...], rng: np.random.Generator,
               num_examples: int) -> np.ndarray:
  """Each code dimension's std over `num_examples` random data points; 0 for constant ones."""
  return np.std(code_fn(sample_factors(rng, sizes, num_examples)).astype(np.float64), axis=0)


def active_dimensions(scale: np.ndarray, prune_std: float) -> np.ndarray:
  """Bool mask of the code dimensions a vote may choose: std >= prune_std, and never std 0.

  disentanglement_lib's `_prune_dims` keeps std >= threshold on the raw (unnormalised) codes; its
  FactorVAE gin config sets the threshold to 0.05, which drops VAE dimensions collapsed to the
  prior. A constant dimension is dropped at any threshold: its normalised variance is 0/0.
  """
  return (scale > 0) & (scale >= prune_std)


def factor_vae_votes(code_fn: CodeFn, sizes: tuple[int, ...], scale: np.ndarray,
                     rng: np.random.Generator, num_votes: int, batch: int,
                     prune_std: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
  """(argmin dimension, fixed factor) of each vote, int (num_votes,) each.

  Dimensions outside `active_dimensions(scale, prune_std)` are never chosen. The dimension is an
  index into the full code (disentanglement_lib indexes its vote table with the argmin over the
  kept dimensions only, which shifts every index after a pruned dimension).
  """
  active = active_dimensions(scale, prune_std)
  if not active.any():
    raise ValueError('every code dimension is constant over the data: nothing to score')
  dims, factors = np.empty(num_votes, np.int64), rng.integers(0, len(sizes), num_votes)
  for i, k in enumerate(factors):
    f = sample_factors(rng, sizes, batch)
    f[:, k] = rng.integers(0, sizes[k])
    codes = code_fn(f).astype(np.float64) / np.where(active, scale, 1.0)
    dims[i] = np.argmin(np.where(active, np.var(codes, axis=0), np.inf))
  return dims, factors


def majority_vote_accuracy(train: tuple[np.ndarray, np.ndarray],
                           test: tuple[np.ndarray, np.ndarray], num_dims: int, num_factors: int
                           ) -> float:
  """Accuracy on `test` of the classifier dim -> most frequent factor among `train` votes.

  A dimension no training vote chose predicts nothing, so its test votes count as wrong.
  """
  counts = np.zeros((num_dims, num_factors), np.int64)
  np.add.at(counts, train, 1)
  prediction = np.where(counts.sum(1) > 0, np.argmax(counts, 1), -1)
  dims, factors = test
  return float(np.mean(prediction[dims] == factors))


def factor_vae_score(code_fn: CodeFn, sizes: tuple[int, ...], rng: np.random.Generator,
                     num_train: int = 800, num_test: int = 800, batch: int = 100,
                     scale_examples: int = 10_000, prune_std: float = 0.05) -> float:
  """The FactorVAE metric in [0, 1] (Kim & Mnih: L = 100 examples per vote)."""
  scale = code_scale(code_fn, sizes, rng, scale_examples)
  if not active_dimensions(scale, prune_std).any():
    return 0.0  # Every dimension collapsed: no factor can be read off the code.
  train = factor_vae_votes(code_fn, sizes, scale, rng, num_train, batch, prune_std)
  test = factor_vae_votes(code_fn, sizes, scale, rng, num_test, batch, prune_std)
  return majority_vote_accuracy(train, test, len(scale), len(sizes))


def amr_authors_factor_vae_score(code_fn: CodeFn, sizes: tuple[int, ...],
                                 rng: np.random.Generator, num_votes: int = 800,
                                 batch: int = 800) -> float:
  """FactorVAE as the AMR authors computed it for Table 4, in [0, (K-1)/K] (dSprites: 0.8).

  Their tools.py:790-900 (`dsprite_disentanglement_fv`, defaults n_votes = L = 800), step by step:
  num_votes // K votes for each factor in turn (:831, :840-841; their factor 0, colour, has one
  value and is skipped, which leaves our K = 5), each of `batch` examples with that factor fixed
  at a uniform value and the others uniform (:842-844, their `sample_conditional`); codes are
  divided by their std over every code of every vote (:880), and a vote's dimension is the argmin
  of its variance (:883-887). The score (:889-892) loops over `range(ys.max())`, i.e. every factor
  but the last, adds the count of its votes that chose its most frequent dimension, and divides by
  all votes: two factors may share one dimension and both count, and the last factor never does.

  One deviation: a dimension constant over the votes (std 0) is never chosen; theirs divides by
  0, and numpy's argmin then picks that NaN dimension in every vote (score 0.8 for any code).
  """
  num_factors = len(sizes)
  per_factor = num_votes // num_factors
  if per_factor < 1:
    raise ValueError(f'config.eval.disentanglement.amr_authors_votes={num_votes} must be >= '
                     f'{num_factors} (the votes are split evenly over the {num_factors} factors)')
  means, variances = [], []
  for k in range(num_factors):
    for _ in range(per_factor):
      f = sample_factors(rng, sizes, batch)
      f[:, k] = rng.integers(0, sizes[k])
      codes = code_fn(f).astype(np.float64)
      means.append(codes.mean(0))
      variances.append(codes.var(0))
  means, variances = np.stack(means), np.stack(variances)  # (votes, D) each
  # The variance over all votes' codes pooled: votes are equal in size, so it is the mean
  # within-vote variance plus the variance of the vote means (no need to keep every code).
  pooled = variances.mean(0) + means.var(0)
  active = pooled > 0
  if not active.any():
    raise ValueError('every code dimension is constant over the data: nothing to score')
  normalised = np.where(active, variances / np.where(active, pooled, 1.0), np.inf)
  dims = np.argmin(normalised, axis=1)
  factors = np.repeat(np.arange(num_factors), per_factor)
  counts = np.zeros((num_factors, len(pooled)), np.int64)
  np.add.at(counts, (factors, dims), 1)
  return float(counts[:-1].max(1).sum() / len(dims))


def beta_vae_features(code_fn: CodeFn, sizes: tuple[int, ...], rng: np.random.Generator,
                      num_votes: int, batch: int) -> tuple[np.ndarray, np.ndarray]:
  """(mean |z1 - z2| over `batch` pairs sharing factor k, k) for each vote."""
  features, factors = [], rng.integers(0, len(sizes), num_votes)
  for k in factors:
    f1, f2 = sample_factors(rng, sizes, batch), sample_factors(rng, sizes, batch)
    f2[:, k] = f1[:, k]
    codes = code_fn(np.concatenate([f1, f2])).astype(np.float64)
    features.append(np.abs(codes[:batch] - codes[batch:]).mean(0))
  return np.stack(features), factors


def beta_vae_score(code_fn: CodeFn, sizes: tuple[int, ...], rng: np.random.Generator,
                   num_train: int = 800, num_test: int = 800, batch: int = 64) -> float:
  """The beta-VAE metric in [0, 1] (Higgins et al.: L = 64 pairs per vote)."""
  from sklearn import linear_model  # Imported here: only this metric needs it.
  x_train, y_train = beta_vae_features(code_fn, sizes, rng, num_train, batch)
  x_test, y_test = beta_vae_features(code_fn, sizes, rng, num_test, batch)
  # Standardised features: the classifier's regularisation then means the same for any code scale.
  mean, std = x_train.mean(0), np.maximum(x_train.std(0), 1e-12)
  classifier = linear_model.LogisticRegression(max_iter=2000)
  classifier.fit((x_train - mean) / std, y_train)
  return float(classifier.score((x_test - mean) / std, y_test))


def check_config(config) -> None:
  """One-line ValueErrors for config.eval.disentanglement's protocols, pruning and votes."""
  cc.check_choices(config, 'eval.disentanglement.protocols', PROTOCOLS)
  cc.check_nonnegative(config, 'eval.disentanglement.prune_std', why='the code std below which '
                       'a dimension counts as collapsed; 0 keeps all')
  if 'amr_authors' in config.eval.disentanglement.protocols:
    factors = len(procedural.DSPRITES_SIZES)
    cc.check_integer(config, 'eval.disentanglement.amr_authors_votes', factors,
                     why=f'split evenly over the {factors} factors')


class Disentanglement:
  """Evaluator: both metrics of the model's codes on dSprites, with fixed votes at every eval.

  Images come from the whole dataset in its original factor order (TFDS dsprites or the
  renderer), fitted to data.image_size as in training.
  """

  maximize = ('disentanglement/factor_vae', 'disentanglement/beta_vae')  # The default protocol.

  def __init__(self, objective, config, mesh, valid_source):
    del mesh  # A few hundred thousand small images per evaluation, encoded in eval batches.
    if config.data.name not in ('dsprites', 'dsprites_rendered'):
      raise ValueError('config.eval.evaluators lists "disentanglement", which needs '
                       "config.data.name='dsprites' or 'dsprites_rendered', not "
                       f'{config.data.name!r}')
    check_config(config)
    protocols = tuple(config.eval.disentanglement.protocols)
    self.protocols = protocols
    self.maximize = tuple(PROTOCOLS[p] for p in protocols) + ('disentanglement/beta_vae',)
    self.objective, self.config = objective, config
    self.full = valid_source.parent  # SubsetSource of the whole (fitted) factor grid.
    self.sizes = procedural.DSPRITES_SIZES
    self._encode = jax.jit(objective.encode)

  def codes(self, params, factors: np.ndarray) -> np.ndarray:
    """Flattened codes (n, D) of the images with these factor indices."""
    indices = np.ravel_multi_index(tuple(np.moveaxis(factors, -1, 0)), self.sizes)
    out, batch = [], int(self.config.eval.batch_size)
    for start in range(0, len(indices), batch):
      images = np.stack([self.full[int(i)]['image'] for i in indices[start:start + batch]])
      codes = self._encode(params, pipeline.to_model_input(images))
      out.append(np.asarray(codes).reshape(len(images), -1))
    return np.concatenate(out)

  def __call__(self, state):
    params = self.objective.inference_params(state)
    code_fn = lambda factors: self.codes(params, factors)
    cfg = self.config.eval.disentanglement
    seed = int(cfg.seed)
    scalars = {}
    if 'kim_mnih' in self.protocols:
      scalars[PROTOCOLS['kim_mnih']] = factor_vae_score(
          code_fn, self.sizes, np.random.default_rng(seed), cfg.num_train, cfg.num_test,
          cfg.factor_vae_batch, cfg.scale_examples, cfg.prune_std)
    if 'amr_authors' in self.protocols:
      scalars[PROTOCOLS['amr_authors']] = amr_authors_factor_vae_score(
          code_fn, self.sizes, np.random.default_rng(seed + 2), cfg.amr_authors_votes,
          cfg.amr_authors_batch)
    scalars['disentanglement/beta_vae'] = beta_vae_score(
        code_fn, self.sizes, np.random.default_rng(seed + 1), cfg.num_train, cfg.num_test,
        cfg.beta_vae_batch)
    return scalars, {}
