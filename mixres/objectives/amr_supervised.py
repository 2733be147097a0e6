"""Supervised AMR (section 2.2 and Eq. 7 of the AMR paper): mixes that carry requested attributes.

Each example (x1, y1) is paired with a random batch partner (x2, y2) (mixers.partners). The
conditioning label is y_mix = alpha y1 + (1 - alpha) y2 with alpha ~ U(0, 1), so that it only
asks for what the pair holds; the class mixer embed(y_mix) gives Bernoulli parameters p per
feature map and mix = m f(x1) + (1 - m) f(x2), m ~ Bernoulli(p) (mixres/models/class_mixer.py;
config.supervised.mask chooses how its gradient passes the sampling). The discriminator gains
an auxiliary classifier head (ACGAN; mixres/models/auxiliary.py).

"In addition to their unsupervised losses described in Equation 3", i.e. AMR (amr.py: lam *
recon + BCE(D(x_hat), 1) + BCE(D(g(Mix(h1, h2))), 1) [+ beta consistency] for G, BCE(D(x), 1) +
BCE(D(x_hat), 0) + BCE(D(g(Mix(h1, h2))), 0) for D, with Mix = config.mixer over config.k
examples; D every step and G every gen_every-th, both from the pre-step parameters), the losses
add:

  G (encoder, decoder, embed): BCE(D(g(mix_sup)), 1) + w * cls(D_cls(g(mix_sup)), y_mix)
  D (trunk and head):          BCE(D(g(mix_sup)), 0) + w * cls(D_cls(x), y)

w = config.supervised.cls_weight (the paper: 1), cls = losses.attribute_loss, sigmoid BCE on
binary attributes or softmax CE on classes (config.supervised.classifier). D's classifier
learns from real images only, so it is the judge of the mixes' attributes and G cannot teach it
to read them off fakes.

config.supervised.variant = 'reference' is the authors' supervised loop instead (AUDIT.md A13;
`swapgan.py:383-462` at commit 8187d92 of christopher-beckham/amr, the class mixer at
`architectures/discriminators.py:361-376`). Against the paper's:
- y_mix crosses the pair's labels over attribute by attribute, a fair coin each
  (swapgan.py:412-415), instead of alpha y1 + (1 - alpha) y2: every requested bit is 0 or 1;
- the partner is the one the unsupervised mix paired the example with (one permutation,
  swapgan.py:386, 392, 415-416), not a fresh one;
- the mask is soft, m = p = sigmoid(ReLU(embed(y_mix))) (discriminators.py:370-376): never
  sampled, and p >= 1/2; embed's hidden widths there are C, C (set by the config);
- G adds mask_prior * mean_b (sum_c m - C/2)^2 (swapgan.py:79, 422, 426; 1e-4) and
  beta * recon(mix_sup, f(g(mix_sup))), the consistency term on the supervised mix with the
  same beta as Eq. 3's mix (swapgan.py:395-396, 421, 424);
- D's classification term has weight 1 whatever cls_weight, which weights G's only
  (swapgan.py:425 against 459-460).
It needs mask='soft', classifier='sigmoid' (their BCE head, swapgan.py:419, 459) and k = 2 (their
k-way classes refuse supervised mixing: threegan.py:17-18, kgan.py:15-16).
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from mixres import config_checks as cc
from mixres import mixers
from mixres.data import sources
from mixres.models import auxiliary
from mixres.models import class_mixer
from mixres.objectives import amr
from mixres.objectives import base
from mixres.objectives import losses


VARIANTS = ('paper', 'reference')


class Generated(NamedTuple):
  """What the generator makes of a batch in one step."""
  codes: jax.Array  # f(x)
  y_mix: jax.Array  # (B, A) the attributes the class mix is asked for
  p: jax.Array  # (B, C) embed's Bernoulli parameters (the 'reference' variant's mask itself)
  unsupervised: jax.Array  # Eq. 3's Mix(f(x), f(x'))
  mixed: jax.Array  # Mix_sup(f(x1), f(x2), y_mix)
  fakes: list  # [g(f(x)), g(unsupervised), g(mixed)]


def _check_config(config) -> None:
  """One-line ValueErrors naming the supervised field at fault and its valid values."""
  cfg = config.supervised
  cc.check_choice(config, 'supervised.variant', VARIANTS, what='a variant')
  cc.check_choice(config, 'supervised.mask', class_mixer.MASKS, what='a mask')
  cc.check_positive(config, 'supervised.temperature', why="the relaxed Bernoulli's temperature")
  cc.check_choice(config, 'supervised.classifier', losses.CLASSIFIERS, what='a classifier loss')
  cc.check_nonnegative(config, 'supervised.cls_weight')
  cc.check_nonnegative(config, 'supervised.mask_prior')
  if any(int(w) < 1 for w in cfg.embed_hidden):
    raise ValueError(f'config.supervised.embed_hidden={tuple(cfg.embed_hidden)} must hold '
                     'layer widths >= 1')
  if cfg.variant == 'reference':
    if cfg.mask != 'soft':
      raise ValueError(f"config.supervised.mask={cfg.mask!r}: variant 'reference' uses the "
                       "authors' unsampled mask m = p; choose: soft")
    if cfg.classifier != 'sigmoid':
      raise ValueError(f"config.supervised.classifier={cfg.classifier!r}: variant 'reference' "
                       'asks for 0/1 attribute bits of a BCE head; choose: sigmoid')
    if config.k != 2:
      raise ValueError(f"config.k={config.k!r}: variant 'reference' pairs each example with "
                       "the unsupervised mix's one partner; choose: 2")


class SupervisedAMR(amr.AMR):
  """AMR + a learned class mixer whose decoded mixes D's auxiliary classifier must agree with."""

  groups = {'generator': ('encoder', 'decoder', 'class_mixer'), 'disc': ('disc',)}
  # Its own update below does not count the reference's D forwards (no table runs this loop).
  spectral_updates = ('per_step',)

  def __init__(self, config, image_shape):
    _check_config(config)
    self.reference = config.supervised.variant == 'reference'
    auxiliary.check_arch(config.model.arch)  # Before the autoencoder's own size checks.
    self.num_attributes = self._count_attributes(config)
    super().__init__(config, image_shape)

  @staticmethod
  def _count_attributes(config) -> int:
    """Length of y: the batch's binary attributes ('sigmoid') or its classes ('softmax')."""
    if config.supervised.classifier == 'softmax':
      if config.data.num_classes < 1:
        raise ValueError("config.supervised.classifier='softmax' conditions on the class label, "
                         f'but config.data.num_classes={config.data.num_classes}; use >= 1')
      return int(config.data.num_classes)
    names = sources.attribute_names(config.data)
    if not names:
      raise ValueError(
          "config.supervised.classifier='sigmoid' needs binary attributes in the batch, but "
          f'config.data.name={config.data.name!r} has none; use celeb_a (data.attributes) or '
          f'set config.data.derived_attributes (on {", ".join(sources.DIGIT_DATASETS)})')
    return len(names)

  def build_networks(self):
    networks = base.Objective.build_networks(self)  # Encoder, decoder; D is ours.
    networks['disc'] = auxiliary.build_auxiliary_discriminator(
        self.config, self.image_shape, self.num_attributes)
    code_shape = jax.eval_shape(networks['encoder'].init_with_output, jax.random.key(0),
                                jnp.zeros((1, *self.image_shape), jnp.float32))[0].shape
    hidden = tuple(int(w) for w in self.config.supervised.embed_hidden)
    networks['class_mixer'] = class_mixer.ClassMixer(num_channels=code_shape[-1], hidden=hidden,
                                                     final_relu=self.reference)
    return networks

  def example_inputs(self):
    inputs = super().example_inputs()
    inputs['class_mixer'] = jnp.zeros((1, self.num_attributes), jnp.float32)
    return inputs

  # The class mixer ------------------------------------------------------------------------------

  def attributes(self, batch) -> jax.Array:
    """y (B, A) float32: the 'attributes' bits, or the one-hot 'label' for 'softmax'."""
    if self.config.supervised.classifier == 'softmax':
      return jax.nn.one_hot(batch['label'], self.num_attributes, dtype=jnp.float32)
    return batch['attributes'].astype(jnp.float32)

  def embed_logits(self, params, y: jax.Array) -> jax.Array:
    """embed(y): Bernoulli logits per feature map (B, C); p = sigmoid of them."""
    return self.networks['class_mixer'].apply({'params': params['class_mixer']}, y)

  def class_mix(self, params, h1: jax.Array, h2: jax.Array, y: jax.Array, key: jax.Array
                ) -> tuple[jax.Array, jax.Array]:
    """Mix_sup(h1, h2, y) = m h1 + (1 - m) h2 with m from embed(y); returns (mix, p)."""
    logits = self.embed_logits(params, y)
    cfg = self.config.supervised
    m = class_mixer.mask(key, logits, cfg.mask, float(cfg.temperature))
    return class_mixer.apply_mask(m, h1, h2), class_mixer.probabilities(logits)

  def mix_batch(self, params, codes: jax.Array, y: jax.Array, key: jax.Array):
    """(mix, y_mix, p) for every example with a random partner of the batch (Eq. 7)."""
    perm_key, alpha_key, mask_key = jax.random.split(key, 3)
    # The same key gives the same permutation (it depends only on the key and batch size), so
    # codes and labels are paired alike.
    h1, h2 = mixers.partners(perm_key, codes, 2)
    y1, y2 = mixers.partners(perm_key, y, 2)
    y_mix = mixers.convex_mix(jax.random.uniform(alpha_key, (codes.shape[0],)), y1, y2)
    mixed, p = self.class_mix(params, h1, h2, y_mix, mask_key)
    return mixed, y_mix, p

  def reference_mix_batch(self, params, codes: jax.Array, y: jax.Array, partner: jax.Array,
                          key: jax.Array):
    """(mix, y_mix, p) as the authors' loop: partner (B,) given, y_mix crossed over per bit."""
    label_key, mask_key = jax.random.split(key)
    y_mix = class_mixer.crossover_labels(label_key, y, y[partner])
    mixed, p = self.class_mix(params, codes, codes[partner], y_mix, mask_key)
    return mixed, y_mix, p

  def mixes(self, params, codes: jax.Array, y: jax.Array, key: jax.Array):
    """(unsupervised mix, class mix, y_mix, p) of a batch of codes."""
    unsupervised_key, supervised_key = jax.random.split(key)
    (unsupervised,) = self.extra_codes(codes, unsupervised_key)  # Eq. 3's Mix(h1, h2).
    if self.reference:
      # The partner of Eq. 3's mix, read from its key: both mixes pair x with the same x'.
      partner = mixers.mix_partner_indices(unsupervised_key, codes.shape[0], 2)[0]
      mixed, y_mix, p = self.reference_mix_batch(params, codes, y, partner, supervised_key)
    else:
      mixed, y_mix, p = self.mix_batch(params, codes, y, supervised_key)
    return unsupervised, mixed, y_mix, p

  # The step --------------------------------------------------------------------------------------

  def generate_supervised(self, params, x, y, key) -> Generated:
    """f(x), both mixes, and the decoded [x_hat, g(unsupervised), g(class mix)] from one
    decoder call."""
    codes = self.encode(params, x)
    unsupervised, mixed, y_mix, p = self.mixes(params, codes, y, key)
    decoded = self.decode(params, jnp.concatenate([codes, unsupervised, mixed]))
    return Generated(codes, y_mix, p, unsupervised, mixed, jnp.split(decoded, 3))

  def reference_generator_terms(self, params, generated: Generated):
    """The 'reference' variant's extra G loss: mask prior and the class mix's consistency."""
    cfg = self.config
    prior = class_mixer.mask_count_prior(generated.p)  # The soft mask m is p.
    loss, metrics = cfg.supervised.mask_prior * prior, {'gen/mask_prior': prior}
    if cfg.beta:
      consistency = losses.reconstruction(
          generated.mixed, self.encode(params, generated.fakes[2]), cfg.recon)
      loss += cfg.beta * consistency
      metrics['gen/consistency_sup'] = consistency
    return loss, metrics

  def update(self, state, batch, key, update_generator: bool = True):
    x, cfg, sup = batch['image'], self.config, self.config.supervised
    y = self.attributes(batch)
    gen_params = self.group_params(state.params, 'generator')
    metrics = {}

    if update_generator:
      def gen_loss(params):
        gen = self.generate_supervised(params, x, y, key)
        fakes, y_mix = gen.fakes, gen.y_mix
        recon = losses.reconstruction(x, fakes[0], cfg.recon)
        logits, cls_logits = self.disc_logits(state, jnp.concatenate(fakes))
        cls_mix = jnp.split(cls_logits, 3)[2]
        adversarial = sum(losses.gan_loss(fake, 1.0) for fake in jnp.split(logits, 3))
        cls = losses.attribute_loss(cls_mix, y_mix, sup.classifier)
        consistency, extra_metrics = self.extra_generator_loss(params, [gen.unsupervised],
                                                               [fakes[1]])
        loss = cfg.lam * recon + adversarial + sup.cls_weight * cls + consistency
        if self.reference:
          reference_loss, reference_metrics = self.reference_generator_terms(params, gen)
          loss += reference_loss
          extra_metrics.update(reference_metrics)
        return loss, (gen.codes, fakes, {
            'gen/loss': loss, 'gen/recon': recon, 'gen/adversarial': adversarial,
            'gen/cls': cls, 'gen/mask_mean': jnp.mean(gen.p), **extra_metrics,
            'gen/mix_cls_accuracy': losses.attribute_accuracy(cls_mix, y_mix, sup.classifier)})

      (_, (codes, fakes, gen_metrics)), grads = jax.value_and_grad(gen_loss, has_aux=True)(
          gen_params)
      state, opt_metrics = self.apply_gradients(state, 'generator', grads)
      metrics.update(gen_metrics, **opt_metrics)
    else:
      gen = self.generate_supervised(gen_params, x, y, key)
      codes, fakes = gen.codes, gen.fakes

    # D judges the generator's outputs as constants: its loss never reaches G or embed.
    fakes = [jax.lax.stop_gradient(f) for f in fakes]

    def disc_loss(params):
      (logits, cls_logits), updated = self.disc_logits(state, jnp.concatenate([x, *fakes]),
                                                       params, update_stats=True)
      real, on_recon, on_unsupervised, on_mix = jnp.split(logits, 4)
      cls_real = jnp.split(cls_logits, 4)[0]
      gan = (losses.gan_loss(real, 1.0) + losses.gan_loss(on_recon, 0.0)
             + losses.gan_loss(on_unsupervised, 0.0) + losses.gan_loss(on_mix, 0.0))
      cls = losses.attribute_loss(cls_real, y, sup.classifier)
      # The reference weights D's term by 1 and only G's by cls (swapgan.py:425, 459-460).
      loss = gan + (1.0 if self.reference else sup.cls_weight) * cls
      return loss, (updated, {
          'disc/loss': loss, 'disc/gan': gan, 'disc/cls': cls,
          'disc/cls_accuracy': losses.attribute_accuracy(cls_real, y, sup.classifier),
          'disc/real_prob': jnp.mean(jax.nn.sigmoid(real)),
          'disc/recon_prob': jnp.mean(jax.nn.sigmoid(on_recon)),
          'disc/unsupervised_mix_prob': jnp.mean(jax.nn.sigmoid(on_unsupervised)),
          'disc/mix_prob': jnp.mean(jax.nn.sigmoid(on_mix))})

    (_, (updated, disc_metrics)), grads = jax.value_and_grad(disc_loss, has_aux=True)(
        state.params['disc'])
    state, opt_metrics = self.apply_gradients(state, 'disc', {'disc': grads})
    state = state.replace(collections={**state.collections, 'disc': updated})
    metrics.update(disc_metrics, **opt_metrics)
    return state, metrics, codes
