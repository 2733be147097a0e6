"""An auxiliary-classifier discriminator (ACGAN, Odena et al. 2017) for supervised AMR.

Section 2.2 of the AMR paper branches a classifier p(y | x) off the end of the discriminator so
that the class mixer can be trained to make decoded mixes carry the requested attributes. The
module here keeps the family's spectral-norm discriminator as the trunk, unchanged (the real /
fake logit is the same function of the same parameters), and adds one spectrally normalised
dense layer on the spatially averaged last hidden map, giving one logit per attribute (sigmoid)
or class (softmax): the loss is the objective's choice (config.supervised.classifier).
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections

from mixres.models import convnets

# Families whose discriminator can hand out its last hidden map (`with_features`).
FAMILIES = ('acai',)


class AuxiliaryDiscriminator(nn.Module):
  """images -> (real/fake logits (B,), attribute logits (B, num_outputs)).

  trunk: a discriminator built with `with_features=True`, returning (logits, hidden map). Its
  power iterations and the head's share the 'spectral' collection, so one `update_stats` call
  advances both, as with the plain discriminator.
  """
  trunk: nn.Module
  num_outputs: int

  @nn.compact
  def __call__(self, x: jax.Array, update_stats: bool = False
               ) -> tuple[jax.Array, jax.Array]:
    logits, features = self.trunk(x, update_stats)
    pooled = jnp.mean(features, axis=tuple(range(1, features.ndim - 1)))  # (B, channels)
    head = convnets.spectral(nn.Dense(self.num_outputs, name='classifier'), update_stats)
    return logits, head(pooled)


def check_arch(arch: str) -> None:
  """ValueError unless family `arch` has an auxiliary-classifier discriminator."""
  if arch not in FAMILIES:
    raise ValueError(f'config.model.arch={arch!r} has no auxiliary-classifier discriminator '
                     f'(supervised AMR); choose one of: {", ".join(FAMILIES)}')


def build_auxiliary_discriminator(config: ml_collections.ConfigDict,
                                  image_shape: tuple[int, int, int], num_outputs: int
                                  ) -> AuxiliaryDiscriminator:
  """The AC discriminator of `config.model.arch`; ValueError for families without one."""
  check_arch(config.model.arch)
  if int(num_outputs) < 1:
    raise ValueError(f'the auxiliary classifier needs >= 1 output, got {num_outputs}')
  trunk = convnets.build_discriminator(config, image_shape).clone(with_features=True)
  return AuxiliaryDiscriminator(trunk=trunk, num_outputs=int(num_outputs))
