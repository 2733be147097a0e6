"""Adversarial mixup resynthesis (Eq. 3 of the AMR paper, consistency from supplement 7.3).

AE+GAN plus mixes: h_mix = Mix(f(x), f(x'), ...) over k examples of the batch; D labels g(h_mix)
fake and G tries to make it pass as real. With beta > 0 the generator also pays
beta * recon(h_mix, f(g(h_mix))) so that a decoded mix re-encodes to itself.
"""

from mixres import config_checks as cc
from mixres import mixers
from mixres.objectives import ae_gan
from mixres.objectives import losses


class AMR(ae_gan.AEGAN):
  """AE+GAN whose discriminator also judges decoded mixes of codes."""

  def __init__(self, config, image_shape):
    self.mix = mixers.get_mixer(config.mixer)
    self.mix_params = mixers.mixer_params(config)  # k; for 'bernoulli' also the k-way draw.
    cc.check_nonnegative(config, 'beta', why='the consistency weight')
    if config.beta and config.recon == 'bce_sum':  # The authors' dSprites runs all have beta 0.
      raise ValueError(f"config.beta={config.beta} needs config.recon='l1' or 'l2': the "
                       "consistency term compares codes, not images in [-1, 1] ('bce_sum')")
    super().__init__(config, image_shape)

  def extra_codes(self, codes, key):
    return [self.mix(key, codes, **self.mix_params)]

  def extra_generator_loss(self, params, generated, outputs):
    """beta recon(h_mix, f(g(h_mix))) on the first mix (supervised AMR's is Eq. 3's)."""
    if not self.config.beta:
      return [], {}
    mixed, decoded = generated.extras[0], generated.fakes[1]
    consistency = losses.reconstruction(mixed, self.encode(params, decoded), self.config.recon)
    return [self.config.beta * consistency], {'gen/consistency': consistency}
