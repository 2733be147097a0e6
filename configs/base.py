"""Shared defaults for every mixres run: AMR on SVHN at d_h=32 as the reference code runs it.

Paper settings are in REFERENCE.md section 1. Setting files import this one and override fields:

  python -m mixres.main --config=configs/base.py --workdir=/tmp/run --config.lam=10
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.seed = 0
  config.setting = ''  # 'setting:row' of the paper's tables (configs/amr_paper.py), for reports.
  config.objective = 'amr'  # See mixres/objectives/__init__.py for the registry.

  config.data = ml_collections.ConfigDict()
  # Procedural (no download): digits, lines, dsprites_rendered, spiral, moons, circles, blobs,
  # swiss_roll, s_curve. TFDS: mnist, kmnist, fashion_mnist, emnist/letters, svhn_cropped,
  # cifar10, celeb_a, dsprites. See mixres/data/sources.py.
  config.data.name = 'svhn_cropped'
  config.data.data_dir = ''  # TFDS data_dir; '' means TFDS's default.
  config.data.path = ''  # Local IDX (.gz) or .npz file; replaces the TFDS read of data.name.
  config.data.labels_path = ''  # IDX labels; '' derives it from path (images-idx3 -> labels-idx1).
  config.data.train_split = 'train'  # The TFDS split the train/valid pair is cut from.
  config.data.valid_fraction = 0.1  # Reference code: SVHN train split 90/10 train/valid.
  config.data.split_seed = 0  # Seeded split, the same for every run.
  config.data.train_subset = 0  # N > 0: the first N of a seeded shuffle of the train split.
  config.data.subset_seed = 0  # Table 2's subsets: a seed-0 shuffle.
  config.data.image_size = 32
  config.data.fit = 'resize'  # To image_size: 'resize' (bilinear), 'pad' or 'crop_resize'.
  config.data.num_classes = 10  # Classes of the probe; 0: no probe.
  config.data.attributes = ('Male', 'Heavy_Makeup', 'Wearing_Lipstick')  # celeb_a only.
  config.data.num_examples = 0  # Procedural sizes; 0: lines 65,536, 2-D toys 10,000.
  config.data.procedural_seed = 0  # Seed of the procedural datasets' content.
  config.data.shuffle_seed = 0  # Data order; the run seed does not change it.
  # AugIntAE's augmentation (REFERENCE.md section 4): with num_views > 0 every training example
  # gains 'views', that many independent random affine copies of its image.
  config.data.augment = ml_collections.ConfigDict()
  config.data.augment.num_views = 0
  config.data.augment.rotation = 10.0  # Degrees, U[-r, r].
  config.data.augment.translation = 5.0  # Pixels, U[-t, t] in x and y.
  config.data.augment.scale = (0.9, 1.1)  # Zoom, U[low, high].

  # ACAI-style 32x32 networks; d_h = latent * latent_width**2 = 2 * 4 * 4 = 32.
  config.model = ml_collections.ConfigDict()
  config.model.arch = 'acai'  # 'acai' (32x32 family above) or 'betavae' (64x64, flat code).
  config.model.code_size = 10  # 'betavae' only: length of the flat code (dSprites: z = 10).
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

  # Per-method settings: each objective reads only its own section (mixres/objectives/).
  config.ae = ml_collections.ConfigDict()  # Plain AE baselines of the ACAI lines table.
  config.acai = ml_collections.ConfigDict()  # REFERENCE.md section 2.
  config.gaia = ml_collections.ConfigDict()  # REFERENCE.md section 3.
  config.augint = ml_collections.ConfigDict()  # REFERENCE.md section 4.
  config.dim = ml_collections.ConfigDict()  # REFERENCE.md section 5.
  config.vae = ml_collections.ConfigDict()  # VAE / beta-VAE.

  # Adam(1e-4, b1=0.5, b2=0.99) with coupled L2 weight decay 1e-5 (PyTorch Adam semantics),
  # the same for generator, discriminator and probe.
  config.optim = ml_collections.ConfigDict()
  config.optim.lr = 1e-4
  config.optim.b1 = 0.5
  config.optim.b2 = 0.99
  config.optim.weight_decay = 1e-5
  # The probe's own Adam uses the same settings; its learning rate alone may differ (short
  # CPU runs, the quickstart and ',local' variants, use 1e-2 so that it converges in time).
  config.probe_lr = 1e-4

  config.batch_size = 64  # Global batch, split over every device of every host.
  # Length: num_train_steps if > 0, else num_epochs passes over the training split (the paper
  # gives epochs; a subset or other files change the steps per epoch).
  config.num_train_steps = 0
  config.num_epochs = 3500.0  # Table 1, SVHN.
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
