"""GAIA on 2-D toy distributions (GAIA paper section 3.1): MLP autoencoders, 2-d latent.

  python -m mixres.main --config=configs/gaia_toys.py:moons --workdir=runs/gaia_moons
  toys: spiral (the default), moons, circles, blobs, swiss_roll, s_curve; the paper's five are
  scikit-learn's moons, circles, blobs, swiss_roll and s_curve (mixres/data/procedural.py).
  The paper's GAIA without the distance loss: add --config.gaia.dist_weight=0.
  GAIA's 2-D comparison (AE, VAE, GAIA on each toy, one figure each): launch/gaia_2d_study.sh.
  ',local' (e.g. configs/gaia_toys.py:spiral,local): 2,000 steps instead of 20,000.

Networks (appendix 5.1): 6 ReLU layers of 256 units in each of encoder and decoder, for G and
for D, a 2-d code (model.arch 'mlp'). Optimiser: the GAIA code's Adam (TF defaults, lr 1e-4, no
weight decay; epsilon 1e-8, which its training notebook passes). The paper gives
no batch size or length for these runs: batch 64 and 20,000 steps are our choice. Losses as
the GAIA code computes them (docs/faithfulness.md#b1, #b2): gradients through p_fake and p_gen,
L_D and L_G clipped to [-1, 1]; the L1 terms stay on the points' own scale (loss_scale 'pm1'):
the code's [0, 1] scale is that of its /255 images, and the 2-D code is not published.
Data: 10,000 points, 10% held out. Evaluation: 'toy_mixes' (decoded random mixes drawn over the
data, their distance to it; on the spiral the share on the curve) and, for the toys with
classes (moons 2, circles 2, blobs 8), the linear probe on the 2-d code.
Time here (2-core CPU, shared with other jobs): spiral 9 m 37 s (20,000 steps at 35 steps/s;
an idle machine runs 60 steps/s, about 6 minutes), toy/mixes_on_spiral 0.94; ',local' (moons)
1 m 13 s, probe 84.9%.
"""

from configs import base
from configs import gaia_svhn
from mixres import config_arg

TOYS = ('spiral', 'moons', 'circles', 'blobs', 'swiss_roll', 's_curve')
CLASSES = {'moons': 2, 'circles': 2, 'blobs': 8}  # As mixres/data/sources.py labels them.


def parse(arg: str | None) -> tuple[str, bool]:
  """'TOY[,local]' -> (toy, local); ValueError naming the toys."""
  toy, flags = config_arg.parse(arg, TOY=(TOYS, 'spiral'))
  return toy, 'local' in flags


def set_toy_vae(config) -> None:
  """For --config.objective=vae on points: a Gaussian p(x|z) (a Bernoulli suits binary pixels
  only). Its std, 0.1 of the toys' unit scale, is our choice: the GAIA paper gives none."""
  config.vae.likelihood = 'gaussian'
  config.vae.gaussian_std = 0.1


def get_config(arg=None):
  toy, local = parse(arg)
  config = base.get_config()
  config.objective = 'gaia'
  config.data.name = toy
  config.data.num_classes = CLASSES.get(toy, 0)
  config.model.arch = 'mlp'
  config.model.code_size = 2
  config.model.mlp_layers = 6
  config.model.mlp_width = 256
  set_toy_vae(config)
  # GAIA code: tf.train.AdamOptimizer(lr_max=1e-4) with default betas, no weight decay.
  config.optim.lr = 1e-4
  config.optim.b1 = 0.9
  config.optim.b2 = 0.999
  config.optim.weight_decay = 0.0
  gaia_svhn.set_code_losses(config)
  config.gaia.loss_scale = 'pm1'  # Points, not /255 images (docstring).
  config.probe_lr = 1e-2  # A 2-d linear probe; it never changes the encoder.
  config.batch_size = 64
  config.num_train_steps = 2_000 if local else 20_000
  config.log_every = 200
  config.eval_every = 1_000 if local else 5_000
  config.checkpoint_every = config.eval_every
  # The interpolation figure draws images; points get toy_mixes (mixres/evaluation/toys.py).
  config.eval.max_examples = 1_000  # Data points drawn under the mixes.
  config.eval.num_samples = 1_000  # Decoded mixes.
  config.eval.evaluators = ('toy_mixes', 'probe') if config.data.num_classes else ('toy_mixes',)
  return config
