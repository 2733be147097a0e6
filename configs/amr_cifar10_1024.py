"""The AMR paper's Table 3, CIFAR-10 at d_h = 1024 (bottleneck 64 x 4 x 4), one config per row.

  python -m mixres.main --config=configs/amr_cifar10_1024.py:mixup3 --workdir=runs/cifar1024_mixup3
  rows: ae_gan, mixup2, bern2, mixup3, mixup4, mixup6, mixup8 (lambda 50 for all);
  append ',local' for the CPU variant

Data: TFDS 'cifar10' train split, 40k train / 10k valid (docs/methods.md#amr-protocol). The paper
gives no epoch count for Table 3; every row trains 8000 epochs of 625 batches, as the authors'
scripts at its lambda (mixres/paper_tables.py SCRIPT_EPOCHS).
Published: AE+GAN 59.93, mixup2 60.80, bern2 59.81, mixup3 61.68, mixup4 61.72, mixup6 60.34,
mixup8 59.75.
Time: 5,000,000 steps, an accelerator job (BENCHMARKS.md has the CPU rate).
',local': 500 steps, a few minutes here.
"""

from configs import amr_paper


def get_config(arg=None):
  config = amr_paper.setting_config('cifar10_1024', arg)
  config.data.name = 'cifar10'
  config.data.valid_fraction = 0.2
  config.model.latent = 64
  return config
