"""The AMR paper's Table 3, CIFAR-10 at d_h = 256 (bottleneck 16 x 4 x 4), one config per row.

  python -m mixres.main --config=configs/amr_cifar10_256.py:mixup3 --workdir=runs/cifar256_mixup3
  rows: ae_gan, mixup2, bern2, mixup3, mixup4, mixup6, mixup8 (lambda 50 for all);
  append ',local' for the CPU variant

Data: TFDS 'cifar10' train split, 40k train / 10k valid (docs/methods.md#amr-protocol). The paper
gives no epoch count for Table 3; every row trains 3000 epochs of 625 batches, as the authors'
scripts at its lambda (mixres/paper_tables.py SCRIPT_EPOCHS).
Published: AE+GAN 53.08, mixup2 54.24, bern2 52.40, mixup3 54.94, mixup4 54.68, mixup6 52.95,
mixup8 53.07.
Time: 1,875,000 steps, an accelerator job (BENCHMARKS.md has the CPU rate).
',local': 500 steps, a few minutes here.
"""

from configs import amr_paper


def get_config(arg=None):
  config = amr_paper.setting_config('cifar10_256', arg)
  config.data.name = 'cifar10'
  config.data.valid_fraction = 0.2
  config.model.latent = 16
  return config
