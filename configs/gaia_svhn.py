"""GAIA as a baseline in the AMR paper's SVHN column: d_h = 32 ACAI-style nets, linear probe.

  python -m mixres.main --config=configs/gaia_svhn.py --workdir=runs/svhn_gaia
  python -m mixres.main --config=configs/gaia_svhn.py:local --workdir=runs/gaia_digits_local

GAIA (docs/methods.md#gaia) with the AMR protocol around it (docs/methods.md#amr-protocol): TFDS
'svhn_cropped' train split cut 90/10, the 32x32 ACAI-style encoder/decoder for G and a second
such autoencoder for D, bottleneck 2 x 4 x 4 = 32, batch 64, 3500 epochs, best validation
accuracy of the jointly trained linear probe. The GAIA paper has no SVHN run: its CelebA nets
are residual style/content autoencoders, which we do not reproduce. Optimiser: the GAIA code's
Adam (TF defaults, lr 1e-4, no weight decay; epsilon 1e-8 as its training notebook passes it,
`adam_eps = 1.0e-8`, over network.py:11's default 1.0). Losses as the GAIA code computes them
(docs/faithfulness.md#b1, #b2): gradients through p_fake and p_gen (network.py:100-119), L_D and
L_G clipped to [-1, 1] (network.py:108, 116), every L1 on the [0, 1] scale of its /255 images
with a sigmoid decoder (network.py:284), i.e. half of ours on [-1, 1]; our decoder stays linear.
Time: 3500 epochs of 65,931 = 3,605,602 steps; an accelerator job (weeks on this CPU).
'local': the CPU variant, no download: 500 steps on scikit-learn's embedded digits (1,438
train / 359 valid, resized to 32x32x1), probe lr 1e-2. Measured here: 18 m 15 s wall (8 m 44 s
of CPU) with other jobs on the 2 cores; best probe accuracy 91.4%.
"""

from configs import amr_paper
from configs import base
from mixres import config_arg


def set_code_losses(config) -> None:
  """The GAIA code's balancing gradients, loss clip and [0, 1] loss scale
  (docs/faithfulness.md#b1, #b2)."""
  config.gaia.balance_gradient = 'through'  # network.py:100-119, 135-136.
  config.gaia.clip_losses = True  # network.py:108, 116.
  config.gaia.loss_scale = 'unit'  # Images /255 and a sigmoid decoder, network.py:284.


def get_config(arg=None):
  flags, = config_arg.parse(arg)
  config = base.get_config()
  config.objective = 'gaia'
  # GAIA code: tf.train.AdamOptimizer(lr_max=1e-4) with default betas, no weight decay.
  config.optim.lr = 1e-4
  config.optim.b1 = 0.9
  config.optim.b2 = 0.999
  config.optim.weight_decay = 0.0
  set_code_losses(config)
  if 'local' in flags:
    amr_paper.make_local(config)
    config.data.name = 'digits'
    config.data.valid_fraction = 0.2  # As configs/quickstart.py.
  else:
    config.setting = 'svhn:gaia'  # Reports put it in Table 1's SVHN column.
    config.data.name = 'svhn_cropped'
    config.num_epochs = 3500.0
  return config
