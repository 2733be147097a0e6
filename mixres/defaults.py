"""Every config field and its default: AMR on SVHN at d_h=32 as the reference code runs it.

The one source of defaults. Setting files (configs/*.py) start from `get_config` and override
fields; `fill_missing` completes a config saved before a field existed, so that resuming or
evaluating an older run reads the new field as its default. A new field's default therefore
keeps what the code did before the field existed.
Paper settings: docs/methods.md#amr-protocol.

  python -m mixres.main --config=configs/base.py --workdir=/tmp/run --config.lam=10
"""

import json
from collections.abc import Mapping
from typing import Any

import ml_collections


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.seed = 0
  config.setting = ''  # 'setting:row' of the AMR tables (mixres/paper_tables.py), for reports.
  config.objective = 'amr'  # See mixres/objectives/__init__.py for the registry.

  config.data = ml_collections.ConfigDict()
  # Procedural (no download): digits, lines, dsprites_rendered, spiral, moons, circles, blobs,
  # swiss_roll, s_curve. TFDS: mnist, kmnist, fashion_mnist, emnist/letters, svhn_cropped,
  # cifar10, celeb_a, dsprites. See mixres/data/sources.py.
  config.data.name = 'svhn_cropped'
  config.data.data_dir = ''  # TFDS data_dir; '' means TFDS's default.
  # A local file that replaces the TFDS read of data.name, as distributed: IDX (.gz), .npz
  # (KMNIST's kmnist-train-imgs.npz too), SVHN's train_32x32.mat, cifar-10-binary.tar.gz; see
  # mixres/data/files.py.
  config.data.path = ''
  # Labels of IDX or KMNIST .npz images; '' derives it from path (images-idx3 -> labels-idx1,
  # -imgs.npz -> -labels.npz).
  config.data.labels_path = ''
  # The split the train/valid pair is cut from: TFDS's, or the CIFAR-10 archive's (train, test).
  config.data.train_split = 'train'
  config.data.valid_fraction = 0.1  # Reference code: SVHN train split 90/10 train/valid.
  config.data.valid_size = 0  # > 0: this many validation examples instead of valid_fraction.
  # How the train/valid cut is drawn: 'default' (a numpy Generator permutation, validation
  # first) or 'amr_code' (the AMR code's MNIST/KMNIST cut, task_launcher.py:58-62 and 433-435:
  # np.random.RandomState(split_seed).shuffle, training the first part, validation the rest).
  config.data.split_method = 'default'
  config.data.split_seed = 0  # Seeded split, the same for every run.
  config.data.train_subset = 0  # N > 0: the first N of a seeded shuffle of the train split.
  config.data.subset_seed = 0  # Table 2's subsets: a seed-0 shuffle.
  config.data.image_size = 32
  config.data.fit = 'resize'  # To image_size: 'resize' (bilinear), 'pad' or 'crop_resize'.
  config.data.num_classes = 10  # Classes of the probe; 0: no probe.
  config.data.attributes = ('Male', 'Heavy_Makeup', 'Wearing_Lipstick')  # celeb_a only.
  # Digit datasets (digits, mnist, svhn_cropped): binary 'attributes' derived from the label,
  # any of 'odd', 'large' (>= 5), 'loop' (0, 6, 8, 9); offline attributes for 'amr_supervised'.
  config.data.derived_attributes = ()
  # Procedural sizes. 0: lines an endless stream of fresh lines (ACAI lib/data.py:115-131) whose
  # validation split is its first valid_size lines (0: ACAI's 5,000), 2-D toys 10,000.
  config.data.num_examples = 0
  config.data.procedural_seed = 0  # Seed of the procedural datasets' content.
  config.data.shuffle_seed = 0  # Data order; -1: config.seed's (the AMR code: torch.manual_seed).
  # 'stream' (endless shuffled stream, full batches across epochs, schedules count global steps)
  # or 'epoch' (the AMR code's DataLoader: per-epoch shuffles, the last batch partial, G's
  # every-gen_every-th counted within each epoch). mixres/data/pipeline.py.
  config.data.batching = 'stream'
  # AugIntAE's augmentation (docs/methods.md#augintae): with num_views > 0 every training example
  # gains 'views', that many independent random affine copies of its image.
  config.data.augment = ml_collections.ConfigDict()
  config.data.augment.num_views = 0
  config.data.augment.rotation = 10.0  # Degrees, U[-r, r].
  config.data.augment.translation = 5.0  # Pixels, U[-t, t] in x and y.
  config.data.augment.scale = (0.9, 1.1)  # Zoom, U[low, high].

  # ACAI-style 32x32 networks; d_h = latent * latent_width**2 = 2 * 4 * 4 = 32.
  config.model = ml_collections.ConfigDict()
  # 'acai' (32x32 family above), 'betavae' (64x64, flat code), 'dsprites_amr' (64x64, the AMR
  # authors' dSprites nets, tanh output: mixres/models/dsprites_amr.py) or 'mlp' (any input).
  config.model.arch = 'acai'
  # 'betavae', 'dsprites_amr', 'mlp': length of the flat code (dSprites: z = 10).
  config.model.code_size = 10
  # 'dsprites_amr' only: D's conv channels (the authors' ndf: 32; their AE+GAN run: 64).
  config.model.disc_channels = 32
  config.model.mlp_layers = 6  # 'mlp' only: ReLU layers in encoder and in decoder (GAIA 2-D: 6).
  config.model.mlp_width = 256  # 'mlp' only: units per layer (GAIA 2-D: 256).
  config.model.latent_width = 4
  config.model.depth = 16
  config.model.latent = 2
  config.model.leaky_slope = 0.01  # Reference AMR code: 0.01; ACAI's own code: 0.2.
  # Generator norm: 'instance' or 'none'; 'infogan' also 'batch' (BatchNorm, running averages in
  # the state; objectives 'augint' and 'augint_adv' only).
  config.model.norm = 'instance'
  # 'acai' family, as the AMR authors' code builds it (mixres/models/convnets.py says how):
  # 'flax' (flax's defaults) or 'reference' (their Initializer: N(0, 1/(1.04 C_out C_in k)) for
  # convs, N(0, 0.98^2) for instance-norm scales; torch's default for D's spectral-norm convs).
  config.model.init = 'flax'
  config.model.entry_padding = 0  # Entry 1x1 conv padding: 0, or 1 (reference: 34x34 maps).
  # Spectral norm's power iteration, every family: 'per_step' (one per train step, on D's own
  # update) or 'per_forward' (reference code: one in every D forward, ~5 per AMR step).
  config.model.spectral_updates = 'per_step'

  # AMR loss (Eq. 3) and mixing.
  config.mixer = 'mixup'  # 'mixup' or 'bernoulli' (k-way Dirichlet / one-hot for k > 2).
  config.k = 2  # How many examples each mix combines.
  # 'bernoulli' with k > 2: how each channel picks its source (mixres/mixers.py). 'uniform': a
  # fair k-sided die per (example, channel), the authors' code (threegan.py:45-47); 'dirichlet':
  # per example pi ~ Dirichlet(1,...,1), then channels ~ Categorical(pi). k = 2: Eq. 5 either way.
  config.bernoulli_draw = 'uniform'
  # 'bernoulli' with k = 2: 'per_example' (p ~ U(0,1) per example, then m ~ Bernoulli(p) per
  # channel) or 'per_batch' (one p for the whole batch: the authors' 'fm2', their Bern-2 runs).
  config.bernoulli_p = 'per_example'
  config.lam = 5.0  # Reconstruction weight lambda (Table 1, SVHN, AE+GAN: 5).
  config.beta = 0.0  # Consistency weight (supplement 7.3); 0 in every published run.
  # Reference code: 'l1' (mean |x - x_hat|); the paper writes 'l2'. 'bce_sum': the authors'
  # dSprites runs, BCE on (x+1)/2 summed over pixels / batch (needs a tanh decoder).
  config.recon = 'l1'
  config.gen_every = 5  # Reference code: D every step, G every 5th step.

  # Per-method settings: each objective reads only its own section (mixres/objectives/).
  # Supervised AMR (paper section 2.2, Eq. 7; mixres/objectives/amr_supervised.py): a class mixer
  # embed(y) -> Bernoulli p per feature map, and an auxiliary classifier head on D (ACGAN).
  config.supervised = ml_collections.ConfigDict()
  # 'paper' (Eq. 7: convex y_mix, a fresh partner, the fields below) or 'reference': the authors'
  # supervised loop (8187d92 swapgan.py:411-460): y_mix crossed over per attribute, the
  # unsupervised mix's partner, soft mask sigmoid(ReLU(embed)), the mask prior, beta consistency on
  # the class mix; needs mask='soft' (configs/amr_supervised.py:reference sets it all up).
  config.supervised.variant = 'paper'
  config.supervised.mask_prior = 1e-4  # 'reference': weight of (sum_c m - C/2)^2 (swapgan.py:79).
  # How embed gets a gradient through the mask m ~ Bernoulli(p): 'sample' (the paper's sampled
  # mask, straight-through: hard 0/1 forward, dm/dp = 1 backward), 'relaxed' (relaxed Bernoulli /
  # Gumbel-sigmoid at `temperature`) or 'soft' (the reference code: m = p, never sampled).
  config.supervised.mask = 'sample'
  config.supervised.temperature = 0.5  # 'relaxed' only: the relaxation's temperature, > 0.
  # The auxiliary head's loss: 'sigmoid' (BCE per binary attribute: the batch's 'attributes',
  # CelebA's data.attributes or data.derived_attributes) or 'softmax' (CE on the one-hot class
  # 'label', e.g. digits, with model.arch='acai'); mixed labels y_mix are soft targets either way.
  config.supervised.classifier = 'sigmoid'
  config.supervised.cls_weight = 1.0  # Weight of both classification terms (paper: 1).
  config.supervised.embed_hidden = (64, 64)  # ReLU layers of the embed MLP (the paper: "an MLP").
  # Plain AE baselines of the ACAI lines table (ACAI code: dropout.py, denoising.py); 0 = off.
  config.ae = ml_collections.ConfigDict()
  config.ae.dropout = 0.0  # Dropout rate on the code in training (ACAI's dropout AE: 0.5).
  config.ae.noise = 0.0  # Std of Gaussian input noise, clean target (ACAI's denoising AE: 1.0).
  # ACAI (docs/methods.md#acai; mixres/objectives/acai.py has the two variants side by side).
  config.acai = ml_collections.ConfigDict()
  # 'paper': ACAI paper/code, least-squares critic regressing alpha in [0, 0.5], every net every
  # step. 'amr': the AMR authors' run (their acai_f3), BCE on 2 min(alpha, 1 - alpha), real and
  # reconstruction 0, G = config.lam * recon + BCE(D(mix), 0) every config.gen_every-th step.
  config.acai.variant = 'paper'
  config.acai.critic = 'encoder'  # ACAI: encoder topology, no norm; 'spectral': AMR's SN D.
  config.acai.recon = 'l2'  # ACAI paper and code: mean squared error; AMR code: 'l1'.
  config.acai.lam = 0.5  # 'paper': weight of ||d(g(mix))||^2 in the AE loss (ACAI's lambda).
  config.acai.gamma = 0.2  # 'paper': the critic's real term sees gamma x + (1 - gamma) g(f(x)).
  # Each example's partner: 'reversed' (ACAI code: the batch reversed, never itself in an even
  # batch) or 'permutation' (the AMR authors' acai_f3: a random permutation).
  config.acai.partner = 'reversed'

  config.gaia = ml_collections.ConfigDict()  # docs/methods.md#gaia.
  config.gaia.alpha_std = 0.25  # Interpolation alpha ~ N(0.5, std) per pair, unclipped (code: std).
  config.gaia.slope = 20.0  # Slope of the sigmoid balancing losses and learning rates (paper).
  config.gaia.dist_weight = 2e-5  # Pairwise-distance loss weight (paper, appendix 5.1).
  config.gaia.dist_weight_from_lr = False  # True: weight = optim.lr / 2 (reference code).
  # D's term on G(x): 'input' |x - D(G(x))| (the reference code) or 'generated'
  # |G(x) - D(G(x))| (the paper's section 2 text). G always uses |x - D(G(x))|.
  config.gaia.disc_fake_target = 'input'
  config.gaia.clip_losses = False  # True: L_D, L_G clipped to [-1, 1] (reference code; paper: no).
  # p_fake and p_gen: 'stop' (constants; the paper is silent) or 'through' (differentiated as
  # functions of the losses, reference code network.py:100-119). The learning-rate shares are
  # constants either way.
  config.gaia.balance_gradient = 'stop'
  # Scale of the L1 terms: 'pm1' (on the [-1, 1] images) or 'unit' (on (x + 1) / 2, i.e. halved:
  # the reference code's images are /255 with a sigmoid decoder, network.py:284).
  config.gaia.loss_scale = 'pm1'
  # AugIntAE, objectives 'augint' and 'augint_adv' (docs/methods.md#augintae); both need
  # data.augment.num_views = 2 and use config.recon (the report's MSE: 'l2').
  config.augint = ml_collections.ConfigDict()
  # 'augint_adv': G pays the reconstruction term every recon_every-th step, the adversarial one
  # every step; D steps every step (report 4.2.2: "every five epochs", read as steps).
  config.augint.recon_every = 5
  # 'augint_adv' D: 'sn' (the family's spectral-norm D, no norm) or 'encoder' (report 4.2.2: the
  # encoder itself with a 1-unit output, its norm included).
  config.augint.disc = 'sn'
  config.dim = ml_collections.ConfigDict()  # Deep InfoMax, docs/methods.md#deep-infomax.
  config.dim.estimator = 'jsd'  # MI estimator: 'jsd' (Eq. 4), 'dv' (Eq. 2) or 'infonce' (Eq. 5).
  config.dim.alpha = 0.0  # Global MI weight. DIM(L): alpha 0, beta 1, gamma 0.1; DIM(G): 1, 0, 1.
  config.dim.beta = 1.0  # Local MI weight.
  config.dim.gamma = 0.1  # Prior-matching weight; 0 drops the prior discriminator.
  config.dim.code_size = 64  # Length of the code Y (paper: 64 for every encoder).
  config.dim.embed_units = 2048  # Critic embedding size (paper Tables 8, 9; code's mi_units).
  config.dim.probe_on = 'code'  # Layer that encode() returns and the probe reads: code, fc, conv.
  config.dim.jsd_log2 = False  # True: the code's JSD with log 2 constants (loss - 2 log 2).
  # Same-image other locations in infoNCE: 'exclude' (paper: negatives are other images) or
  # 'minus10' (code: kept in the softmax at logit -10).
  config.dim.infonce_same_image = 'exclude'
  # DIM(G)'s critic (mixres/objectives/dim.py): 'encode_dot' (encode-and-dot on the flattened
  # last conv map), 'paper' (Table 6: MLP 512-512-1 on concat(M, Y)) or 'code' (the reference
  # GlobalDIM: conv layers on the 8x8 map to 2048, dotted with Linear(Y -> 2048)).
  config.dim.global_critic = 'encode_dot'
  # Encode-and-dot nets (local critics, 'encode_dot'): BatchNorm in the hidden layer and a
  # layer norm ending the code side, as the code's MI1x1ConvNet (paper Tables 8, 9: neither).
  config.dim.critic_batchnorm = False
  config.dim.code_critic_layer_norm = False
  # Encoder's prior term: 'non_saturating' softplus(-D) (the code) or 'minimax'
  # -softplus(D), i.e. min log(1 - D) (Eq. 7 as written).
  config.dim.prior_loss = 'non_saturating'
  config.dim.prior_gradient_penalty = 0.0  # Code: 1.0 (squared input-gradient norm); paper: none.
  # Examples the penalty reads: 'all' (mean over the batch) or 'last' (the code's: the batch's
  # last example only, divided by the batch size).
  config.dim.prior_penalty_examples = 'all'
  # VAE / beta-VAE (Kingma & Welling 2014; Higgins et al. 2017): -ELBO with a beta on the KL.
  config.vae = ml_collections.ConfigDict()
  config.vae.beta = 1.0  # KL weight; Table 4 of the AMR paper: beta-VAE(100) on dSprites.
  # 'bernoulli': decoder logits vs (x+1)/2 (ACAI code, Higgins); 'gaussian'; 'bernoulli_mean':
  # a tanh decoder's image is the Bernoulli mean, torch BCE vs (x+1)/2 (the AMR authors' VAE).
  config.vae.likelihood = 'bernoulli'
  config.vae.gaussian_std = 1.0  # 'gaussian' only: fixed std of p(x|z) in [-1, 1] pixel units.
  # KL over the code: 'sum' over dims (Higgins et al., ACAI code); 'mean' (AMR code's beta-VAE).
  config.vae.kl_reduction = 'sum'
  # The encoder's second half: 'log_var' (log sigma^2, the usual head) or 'std' (sigma itself,
  # unconstrained, as the AMR authors' models/vae.py:51-52 pass it to Normal as the scale).
  config.vae.posterior = 'log_var'
  # Where mu and the scale head come from: 'conv_split' (halves of an encoder twice as wide) or
  # 'dense' (ACAI's lines VAE, vae.py:51-56: two dense layers on the flattened code; the probe
  # reads the features before them).
  config.vae.head = 'conv_split'
  # What encode() gives evaluators (interpolations, lines): the posterior 'mean' or a 'sample'
  # (ACAI's ops.encode, vae.py:60, 90), drawn with a key that inference_params(state) fixes.
  config.vae.encode = 'mean'

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
  # A non-finite loss or parameter stops the run (exit 3) keeping the last good checkpoint; with
  # N > 0 the run instead rolls back to it and skips the batch that diverged, at most N times.
  config.divergence_rollbacks = 0
  # Train steps compiled into one call (unrolled; docs/faithfulness.md#xla-on-cpu): 0 is one
  # period of the objective's schedule (AE+GAN's G every 5th step: 5). Calls also end where a log,
  # evaluation or checkpoint is due; each distinct call compiles once. XLA compiles the steps
  # of a call together, so a run with another value differs in the last bits (about 1e-9
  # after a few steps); a resumed run equals the uninterrupted one bit for bit.
  config.steps_per_call = 0
  # 'START-END': jax.profiler traces steps START to END (numbered as the progress line numbers
  # them, from 1) into WORKDIR/profile/, for TensorBoard's profile tab or
  # jax.profiler.ProfileData; calls are cut at both ends. '' profiles nothing. Pick steps after
  # the first calls, which compile; a run resumed inside the window traces nothing.
  config.profile_steps = ''
  # What the networks compute in: 'float32', or 'bfloat16' (parameters, optimiser state, losses
  # and metrics stay float32; mixres/precision.py). Faster where the hardware has bfloat16
  # units (TPU, recent GPUs); BENCHMARKS.md has this CPU's numbers.
  config.precision = 'float32'

  config.eval = ml_collections.ConfigDict()
  config.eval.evaluators = ('probe', 'interpolation')  # See mixres/evaluation/__init__.py.
  # Each evaluator's cadence: '' (every eval_every steps), 'N steps' or 'N epochs'; every
  # evaluator also runs at the last step. mixres/evaluation/cadence.py.
  config.eval.every = ml_collections.ConfigDict({name: '' for name in (
      'attribute_consistency', 'clustering', 'disentanglement', 'few_shot', 'frozen_probe',
      'gaussian_samples', 'interpolation', 'lines', 'ndm', 'probe', 'reconstruction',
      'toy_mixes')})
  config.eval.batch_size = 256
  config.eval.max_examples = 0  # 0: the whole validation split.
  config.eval.figure_pairs = 8  # Rows of the interpolation figure.
  config.eval.figure_steps = 10  # Decoded mixes per row (Figure 6 of the paper).
  config.eval.clustering_inits = 1000  # K-means restarts of 'clustering' (ACAI paper: 1000).
  # 'clustering': 'validation' (whitening and k-means++ K-means, 300 iterations, fitted on the
  # validation codes they score) or 'acai' (ACAI's cluster.py: fitted on training codes, random
  # starts, 1000 iterations, validation codes scored).
  config.eval.clustering_protocol = 'validation'
  config.eval.clustering_train_examples = 60_000  # 'acai': training codes fitted (0: all; ACAI 60k).
  # 'frozen_probe': training examples whose codes fit its logistic regression (0: all); 10k
  # fit in a few seconds on one CPU core (mixres/evaluation/frozen_probe.py).
  config.eval.frozen_probe_train_examples = 10_000
  config.eval.lines_pairs = 256  # 'lines': interpolations scored (ACAI paper: 256).
  config.eval.lines_seed = 0  # 'lines': the fixed pairs of fresh lines.
  # 'ndm' (mixres/evaluation/dependency.py): its critic's training steps, batch of codes and
  # Adam rate (DIM's ndm_eval.py: batch 10,000, lr 1e-4, x0.1 at half and three quarters).
  config.eval.ndm_steps = 1000
  config.eval.ndm_batch = 10_000
  config.eval.ndm_lr = 1e-4
  config.eval.toy_tolerance = 0.05  # 'toy_mixes': spiral distance counted as on it (noise 0.02).
  # 'attribute_consistency' (amr_supervised): validation pairs scored, every attribute
  # combination each pair can reach, by a classifier trained like the Frechet one (frechet_steps).
  config.eval.attribute_pairs = 256
  # 'disentanglement' on dSprites (mixres/evaluation/disentanglement.py): votes per metric.
  config.eval.disentanglement = ml_collections.ConfigDict()
  config.eval.disentanglement.seed = 0  # The same votes at every evaluation.
  config.eval.disentanglement.num_train = 800  # Votes fitting each metric's classifier.
  config.eval.disentanglement.num_test = 800  # Held-out votes scored.
  config.eval.disentanglement.factor_vae_batch = 100  # Examples per FactorVAE vote (Kim & Mnih).
  config.eval.disentanglement.beta_vae_batch = 64  # Pairs per beta-VAE vote (Higgins et al.).
  config.eval.disentanglement.scale_examples = 10_000  # Examples for each code dimension's std.
  # FactorVAE ('kim_mnih'): dimensions with std below this over the data are collapsed and never
  # voted for (disentanglement_lib's factor_vae_metric.gin: prune_dims.threshold = 0.05).
  config.eval.disentanglement.prune_std = 0.05
  # FactorVAE protocols scored: 'kim_mnih' (ours: held-out votes, every factor; logged as
  # disentanglement/factor_vae) and/or 'amr_authors' (their tools.py dsprite_disentanglement_fv:
  # training votes, last factor never counted, at most 0.8; .../factor_vae_amr_authors).
  config.eval.disentanglement.protocols = ('kim_mnih',)
  config.eval.disentanglement.amr_authors_votes = 800  # Their n_votes: 160 for each factor.
  config.eval.disentanglement.amr_authors_batch = 800  # Their L: examples per vote.
  # Gaussian sampling and few-shot generation (evaluators 'gaussian_samples', 'few_shot'),
  # scored by the Frechet distance on our own classifier's features (mixres/evaluation/frechet.py).
  config.eval.num_samples = 2048  # Images generated and scored per evaluation (AugIntAE report).
  config.eval.few_shot_dataset = 'lines'  # Unseen domain of the seeds (report: EMNIST; offline).
  config.eval.few_shot_seeds = 5  # Seed images of that domain.
  config.eval.frechet_steps = 500  # Training steps of the feature classifier, cached per dataset.
  config.eval.frechet_cache_dir = ''  # Its cache; '': $XDG_CACHE_HOME (~/.cache)/mixres/frechet.

  config.num_devices = 0  # 0: every device; n: the first n (tests, scaling benchmarks).
  return config


def fill_missing(saved: Mapping[str, Any]) -> dict[str, Any]:
  """`saved` (a config as JSON) with every field it lacks set to its default; its own values,
  and fields it has that the defaults lack (a setting's additions), are kept."""
  return _fill(json.loads(get_config().to_json()), saved)


def _fill(defaults: dict[str, Any], saved: Mapping[str, Any]) -> dict[str, Any]:
  filled = dict(defaults)
  for key, value in saved.items():
    default = defaults.get(key)
    both_sections = isinstance(default, dict) and isinstance(value, Mapping)
    filled[key] = _fill(default, value) if both_sections else value
  return filled
