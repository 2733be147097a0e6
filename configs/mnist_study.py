"""The CPU-scale MNIST low-data study (RESULTS.md): Table 2's question on MNIST, in minutes a run.

  python -m mixres.main --config=configs/mnist_study.py:1k,mixup2 --workdir=runs/study/1k_mixup2 \
      --config.data.path=../shared/data/mnist/mnist-t10k-images-idx3-ubyte.gz
  sizes: 1k, 4k, 8k; methods: ae, ae_gan, mixup2, bern2, mixup3, acai

Data: a 10,000-image MNIST file (the real test split in ../shared/data; no download), cut as the
AMR code cuts (split_method 'amr_code'): 2,000 validation images, fixed for every size, and the
training subset the first N of a seed-0 shuffle of the other 8,000 (the paper's Table 2 protocol).
Methods: the AMR paper's MNIST rows (configs/amr_mnist.py: networks, losses, lambdas, the
authors' code's choices), plus 'ae', the same autoencoder with its reconstruction loss only.

The protocol deviates from the paper's on purpose (RESULTS.md section "MNIST" has the pilot that
chose it): within a CPU budget the paper's schedule (G every 5th step at lr 1e-4) never leaves the
phase where the decoder draws one image for every input. Here:
  - G (and every network) steps every iteration at lr 5e-4, as the quickstart;
  - STEPS steps at batch 64 whatever the subset size (1k: 19 epochs; 8k: 2.4 epochs);
  - the jointly trained probe at lr 1e-2, read every 50 steps (its best is the paper's
    statistic), and at the end a logistic regression fitted to convergence on the frozen codes
    ('frozen_probe', with codes/relative_spread, the collapse diagnostic);
  - the validation reconstruction error ('reconstruction', L1 and MSE in [-1, 1] pixel units)
    every 50 steps, and the interpolation figure at the end.
Time on the 2-core CPU, one run a core: about 5 minutes for the adversarial methods, 2 for 'ae'.
"""

from configs import amr_paper
from mixres import config_arg

SIZES = {'1k': 1_000, '4k': 4_000, '8k': 8_000}
# Method -> the AMR paper's MNIST row it is built from ('ae' drops the adversarial terms).
METHODS = {'ae': 'ae_gan', 'ae_gan': 'ae_gan', 'mixup2': 'mixup2', 'bern2': 'bern2',
           'mixup3': 'mixup3', 'acai': 'acai'}
STEPS = 300
VALID_SIZE = 2_000


def get_config(arg=None):
  size, method, _ = config_arg.parse(arg, (), SIZE=(SIZES, None), METHOD=(METHODS, None))
  config = amr_paper.cell_config('mnist', METHODS[method], local=False)
  if method == 'ae':
    config.objective = 'ae'
  config.setting = f'mnist_study_{size}:{method}'
  config.data.name = 'mnist'
  config.data.valid_size = VALID_SIZE
  config.data.train_subset = SIZES[size]
  config.gen_every = 1
  config.optim.lr = 5e-4
  config.probe_lr = 1e-2
  config.num_epochs = 0.0
  config.num_train_steps = STEPS
  config.log_every = 50
  config.eval_every = 50
  config.checkpoint_every = 100
  config.eval.every.probe = ''
  config.eval.every.interpolation = f'{STEPS} steps'
  config.eval.every.frozen_probe = f'{STEPS} steps'
  config.eval.evaluators = ('probe', 'reconstruction', 'frozen_probe', 'interpolation')
  return config
