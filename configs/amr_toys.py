"""AMR (and its baselines) on the 2-D toys: the AMR supplement's spiral study of beta (Figure 12).

  python -m mixres.main --config=configs/amr_toys.py:spiral --workdir=runs/spiral_beta0
  python -m mixres.main --config=configs/amr_toys.py:spiral --workdir=runs/spiral_beta10 \
      --config.beta=10
  launch/spiral_beta_study.sh runs/spiral   # beta in {0, 0.1, 10, 100}, then the panel figure

Supplement 7.3: mixup AMR with lambda = 10 on a spiral, beta in {0, 0.1, 10, 100}, 100 epochs;
decoded random mixes (alpha ~ U(0, 1)) drawn over the data. The paper gives no network for it:
we use the MLP family of GAIA's 2-D experiments (6 ReLU layers of 256 units per network, 2-d
code, model.arch 'mlp') for G and a spectral-norm MLP D of the same size. Everything else is the
reference AMR setting (Adam 1e-4 (0.5, 0.99), L2 1e-5, D every step, G every 5th, L1 recon).
The 'toy_mixes' evaluator reports toy/mixes_on_spiral: the share of decoded mixes within 0.05
of the spiral. Other toys (moons, circles, blobs, swiss_roll, s_curve) and other objectives
(--config.objective=ae_gan, ae, vae, gaia) run with the same networks.
Length: 100 epochs of 9,000 points at batch 64 = 14,063 steps; about 4 minutes here
(2-core CPU, ~60 steps/s). ',local': 2,000 steps, about 40 s.
"""

from configs import base
from configs import gaia_toys


def get_config(arg=None):
  toy, local = gaia_toys.parse(arg)
  config = base.get_config()
  config.objective = 'amr'
  config.mixer, config.k, config.lam, config.beta = 'mixup', 2, 10.0, 0.0
  config.data.name = toy
  config.data.num_classes = gaia_toys.CLASSES.get(toy, 0)
  config.model.arch = 'mlp'
  config.model.code_size = 2
  gaia_toys.set_toy_vae(config)
  config.probe_lr = 1e-2  # A 2-d linear probe; it never changes the encoder.
  config.num_epochs = 100.0
  config.num_train_steps = 2_000 if local else 0
  config.log_every = 200
  config.eval_every = config.checkpoint_every = 1_000 if local else 2_000
  config.eval.max_examples = 1_000  # Data points drawn under the mixes.
  config.eval.num_samples = 1_000  # Decoded mixes.
  config.eval.evaluators = ('toy_mixes', 'probe') if config.data.num_classes else ('toy_mixes',)
  return config
