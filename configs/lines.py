"""The ACAI lines benchmark (Berthelot et al. 2019, Table 1): ACAI and the autoencoder baselines.

  python -m mixres.main --config=configs/lines.py:acai --workdir=runs/lines_acai
  python -m mixres.main --config=configs/lines.py:dropout,local --workdir=runs/lines_dropout
  python -m mixres.main --config=configs/lines.py:ae,study --workdir=runs/study/lines/ae_seed0
  methods: acai (default), ae, dropout, denoising, vae, ae_gan, amr_mixup, amr_bern;
  ',local' for the short CPU variant; ',study' for the CPU study's protocol (below)

Data as ACAI's code (lib/data.py:72-131): 32x32x1 lines from the centre, 15 px long, drawn by
its draw_line (a 2-px band across the minor axis; background -1, ink +1), an endless stream of
fresh lines at angles ~ U[0, 2 pi), each drawn from (data.procedural_seed, its index), so a
resumed run sees the batches it would have seen; validation: the stream's first 5,000 lines
(ACAI's test set, lib/data.py:335); the probe on the 10-bin angle. (data.num_examples = N > 0
gives a fixed set of N lines split 90/10 instead.)
Networks as ACAI's code runs lines (docs/architectures.md#acai-style-networks): latent_width 2
(4 scales), depth 16, 16 code channels (a 16 x 2 x 2 = 64-d code), LeakyReLU 0.2, no normalisation.
Training as the ACAI code: Adam 1e-4 with TensorFlow's default betas (0.9, 0.999), no weight
decay, batch 64, 2^24 images (total_kimg = 2^14), i.e. 262,144 steps; MSE reconstruction.
Methods (ACAI code defaults): 'ae' the baseline; 'dropout' the AE with dropout 0.5 on the code;
'denoising' the AE on inputs with Gaussian noise of std 1; 'vae' a VAE with a Bernoulli
likelihood (beta 1) whose mu and log sigma^2 come from two dense layers on the flattened 64-d
code features (ACAI vae.py:51-56; the probe reads those features, vae.py:78), and whose codes
for the interpolations are posterior samples, as ACAI's ops.encode (vae.py:90); 'acai' config.acai's 'paper' variant (lambda 0.5, gamma 0.2).
AMR and its AE+GAN baseline (the AMR paper has no lines run; these rows are ours): 'ae_gan',
'amr_mixup' (k = 2) and 'amr_bern' (k = 2), the spectral-norm D and JS-GAN loss of the AMR
setting, lambda 10 on the same MSE. On this benchmark every network steps every iteration
(gen_every = 1, as ACAI's own schedule) with ACAI's optimiser, so that after a fixed number of
steps every method has had the same number of autoencoder updates.
Evaluated by the probe, the interpolation figure and the 'lines' evaluator (Mean Distance and
Smoothness over 256 interpolations). Published (ACAI Table 1, mean distance x 10^-3 /
smoothness): AE 6.88 / 0.44, dropout 2.85 / 0.24, denoising 4.21 / 0.66, VAE 1.21 / 0.49,
ACAI 0.24 / 0.10.
Time on the 2-core CPU, ',local' (500 steps and two evaluations): acai 4.5 min (2.0 steps/s),
ae 2.8 min, dropout 2.4 min, denoising 3.3 min, vae 3.5 min (the AE baselines and the VAE train at
3 to 5.5 steps/s), plus about 5 s per evaluation for the 'lines' evaluator. The full 262,144
steps: about 36 hours for ACAI and 14 to 24 hours for the others here, accelerator jobs.
',study' (RESULTS.md section 3, a deviation chosen by a pilot): every network at lr 5e-4 (5 times
ACAI's) and the probe at 1e-2, for STUDY_STEPS steps, evaluated every 200 (the benchmark reads
the median of the last 3 evaluations). At ACAI's lr the AE still draws one blob for every line
after 750 steps; at 5e-4 it leaves it between steps 750 and 1,500, and at step 2,000 its Mean
Distance is 6.9e-3 and its validation MSE 0.006 (the blob: 0.08). On one core: about 13 minutes
for 'ae', 35 for 'acai' (0.95 steps/s) and 52 for 'amr_mixup' (0.64 steps/s).
"""

from configs import amr_paper
from configs import base
from mixres import config_arg

# Method -> (objective, overrides): the ACAI lines table's rows.
METHODS = {
    'acai': ('acai', {}),
    'ae': ('ae', {}),
    'dropout': ('ae', {'ae.dropout': 0.5}),  # ACAI code: keep probability 0.5.
    'denoising': ('ae', {'ae.noise': 1.0}),  # ACAI code: noise std 1.0.
    # ACAI vae.py: mu, log sigma^2 from two dense layers (55-56), posterior samples as codes (90).
    'vae': ('vae', {'vae.beta': 1.0, 'vae.likelihood': 'bernoulli', 'vae.head': 'dense',
                    'vae.encode': 'sample'}),
    'ae_gan': ('ae_gan', {'lam': 10.0, 'gen_every': 1}),
    'amr_mixup': ('amr', {'mixer': 'mixup', 'k': 2, 'lam': 10.0, 'gen_every': 1}),
    'amr_bern': ('amr', {'mixer': 'bernoulli', 'k': 2, 'lam': 10.0, 'gen_every': 1}),
}
TOTAL_STEPS = (1 << 24) // 64  # ACAI code: total_kimg = 2^14 kimg at batch 64.
STUDY_STEPS = 2_000


def get_config(arg=None):
  method, flags = config_arg.parse(arg, ('local', 'study'), METHOD=(METHODS, 'acai'))
  config = base.get_config()
  objective, overrides = METHODS[method]
  config.objective = objective
  config.update_from_flattened_dict(overrides)
  config.setting = f'lines:{method}'

  config.data.name = 'lines'
  config.data.image_size = 32
  config.data.num_classes = 10  # Angle bins, for the probe.
  config.data.num_examples = 0  # ACAI's endless stream of fresh lines (the base default).

  config.model.arch = 'acai'
  config.model.latent_width = 2
  config.model.depth = 16
  config.model.latent = 16
  config.model.leaky_slope = 0.2
  config.model.norm = 'none'

  config.recon = 'l2'  # The AE baselines: tf.losses.mean_squared_error (ACAI reads acai.recon).
  config.batch_size = 64
  config.optim.lr = 1e-4
  config.optim.b1 = 0.9
  config.optim.b2 = 0.999
  config.optim.weight_decay = 0.0
  config.probe_lr = 1e-4
  config.num_train_steps = TOTAL_STEPS
  config.log_every = 256
  config.eval_every = 1024  # ACAI evaluates every 2^16 images (report_kimg = 64).
  config.checkpoint_every = 1 << 14
  config.eval.evaluators = ('probe', 'interpolation', 'lines')
  if 'local' in flags:
    amr_paper.make_local(config)
  if 'study' in flags:
    config.optim.lr = 5e-4
    config.probe_lr = 1e-2
    config.num_train_steps = STUDY_STEPS
    config.log_every = 100
    config.eval_every = 200
    config.checkpoint_every = 500
    config.eval.every.interpolation = f'{STUDY_STEPS} steps'
    config.eval.evaluators = ('probe', 'lines', 'reconstruction', 'interpolation')
  return config
