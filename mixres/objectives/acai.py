"""ACAI, adversarially constrained autoencoder interpolation (Berthelot et al. 2019): two variants.

A critic looks at decoded mixes g(alpha f(x) + (1 - alpha) f(x')) of a code and a random batch
partner's and tries to tell how mixed they are; the autoencoder tries to make every mix look
unmixed. docs/methods.md#acai; the AMR paper (section 3 and Tables 1 to 3) for 'amr'. The
partner x' (`config.acai.partner`) is the batch reversed, 'reversed' (the ACAI code, acai.py:64
of brain-research/acai: `encode[::-1]`, so no example of an even batch meets itself), or a
random permutation of it, 'permutation' (the AMR authors' acai_f3.py: `torch.randperm`, which
leaves about one example a batch mixed with itself, a plain reconstruction labelled mixed).

`config.acai.variant`:
- 'paper' (default; the ACAI paper and its code): alpha ~ U(0, 1) folded to 0.5 - |alpha - 0.5|,
  so alpha is in [0, 0.5]; a least-squares critic d regresses alpha:
    L_d  = mean (d(g(mix)) - alpha)^2 + mean d(gamma x + (1 - gamma) g(f(x)))^2
    L_ae = recon(x, g(f(x))) + acai.lam * mean d(g(mix))^2
  Every network steps every iteration, both on the same forward pass (the code's grouped ops).
- 'amr' (the AMR authors' run of ACAI, their `acai_f3`): alpha ~ U(0, 1) unfolded; D is a JS-GAN
  classifier of "how mixed", real images and reconstructions both labelled 0:
    L_D = BCE(D(x), 0) + BCE(D(g(f(x))), 0) + BCE(D(g(mix)), 2 min(alpha, 1 - alpha))
    L_G = config.lam * recon(x, g(f(x))) + BCE(D(g(mix)), 0)
  D steps every iteration, G every config.gen_every-th (as AE+GAN), both from the step's start.
  config.lam is the bracketed lambda of the AMR tables (configs/amr_paper.py, row 'acai').
The other differences are fields the AMR rows set: `acai.critic` ('encoder': ACAI's critic, the
encoder topology without normalisation, score = mean of its final map; 'spectral': AMR's
spectral-norm discriminator) and `acai.recon` ('l2' ACAI, 'l1' AMR's code).
Either way the critic's inputs are generator outputs held constant (stop_gradient), and the AE's
loss differentiates only the encoder and decoder: the critic's parameters are constants there.
With a spectral critic and config.model.spectral_updates='per_forward' its power iteration
advances once per critic forward of the reference step (models/acai_f3.py: one on the mix in
the generator half, every step, then x, g(f(x)) and the mix).
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from mixres import config_checks as cc
from mixres import mixers
from mixres import models
from mixres.objectives import ae_gan
from mixres.objectives import base
from mixres.objectives import losses
from mixres.objectives import two_player

VARIANTS = ('paper', 'amr')
CRITICS = ('encoder', 'spectral')
PARTNERS = ('reversed', 'permutation')


def fold_alpha(u: jax.Array) -> jax.Array:
  """U(0, 1) -> [0, 0.5] by folding at 1/2 (ACAI): alpha and 1 - alpha give the same mix pair."""
  return 0.5 - jnp.abs(u - 0.5)


def mix_target(alpha: jax.Array) -> jax.Array:
  """The 'amr' variant's D target: 2 min(alpha, 1 - alpha), 0 unmixed and 1 at the midpoint."""
  return 2.0 * jnp.minimum(alpha, 1.0 - alpha)


class MeanCritic(nn.Module):
  """ACAI's critic: an encoder-topology network whose score is the mean of its final map, (B,)."""
  encoder: nn.Module

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    out = self.encoder(x)
    return jnp.mean(out.reshape(out.shape[0], -1), axis=-1)  # No sigmoid: a regression.


class ACAI(base.Objective):
  """Autoencoder + critic on decoded mixes; see the module docstring for the two variants."""

  groups = {'generator': ('encoder', 'decoder'), 'critic': ('critic',)}
  players = ('generator', 'critic')
  # 'per_forward': G's half runs the critic once, on the mix, every step, as acai_f3.py does.
  spectral_updates = ('per_step', 'per_forward')

  def __init__(self, config, image_shape):
    cfg = config.acai
    cc.check_choice(config, 'acai.variant', VARIANTS, what='an ACAI variant')
    cc.check_choice(config, 'acai.critic', CRITICS, what='a critic')
    cc.check_choice(config, 'acai.recon', losses.RECONSTRUCTIONS, what='a reconstruction loss')
    cc.check_choice(config, 'acai.partner', PARTNERS, what='a partner')
    cc.check_nonnegative(config, 'acai.lam', why='the adversarial weight')
    cc.check_interval(config, 'acai.gamma', 0.0, 1.0)
    if cfg.variant == 'amr':
      ae_gan.check_generator_schedule(config)
    self.variant = cfg.variant
    super().__init__(config, image_shape)

  def build_networks(self):
    networks = super().build_networks()
    if self.config.acai.critic == 'spectral':
      networks['critic'] = models.build_discriminator(self.config, self.image_shape)
    else:
      plain = self.config.copy_and_resolve_references()
      plain.model.norm = 'none'  # ACAI's critic has no normalisation (and no spectral norm).
      networks['critic'] = MeanCritic(models.build_autoencoder(plain, self.image_shape)[0])
    return networks

  def example_inputs(self):
    inputs = super().example_inputs()
    inputs['critic'] = inputs['encoder']
    return inputs

  def schedule(self, step: int) -> dict[str, bool]:
    every = int(self.config.gen_every) if self.variant == 'amr' else 1
    return {'update_generator': step % every == 0}

  # Pieces ----------------------------------------------------------------------------------------

  def sample_alpha(self, key: jax.Array, batch_size: int) -> jax.Array:
    """Per-example mixing weights (B,): folded into [0, 0.5] for 'paper', U(0, 1) for 'amr'."""
    u = jax.random.uniform(key, (batch_size,))
    return fold_alpha(u) if self.variant == 'paper' else u

  def partner(self, key: jax.Array, codes: jax.Array) -> jax.Array:
    """The codes each example is mixed with: the batch reversed or randomly permuted."""
    if self.config.acai.partner == 'reversed':
      return codes[::-1]
    return mixers.partners(key, codes, 2)[1]

  def critic_scores(self, state, batches, params=None, spectral=None, update=False):
    """The critic's (B,) outputs on each of `batches`, and its 'spectral' state after (None for
    ACAI's critic, which has none; base.Objective.spectral_forwards says how it advances)."""
    if self.config.acai.critic == 'spectral':
      return self.spectral_forwards('critic', state, batches, params, spectral, update)
    params = state.params['critic'] if params is None else params
    scores = self.networks['critic'].apply({'params': params}, jnp.concatenate(batches))
    return jnp.split(scores, len(batches)), None

  # The losses ------------------------------------------------------------------------------------

  def generator_loss(self, params, state, batch, key):
    x, cfg = batch['image'], self.config.acai
    alpha_key, partner_key = jax.random.split(key)
    alpha = self.sample_alpha(alpha_key, x.shape[0])
    codes = self.encode(params, x)
    mixed = mixers.convex_mix(alpha, codes, self.partner(partner_key, codes))
    # g(f(x)) and g(alpha f(x) + (1 - alpha) f(x_partner)) from one decoder call.
    x_hat, x_mix = jnp.split(self.decode(params, jnp.concatenate([codes, mixed])), 2)
    recon = losses.reconstruction(x, x_hat, cfg.recon)
    (scores,), spectral = self.critic_scores(state, [x_mix])  # Critic params are constants here.
    if self.variant == 'paper':
      adversarial = jnp.mean(jnp.square(scores))
      loss = recon + cfg.lam * adversarial
    else:
      adversarial = losses.gan_loss(scores, 0.0)
      loss = self.config.lam * recon + adversarial
    return loss, two_player.Played(
        codes=codes, disc_inputs=(x_hat, x_mix, alpha), disc_state=spectral,
        metrics={'gen/loss': loss, 'gen/recon': recon, 'gen/adversarial': adversarial})

  def discriminator_loss(self, params, state, batch, played, key):
    x, cfg, (x_hat, x_mix, alpha) = batch['image'], self.config.acai, played.disc_inputs
    params, spectral = params['critic'], played.disc_state
    if self.variant == 'paper':
      blend = mixers.convex_mix(cfg.gamma, x, x_hat)
      (on_mix, on_real), updated = self.critic_scores(state, [x_mix, blend], params, spectral,
                                                      update=True)
      mix_term = jnp.mean(jnp.square(on_mix - alpha))
      real_term = jnp.mean(jnp.square(on_real))
    else:
      (on_real, on_recon, on_mix), updated = self.critic_scores(
          state, [x, x_hat, x_mix], params, spectral, update=True)
      mix_term = jnp.mean(optax.sigmoid_binary_cross_entropy(on_mix, mix_target(alpha)))
      real_term = losses.gan_loss(on_real, 0.0) + losses.gan_loss(on_recon, 0.0)
    loss = mix_term + real_term
    # ACAI's critic has no collection; the spectral one's power-iteration vectors move.
    return loss, ({} if updated is None else {'critic': updated},
                  {'critic/loss': loss, 'critic/mix': mix_term, 'critic/real': real_term})
