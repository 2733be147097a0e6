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
to read them off fakes. The class is AMR through its hooks (ae_gan.py): `generate` adds the
class mix to the fakes, `gan_logits` reads D's real-or-fake head, and `extra_generator_loss` /
`extra_disc_loss` add the terms above.

config.supervised.variant = 'reference' is the authors' supervised loop instead
(docs/faithfulness.md#a13; `swapgan.py:383-462` at commit 8187d92 of christopher-beckham/amr, the
class mixer at `architectures/discriminators.py:361-376`). Against the paper's:
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

import jax
import jax.numpy as jnp

from mixres import config_checks as cc
from mixres import mixers
from mixres.data import sources
from mixres.models import auxiliary
from mixres.models import class_mixer
from mixres.objectives import ae_gan
from mixres.objectives import amr
from mixres.objectives import base
from mixres.objectives import losses


VARIANTS = ('paper', 'reference')


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
  # The reference's supervised loop runs D otherwise; its forwards are not counted (no table
  # runs that loop).
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

  # AMR's hooks ----------------------------------------------------------------------------------

  def generate(self, params, batch, key) -> ae_gan.Generated:
    """f(x), both mixes, and the decoded [x_hat, g(unsupervised), g(class mix)] from one
    decoder call; info: y_mix and p."""
    codes = self.encode(params, batch['image'])
    unsupervised, mixed, y_mix, p = self.mixes(params, codes, self.attributes(batch), key)
    decoded = self.decode(params, jnp.concatenate([codes, unsupervised, mixed]))
    return ae_gan.Generated(codes, [unsupervised, mixed], jnp.split(decoded, 3),
                            {'y_mix': y_mix, 'p': p})

  def gan_logits(self, outputs):
    return outputs[0]  # D's outputs: (real-or-fake logits, attribute logits).

  def extra_generator_loss(self, params, generated, outputs):
    """w cls(D_cls(g(class mix)), y_mix), Eq. 3's consistency on the unsupervised mix, and the
    'reference' variant's own terms."""
    sup, y_mix = self.config.supervised, generated.info['y_mix']
    cls_mix = outputs[2][1]
    cls = losses.attribute_loss(cls_mix, y_mix, sup.classifier)
    consistency, consistency_metrics = super().extra_generator_loss(params, generated, outputs)
    terms = [sup.cls_weight * cls, *consistency]
    metrics = {'gen/cls': cls, 'gen/mask_mean': jnp.mean(generated.info['p']),
               **consistency_metrics,
               'gen/mix_cls_accuracy': losses.attribute_accuracy(cls_mix, y_mix, sup.classifier)}
    if self.reference:
      reference_loss, reference_metrics = self.reference_generator_terms(params, generated)
      terms.append(reference_loss)
      metrics.update(reference_metrics)
    return terms, metrics

  def reference_generator_terms(self, params, generated: ae_gan.Generated):
    """The 'reference' variant's extra G loss: mask prior and the class mix's consistency."""
    cfg = self.config
    prior = class_mixer.mask_count_prior(generated.info['p'])  # The soft mask m is p.
    loss, metrics = cfg.supervised.mask_prior * prior, {'gen/mask_prior': prior}
    if cfg.beta:
      consistency = losses.reconstruction(
          generated.extras[1], self.encode(params, generated.fakes[2]), cfg.recon)
      loss += cfg.beta * consistency
      metrics['gen/consistency_sup'] = consistency
    return loss, metrics

  def extra_disc_loss(self, batch, outputs, gan):
    """cls(D_cls(x), y) on real images only, weighted by cls_weight ('paper') or 1."""
    sup, y = self.config.supervised, self.attributes(batch)
    cls_real = outputs[0][1]
    cls = losses.attribute_loss(cls_real, y, sup.classifier)
    # The reference weights D's term by 1 and only G's by cls (swapgan.py:425, 459-460).
    return [(1.0 if self.reference else sup.cls_weight) * cls], {
        'disc/gan': gan, 'disc/cls': cls,
        'disc/cls_accuracy': losses.attribute_accuracy(cls_real, y, sup.classifier),
        'disc/unsupervised_mix_prob': jnp.mean(jax.nn.sigmoid(outputs[2][0])),
        'disc/mix_prob': jnp.mean(jax.nn.sigmoid(outputs[3][0]))}
