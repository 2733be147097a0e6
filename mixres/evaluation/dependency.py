"""Neural dependency measure (NDM; Deep InfoMax section 3.4 and A.6, after Brakel & Bengio 2017).

How dependent the dimensions of a code are: shuffling each dimension independently across the
batch keeps every marginal and destroys the dependence between them. A discriminator T learns to
tell real codes (the joint Q) from shuffled ones (the product of marginals Q~) with the logistic
loss; at its optimum T's logit is log Q/Q~, so KL(Q || Q~) = E_Q[logit], estimated on held-out
codes. 0 means independent dimensions; higher means more dependent. An estimate from a finite
discriminator: compare models under the same settings, not across settings.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from mixres.data import pipeline


class _Critic(nn.Module):
  """MLP code -> logit (the DIM appendix uses a small MLP; widths are ours)."""
  width: int = 256

  @nn.compact
  def __call__(self, codes: jax.Array) -> jax.Array:
    x = nn.relu(nn.Dense(self.width)(codes))
    x = nn.relu(nn.Dense(self.width)(x))
    return nn.Dense(1)(x)[:, 0]


def shuffle_dimensions(key: jax.Array, codes: jax.Array) -> jax.Array:
  """Each column of codes (B, D) permuted independently along the batch."""
  keys = jax.random.split(key, codes.shape[1])
  return jax.vmap(lambda k, column: jax.random.permutation(k, column), (0, 1), 1)(keys, codes)


def neural_dependency(codes: np.ndarray, steps: int = 1000, batch: int = 256, lr: float = 1e-3,
                      seed: int = 0, held_out: float = 0.25) -> float:
  """NDM of codes (N, ...): KL(joint || shuffled) estimated on a held-out quarter."""
  codes = np.asarray(codes, np.float32).reshape(len(codes), -1)
  codes = (codes - codes.mean(0)) / np.maximum(codes.std(0), 1e-8)  # Scale-free.
  rng = np.random.default_rng(seed)
  order = rng.permutation(len(codes))
  num_test = max(1, int(len(codes) * held_out))
  test, train = jnp.asarray(codes[order[:num_test]]), jnp.asarray(codes[order[num_test:]])
  critic = _Critic()
  key = jax.random.PRNGKey(seed)
  params = critic.init(key, train[:1])['params']
  optimizer = optax.adam(lr)

  def loss_fn(params, key):
    pick, shuffle = jax.random.split(key)
    real = train[jax.random.randint(pick, (batch,), 0, len(train))]
    fake = shuffle_dimensions(shuffle, real)  # Marginals from the same batch.
    logits = critic.apply({'params': params}, jnp.concatenate([real, fake]))
    labels = jnp.concatenate([jnp.ones(batch), jnp.zeros(batch)])
    return jnp.mean(optax.sigmoid_binary_cross_entropy(logits, labels))

  @jax.jit
  def train_steps(params, key):
    def step(carry, key):
      params, opt_state = carry
      grads = jax.grad(loss_fn)(params, key)
      updates, opt_state = optimizer.update(grads, opt_state, params)
      return (optax.apply_updates(params, updates), opt_state), None
    (params, _), _ = jax.lax.scan(step, (params, optimizer.init(params)),
                                  jax.random.split(key, steps))
    return params

  params = train_steps(params, jax.random.fold_in(key, 1))
  return float(jnp.mean(critic.apply({'params': params}, test)))


class NeuralDependency:
  """Evaluator: ndm of the codes of (the first eval.max_examples of) the validation split."""

  maximize = ()  # Lower is more independent; whether that is better depends on the study.

  def __init__(self, objective, config, mesh, valid_source):
    del mesh
    self.objective, self.config, self.source = objective, config, valid_source
    self._encode = jax.jit(objective.encode)

  def __call__(self, state):
    params = self.objective.inference_params(state)
    codes = []
    for batch in pipeline.eval_batches(self.source, self.config.eval.batch_size,
                                       self.config.eval.max_examples):
      codes.append(np.asarray(self._encode(params, batch['image']))[batch['mask'] > 0])
    return {'ndm': neural_dependency(np.concatenate(codes), int(self.config.eval.ndm_steps),
                                     seed=int(self.config.seed))}, {}
