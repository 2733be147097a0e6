"""Shared defaults for every mixres run: AMR on SVHN at d_h=32 as the reference code runs it.

Paper settings are in REFERENCE.md section 1. Setting files import this one and override fields:

  python -m mixres.main --config=configs/base.py --workdir=/tmp/run --config.lam=10
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.seed = 0
  config.objective = 'amr'  # See mixres/objectives/__init__.py for the registry.

  config.data = ml_collections.ConfigDict()
  config.data.name = 'svhn_cropped'  # 'digits' (embedded) or a TFDS name.
  config.data.data_dir = ''  # TFDS data_dir; '' means TFDS's default.
  config.data.train_split = 'train'  # The TFDS split the train/valid pair is cut from.
  config.data.valid_fraction = 0.1  # Reference code: SVHN train split 90/10 train/valid.
  config.data.split_seed = 0  # Seeded split, the same for every run.
  config.data.image_size = 32
  config.data.num_classes = 10  # 0: unlabelled data, no probe.
  config.data.shuffle_seed = 0  # Data order; the run seed does not change it.

  # ACAI-style 32x32 networks; d_h = latent * latent_width**2 = 2 * 4 * 4 = 32.
  config.model = ml_collections.ConfigDict()
  config.model.latent_width = 4
  config.model.depth = 16
  config.model.latent = 2
  config.model.leaky_slope = 0.01  # Reference AMR code: 0.01; ACAI's own code: 0.2.
  config.model.norm = 'instance'  # Generator norm: 'instance' or 'none'.

  # AMR loss (Eq. 3) and mixing.
  config.mixer = 'mixup'  # 'mixup' or 'bernoulli' (k-way Dirichlet / one-hot for k > 2).
  config.k = 2  # How many examples each mix combines.
  config.lam = 5.0  # Reconstruction weight lambda (Table 1, SVHN, AE+GAN: 5).
  config.beta = 0.0  # Consistency weight (supplement 7.3); 0 in every published run.
  config.recon = 'l1'  # Reference code: 'l1' (mean |x - x_hat|); the paper writes 'l2'.
  config.gen_every = 5  # Reference code: D every step, G every 5th step.

  # Adam(1e-4, b1=0.5, b2=0.99) with coupled L2 weight decay 1e-5 (PyTorch Adam semantics),
  # the same for generator, discriminator and probe.
  config.optim = ml_collections.ConfigDict()
  config.optim.lr = 1e-4
  config.optim.b1 = 0.5
  config.optim.b2 = 0.99
  config.optim.weight_decay = 1e-5
  # The probe's own Adam uses the same settings; its learning rate alone may differ (short
  # CPU runs use 1e-3 so that a linear probe converges in 1k steps).
  config.probe_lr = 1e-4

  config.batch_size = 64  # Global batch, split over every device of every host.
  config.num_train_steps = 400_000
  config.log_every = 100
  config.eval_every = 2_000
  config.checkpoint_every = 2_000
  config.keep_checkpoints = 3

  config.eval = ml_collections.ConfigDict()
  config.eval.evaluators = ('probe', 'interpolation')  # See mixres/evaluation/__init__.py.
  config.eval.batch_size = 256
  config.eval.max_examples = 0  # 0: the whole validation split.
  config.eval.figure_pairs = 8  # Rows of the interpolation figure.
  config.eval.figure_steps = 10  # Decoded mixes per row (Figure 6 of the paper).

  config.num_devices = 0  # 0: every device; n: the first n (tests, scaling benchmarks).
  return config
