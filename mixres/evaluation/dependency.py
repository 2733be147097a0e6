"""Neural dependency measure (NDM; Deep InfoMax section 3.4 and A.6, after Brakel & Bengio 2017).

How dependent the dimensions of a code are: shuffling each dimension independently across the
batch keeps every marginal and destroys the dependence between them, so KL(joint || shuffled)
is the codes' total correlation (0: independent dimensions; higher: more dependent). As DIM's
code computes it (`cortex_DIM/models/ndm.py`, `evaluation_models/ndm_eval.py`):

- a critic T, an MLP 1000-200-1 with ReLUs (ndm_eval.py:27-28), learns on batches of real
  codes P and their dimension-wise shuffles Q by maximising the KL f-divergence bound
  E_P[T] - E_Q[exp(T - 1)] (ndm.py:46-69 with measure 'KL'; its optimum is T = 1 + log P/Q);
- the reported number is the Donsker-Varadhan bound E_P[T] - log E_Q[exp T] (ndm.py:57-60),
  which no constant offset of T changes and which no critic pushes above the true KL (up to
  sampling noise);
- batch 10,000 codes, Adam at 1e-4, the rate x0.1 at epochs 500 and 750 (ndm_eval.py:17-24;
  the README runs 1000 epochs): here at half and three quarters of config.eval.ndm_steps.

Ours trains on three quarters of the codes and reports the bound on the held-out quarter (the
code trains on training codes and reports on test batches). Codes are standardised per
dimension first (the code does not): KL is unchanged by per-dimension affine maps, only the
critic's conditioning is. An estimate from a finite critic: compare models under the same
settings, not across settings.
"""

import functools
import math
from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from mixres import config_checks as cc
from mixres.data import pipeline

CRITIC_HIDDEN = (1000, 200)  # ndm_eval.py:27-28.
# Held-out shuffles pooled for log E_Q[exp T]: one shuffle (the code's) leaves that term noisy.
HELD_OUT_SHUFFLES = 10


class _Critic(nn.Module):
  """MLP code -> score T (B,)."""
  hidden: tuple[int, ...] = CRITIC_HIDDEN

  @nn.compact
  def __call__(self, codes: jax.Array) -> jax.Array:
    x = codes
    for units in self.hidden:
      x = nn.relu(nn.Dense(units)(x))
    return nn.Dense(1)(x)[:, 0]


def shuffle_dimensions(key: jax.Array, codes: jax.Array) -> jax.Array:
  """Each column of codes (B, D) permuted independently along the batch."""
  keys = jax.random.split(key, codes.shape[1])
  return jax.vmap(lambda k, column: jax.random.permutation(k, column), (0, 1), 1)(keys, codes)


def donsker_varadhan(joint_scores: jax.Array, shuffled_scores: jax.Array) -> jax.Array:
  """E_P[T] - log E_Q[exp T] from T on real codes and on shuffled ones."""
  log_mean_exp = jax.nn.logsumexp(shuffled_scores) - math.log(shuffled_scores.size)
  return jnp.mean(joint_scores) - log_mean_exp


def kl_dual_loss(joint_scores: jax.Array, shuffled_scores: jax.Array) -> jax.Array:
  """-(E_P[T] - E_Q[exp(T - 1)]): the critic's loss (the code's f-divergence 'KL')."""
  return jnp.mean(jnp.exp(shuffled_scores - 1.0)) - jnp.mean(joint_scores)


@functools.partial(jax.jit, static_argnames=('steps', 'batch', 'hidden'))
def _train_critic(codes: jax.Array, key: jax.Array, lr: float, *, steps: int, batch: int,
                  hidden: tuple[int, ...]):
  """The critic's params after `steps` Adam steps on `batch` codes and their shuffles each."""
  critic = _Critic(hidden)
  schedule = optax.piecewise_constant_schedule(lr, {steps // 2: 0.1, 3 * steps // 4: 0.1})
  optimizer = optax.adam(schedule)

  def loss_fn(params, key):
    pick, shuffle = jax.random.split(key)
    real = jax.random.permutation(pick, codes)[:batch]
    fake = shuffle_dimensions(shuffle, real)  # Marginals from the same batch (ndm.py:54).
    scores = critic.apply({'params': params}, jnp.concatenate([real, fake]))
    return kl_dual_loss(scores[:batch], scores[batch:])

  def step(carry, key):
    params, opt_state = carry
    grads = jax.grad(loss_fn)(params, key)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return (optax.apply_updates(params, updates), opt_state), None

  init_key, key = jax.random.split(key)
  params = critic.init(init_key, codes[:1])['params']
  (params, _), _ = jax.lax.scan(step, (params, optimizer.init(params)),
                                jax.random.split(key, steps))
  return params


@functools.partial(jax.jit, static_argnames='hidden')
def _scores(params, codes: jax.Array, hidden: tuple[int, ...]) -> jax.Array:
  return _Critic(hidden).apply({'params': params}, codes)


def fit_critic(codes: jax.Array, steps: int, batch: int, lr: float, key: jax.Array,
               hidden: tuple[int, ...] = CRITIC_HIDDEN) -> Callable[[jax.Array], jax.Array]:
  """The critic T trained on codes (N, D) and their shuffles; returns x (B, D) -> T(x) (B,)."""
  hidden = tuple(int(units) for units in hidden)
  params = _train_critic(codes, key, lr, steps=int(steps), batch=min(int(batch), len(codes)),
                         hidden=hidden)  # Fewer codes than a batch: each step sees them all.
  return functools.partial(_scores, params, hidden=hidden)


def held_out_estimate(score: Callable[[jax.Array], jax.Array], codes: jax.Array,
                      key: jax.Array) -> float:
  """The DV bound of critic `score` on codes (N, D) against HELD_OUT_SHUFFLES shuffles of them."""
  shuffled = [score(shuffle_dimensions(k, codes))
              for k in jax.random.split(key, HELD_OUT_SHUFFLES)]
  return float(donsker_varadhan(score(codes), jnp.concatenate(shuffled)))


def neural_dependency(codes: np.ndarray, steps: int = 1000, batch: int = 10_000,
                      lr: float = 1e-4, seed: int = 0, held_out: float = 0.25,
                      hidden: tuple[int, ...] = CRITIC_HIDDEN) -> float:
  """NDM of codes (N, ...): the DV bound on KL(joint || shuffled) of a held-out quarter."""
  codes = np.asarray(codes, np.float32).reshape(len(codes), -1)
  codes = (codes - codes.mean(0)) / np.maximum(codes.std(0), 1e-8)
  order = np.random.default_rng(seed).permutation(len(codes))
  num_test = max(1, int(len(codes) * held_out))
  test, train = jnp.asarray(codes[order[:num_test]]), jnp.asarray(codes[order[num_test:]])
  key = jax.random.PRNGKey(seed)
  score = fit_critic(train, steps, batch, lr, key, hidden)
  return held_out_estimate(score, test, jax.random.fold_in(key, 2))


class NeuralDependency:
  """Evaluator: ndm of the codes of (the first eval.max_examples of) the validation split."""

  maximize = ()  # Lower is more independent; whether that is better depends on the study.

  def __init__(self, objective, config, mesh, valid_source):
    del mesh
    for field in ('ndm_steps', 'ndm_batch'):
      cc.check_integer(config, f'eval.{field}', 1)
    cc.check_positive(config, 'eval.ndm_lr')
    self.objective, self.config, self.source = objective, config, valid_source
    self._encode = jax.jit(objective.encode)

  def __call__(self, state):
    params = self.objective.inference_params(state)
    codes = []
    for batch in pipeline.eval_batches(self.source, self.config.eval.batch_size,
                                       self.config.eval.max_examples):
      codes.append(np.asarray(self._encode(params, batch['image']))[batch['mask'] > 0])
    e = self.config.eval
    return {'ndm': neural_dependency(np.concatenate(codes), int(e.ndm_steps), int(e.ndm_batch),
                                     float(e.ndm_lr), seed=int(self.config.seed))}, {}
