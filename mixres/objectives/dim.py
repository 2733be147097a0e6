"""Deep InfoMax (Hjelm et al. 2019; docs/methods.md#deep-infomax): an encoder without a decoder.

The encoder and its critics minimise (Eq. 8)

  alpha * L_global + beta * L_local + gamma * softplus(-D(sigmoid(Y)))

where L_* is minus an MI estimate (`config.dim.estimator`) computed from scores
u[i, j, l] = <phi(map_j at location l), psi(Y_i)> ("encode-and-dot"; DIM(G) 'paper': T(M_j, Y_i)):
positives i = j, negatives every other image at every location (the paper's batch-wise
sampling, A.3). The local objective scores the 8x8 local map. The global one scores a single
location with `config.dim.global_critic`:

  encode_dot  encode-and-dot (the local critics' Tables 8/9 nets) on the flattened last conv map
              M (4x4x256): cheap all-pairs scores on the paper's M, but neither the paper's
              nor the code's DIM(G) critic
  paper       Table 6: MLP 512-512-1 on concat(flatten(M), Y), run on every (M_j, Y_i) pair
  code        the reference code's GlobalDIM (`cortex_DIM/models/dim.py:104-131`): the
              encoder's later layers on the 8x8 local map to a 2048 linear, dotted with
              Linear(Y -> 2048)

Estimators, as losses (= -I):

  jsd      E_pos[softplus(-u)] + E_neg[softplus(u)]                        (Eq. 4)
  dv       log E_neg[exp u] - E_pos[u]                                     (Eq. 2)
  infonce  mean over (i, l) of -log softmax of u[i, i, l] against
           {u[i, j, l'] : j != i, all l'}                                  (Eq. 5)

Prior matching (Eq. 7): a discriminator D tells U[0, 1]^d samples (real) from sigmoid(Y)
(fake), optionally with the code's gradient penalty on D (`config.dim.prior_gradient_penalty`).
Each step makes both updates from the parameters before the step (two_player.TwoPlayer): the
encoder group (encoder + critics) on its loss with D held constant, then D on stop_gradient codes.
"""

import math
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections

from mixres import config_checks as cc
from mixres.models import dim as dim_models
from mixres.objectives import base
from mixres.objectives import two_player

ESTIMATORS = ('jsd', 'dv', 'infonce')
PROBE_LAYERS = ('code', 'fc', 'conv')
INFONCE_SAME_IMAGE = ('exclude', 'minus10')
PRIOR_LOSSES = ('non_saturating', 'minimax')
GLOBAL_CRITICS = ('encode_dot', 'paper', 'code')
PENALTY_EXAMPLES = ('all', 'last')
PAIR_CRITIC_HIDDEN = 512  # Table 6.
# Evaluators that call `decode` (mixres/evaluation/); DIM has only an encoder.
DECODING_EVALUATORS = ('few_shot', 'gaussian_samples', 'interpolation', 'lines', 'toy_mixes')


# -------------------------------------------------------------------------------------------------
# Estimators on a score tensor u (N globals, N images, L locations); u[i, i, :] are positives.

def mi_scores(map_embeddings: jax.Array, code_embeddings: jax.Array) -> jax.Array:
  """u[i, j, l] = <map_embeddings[j, l], code_embeddings[i]>: (N, L, E), (N, E) -> (N, N, L)."""
  return jnp.einsum('jle,ie->ijl', map_embeddings, code_embeddings)


def positive_mask(n: int, locations: int) -> jax.Array:
  """(N, N, L) bool: True exactly where i = j."""
  return jnp.broadcast_to(jnp.eye(n, dtype=bool)[:, :, None], (n, n, locations))


def jsd_loss(scores: jax.Array, log2_constants: bool = False) -> jax.Array:
  """-I_JSD (Eq. 4); log2_constants: the reference code's form, 2 log 2 lower (same gradients)."""
  pos = positive_mask(*scores.shape[1:])
  e_pos = jnp.sum(jnp.where(pos, jax.nn.softplus(-scores), 0.0)) / jnp.sum(pos)
  e_neg = jnp.sum(jnp.where(pos, 0.0, jax.nn.softplus(scores))) / jnp.sum(~pos)
  return e_pos + e_neg - (2 * math.log(2) if log2_constants else 0.0)


def dv_loss(scores: jax.Array) -> jax.Array:
  """-I_DV (Eq. 2): log of the mean of exp(u) over all negatives minus the mean positive u."""
  pos = positive_mask(*scores.shape[1:])
  e_pos = jnp.sum(jnp.where(pos, scores, 0.0)) / jnp.sum(pos)
  log_mean_exp = jax.nn.logsumexp(scores, b=(~pos).astype(scores.dtype)) - jnp.log(jnp.sum(~pos))
  return log_mean_exp - e_pos


def infonce_loss(scores: jax.Array, same_image: str = 'exclude') -> jax.Array:
  """-I_infoNCE (Eq. 5), averaged over every (image, location) positive.

  same_image: the other locations of the positive's own image are neither positive nor
    negative. 'exclude' leaves them out (the paper's negatives are other images); 'minus10' is
    the reference code, which keeps all L of them in the softmax at the constant logit -10.
  """
  n, _, locations = scores.shape
  pos = positive_mask(n, locations)
  positives = jnp.diagonal(scores, axis1=0, axis2=1).T  # (N, L): u[i, i, l].
  # The negatives of row i are the same for each of its L positives: one logsumexp per image.
  negatives = jax.nn.logsumexp(scores, axis=(1, 2), b=(~pos).astype(scores.dtype))  # (N,)
  if same_image == 'minus10':
    negatives = jnp.logaddexp(negatives, -10.0 + math.log(locations))
  log_normaliser = jnp.logaddexp(positives, negatives[:, None])
  return jnp.mean(log_normaliser - positives)


def mi_loss(scores: jax.Array, config: ml_collections.ConfigDict) -> jax.Array:
  """config.dim.estimator's loss on scores (N, N, L)."""
  estimator = config.dim.estimator
  if estimator == 'jsd':
    return jsd_loss(scores, config.dim.jsd_log2)
  if estimator == 'dv':
    return dv_loss(scores)
  return infonce_loss(scores, config.dim.infonce_same_image)


# -------------------------------------------------------------------------------------------------

def critic_names(config: ml_collections.ConfigDict, term: str) -> tuple[str, ...]:
  """The networks scoring `term`: one pair critic (DIM(G) 'paper') or a map and a code side."""
  if term == 'global' and config.dim.global_critic == 'paper':
    return ('global_pair_critic',)
  return (f'{term}_map_critic', f'{term}_code_critic')


class DIM(base.Objective):
  """Encoder + MI critics (group 'encoder') and the prior discriminator."""

  players = ('encoder', 'prior_disc')  # No 'prior_disc' group without the prior term (gamma).

  def __init__(self, config, image_shape):
    d = config.dim
    for field, choices in (('estimator', ESTIMATORS), ('probe_on', PROBE_LAYERS),
                           ('infonce_same_image', INFONCE_SAME_IMAGE),
                           ('prior_loss', PRIOR_LOSSES), ('global_critic', GLOBAL_CRITICS),
                           ('prior_penalty_examples', PENALTY_EXAMPLES)):
      cc.check_choice(config, f'dim.{field}', choices, what='valid')
    for field in ('alpha', 'beta', 'gamma', 'prior_gradient_penalty'):
      cc.check_nonnegative(config, f'dim.{field}')
    if not d.alpha and not d.beta:
      raise ValueError('config.dim.alpha and config.dim.beta are both 0: DIM needs a global '
                       '(alpha) or local (beta) mutual-information term')
    for field in ('code_size', 'embed_units'):
      cc.check_integer(config, f'dim.{field}', 1)
    decoding = [name for name in config.eval.evaluators if name in DECODING_EVALUATORS]
    if decoding:
      raise ValueError(f'config.eval.evaluators lists {decoding}, which decode codes, but '
                       "objective 'dim' has no decoder; list evaluators that only encode "
                       "(e.g. 'probe', 'ndm')")
    if len(image_shape) != 3:
      raise ValueError(f"objective 'dim' takes images (H, W, C), but config.data.name="
                       f'{config.data.name!r} gives inputs of shape {tuple(image_shape)}')
    dim_models.check_image_size(image_shape[0])
    # Only the networks whose term has a weight exist (and train).
    self.mi_terms = tuple(term for term, weight in (('local', d.beta), ('global', d.alpha))
                          if weight)
    critics = tuple(name for term in self.mi_terms for name in critic_names(config, term))
    self.groups = {'encoder': ('encoder', *critics)}
    if d.gamma:
      self.groups['prior_disc'] = ('prior_disc',)
    super().__init__(config, image_shape)

  # Networks --------------------------------------------------------------------------------------

  def build_networks(self):
    d = self.config.dim
    units = int(d.embed_units)
    networks = {'encoder': dim_models.Encoder(code_size=int(d.code_size))}
    for term in self.mi_terms:
      if term == 'global' and d.global_critic == 'paper':
        networks['global_pair_critic'] = dim_models.PairCritic(PAIR_CRITIC_HIDDEN)
      elif term == 'global' and d.global_critic == 'code':
        networks['global_map_critic'] = dim_models.GlobalConvCritic(units)
        networks['global_code_critic'] = dim_models.Projection(units)
      else:
        embed = lambda layer_norm: dim_models.Embedding(
            units=units, layer_norm=layer_norm, batchnorm=d.critic_batchnorm)
        networks[f'{term}_map_critic'] = embed(True)  # Table 9: ends in a layer norm.
        networks[f'{term}_code_critic'] = embed(d.code_critic_layer_norm)  # Table 8: none.
    if d.gamma:
      networks['prior_disc'] = dim_models.PriorDiscriminator()
    return networks

  def example_inputs(self):
    images = jnp.zeros((1, *self.image_shape), jnp.float32)
    shapes = jax.eval_shape(self.networks['encoder'].init_with_output, jax.random.key(0),
                            images)[0]
    features = {name: jnp.zeros(s.shape, jnp.float32) for name, s in shapes.items()}
    inputs = {'encoder': images}
    for term in self.mi_terms:
      inputs.update(self.critic_inputs(term, features))
    if 'prior_disc' in self.networks:
      inputs['prior_disc'] = features['code']
    if 'probe' in self.networks:
      inputs['probe'] = features[self.config.dim.probe_on]
    return inputs

  def critic_inputs(self, term: str, features: dict[str, jax.Array]) -> dict[str, Any]:
    """Each critic of `term` -> its input: the local map's locations (B, L, C); DIM(G)'s
    flattened last conv map as one location (B, 1, 4096) ('encode_dot'), its (map, code) pair
    ('paper') or the 8x8 local map itself ('code'); the code Y (B, d) on the code side."""
    local, conv, code = features['local'], features['conv'], features['code']
    flat_conv = conv.reshape(conv.shape[0], -1)
    if term == 'local':
      return {'local_map_critic': local.reshape(local.shape[0], -1, local.shape[-1]),
              'local_code_critic': code}
    if self.config.dim.global_critic == 'paper':
      return {'global_pair_critic': (flat_conv, code)}
    return {'global_map_critic': local if self.config.dim.global_critic == 'code'
                                 else flat_conv[:, None, :],
            'global_code_critic': code}

  def term_scores(self, term, params, collections, features):
    """u (N, N, L) of `term` and its critics' updated collections. Critics exist only for the
    loss, so their BatchNorms always use batch statistics (the code's do in training; it reads
    running averages only for losses logged in eval mode); the averages live in the state."""
    out, new = {}, {}
    for name, x in self.critic_inputs(term, features).items():
      out[name], new[name] = self.apply_net(name, params, collections, x, True)
    if 'global_pair_critic' in out:
      return out['global_pair_critic'][:, :, None], new
    return mi_scores(out[f'{term}_map_critic'], out[f'{term}_code_critic']), new

  def apply_net(self, name, params, collections, x, train):
    """networks[name](x); in training also its updated 'batch_stats' (unchanged if it has none)."""
    variables = {'params': params[name], **collections.get(name, {})}
    if train and name in collections:
      return self.networks[name].apply(variables, x, train=True, mutable=['batch_stats'])
    return self.networks[name].apply(variables, x, train=train), collections.get(name)

  # The losses ------------------------------------------------------------------------------------

  def generator_loss(self, params, state, batch, key):
    """alpha * L_global + beta * L_local + gamma * prior term, in the encoder group's params."""
    d, collections = self.config.dim, {}
    features, collections['encoder'] = self.apply_net('encoder', params, state.collections,
                                                      batch['image'], True)
    squashed = jax.nn.sigmoid(features['code'])  # What the prior discriminator judges.
    loss, metrics = 0.0, {}
    for term in self.mi_terms:
      scores, term_collections = self.term_scores(term, params, state.collections, features)
      collections.update(term_collections)
      term_loss = mi_loss(scores, self.config)
      loss += (d.beta if term == 'local' else d.alpha) * term_loss
      metrics[f'encoder/{term}_mi_loss'] = term_loss
    if d.gamma:
      # D is a constant here: state.params, not the differentiated `params`.
      logits = self.networks['prior_disc'].apply({'params': state.params['prior_disc']},
                                                 squashed)
      prior = (jnp.mean(jax.nn.softplus(-logits)) if d.prior_loss == 'non_saturating'
               else -jnp.mean(jax.nn.softplus(logits)))
      loss += d.gamma * prior
      metrics['encoder/prior_loss'] = prior
    collections = {k: v for k, v in collections.items() if v is not None}
    return loss, two_player.Played(
        codes=features[d.probe_on], disc_inputs=squashed, collections=collections,
        metrics={'encoder/loss': loss, **metrics})

  def discriminator_loss(self, params, state, batch, played, key):
    loss, metrics = self.prior_disc_loss(params['prior_disc'], played.disc_inputs, key)
    return loss, ({}, metrics)

  def prior_disc_loss(self, params, codes, key):
    """BCE of D on U[0,1]^d samples (real) and sigmoid codes (fake); optional gradient penalty."""
    disc = lambda z: self.networks['prior_disc'].apply({'params': params}, z)
    prior = jax.random.uniform(key, codes.shape, codes.dtype)
    real, fake = disc(prior), disc(codes)
    loss = jnp.mean(jax.nn.softplus(-real)) + jnp.mean(jax.nn.softplus(fake))
    metrics = {'prior_disc/prior_prob': jnp.mean(jax.nn.sigmoid(real)),
               'prior_disc/code_prob': jnp.mean(jax.nn.sigmoid(fake))}
    if self.config.dim.prior_gradient_penalty:
      # The reference code's penalty (`discriminator.py:47-49`): squared norms of dD/dz,
      # averaged over both inputs. D is per-example, so the gradient of the sum gives each
      # example's own gradient. 'last': as `gradient_penalty.py:37-40` computes it, whose
      # `network(*input)[-1]` keeps only the batch's last score: that example's squared norm,
      # divided by the batch size ('all': the mean over the batch).
      def norm2(z):
        per_example = jnp.sum(jax.grad(lambda v: jnp.sum(disc(v)))(z)**2, axis=-1)
        if self.config.dim.prior_penalty_examples == 'last':
          return per_example[-1] / z.shape[0]
        return jnp.mean(per_example)
      penalty = 0.5 * (norm2(prior) + norm2(codes))
      loss += self.config.dim.prior_gradient_penalty * penalty
      metrics['prior_disc/gradient_penalty'] = penalty
    return loss, {'prior_disc/loss': loss, **metrics}

  # Inference -------------------------------------------------------------------------------------

  def inference_params(self, state):
    """The params plus the running BatchNorm averages, for `encode` in inference mode."""
    return {**state.params, 'encoder_batch_stats': state.collections['encoder']['batch_stats']}

  def features(self, params, images: jax.Array) -> dict[str, jax.Array]:
    """Every encoder layer in inference mode (running averages); params: inference_params."""
    if 'encoder_batch_stats' not in params:
      raise ValueError("objective 'dim' encodes with BatchNorm running averages: pass "
                       'inference_params(state), not state.params')
    return self.networks['encoder'].apply(
        {'params': params['encoder'], 'batch_stats': params['encoder_batch_stats']}, images,
        train=False)

  def encode(self, params, images):
    """The layer config.dim.probe_on selects ('code' = Y, 'fc', 'conv'), in inference mode."""
    return self.features(params, images)[self.config.dim.probe_on]

  def decode(self, params, codes):
    raise NotImplementedError("objective 'dim' has no decoder (config.eval.evaluators: 'probe')")

