"""Registry of objectives: config.objective -> class. Adding a method = one module + one line."""

from mixres import config_checks as cc
from mixres.objectives.acai import ACAI
from mixres.objectives.ae import AE
from mixres.objectives.ae_gan import AEGAN
from mixres.objectives.amr import AMR
from mixres.objectives.amr_supervised import SupervisedAMR
from mixres.objectives.augint import AdversarialAugIntAE
from mixres.objectives.augint import AugIntAE
from mixres.objectives.base import Objective
from mixres.objectives.dim import DIM
from mixres.objectives.gaia import GAIA
from mixres.objectives.vae import VAE

OBJECTIVES: dict[str, type[Objective]] = {
    'acai': ACAI,
    'ae': AE,
    'ae_gan': AEGAN,
    'amr': AMR,
    'amr_supervised': SupervisedAMR,
    'augint': AugIntAE,
    'augint_adv': AdversarialAugIntAE,
    'dim': DIM,
    'gaia': GAIA,
    'vae': VAE,
}


def get_objective(config, image_shape) -> Objective:
  """Builds config.objective; ValueError naming the valid choices for an unknown name."""
  cc.check_choice(config, 'objective', sorted(OBJECTIVES), what='an objective')
  return OBJECTIVES[config.objective](config, image_shape)
