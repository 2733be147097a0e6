"""The AMR paper's Table 1, KMNIST column: d_h = 32, 2000 epochs, one config per row.

  python -m mixres.main --config=configs/amr_kmnist.py:mixup2 --workdir=runs/kmnist_mixup2
  rows: ae_gan, mixup2, bern2, mixup3 (lambda 10 for all); append ',local' for the CPU variant

Data: TFDS 'kmnist' train split, 28 -> 32 bilinear, cut 90/10 train/valid (seeded).
Published (best valid probe accuracy): AE+GAN 76.18, mixup2 80.39, bern2 81.54, mixup3 77.20.
Time: 2000 epochs of 54,000 = 1,687,500 steps; about 5 days on the 2-core CPU (~4 steps/s,
BENCHMARKS.md), an accelerator job. ',local': about 2.5 minutes here (500 steps).
"""

from configs import amr_paper


def get_config(arg=None):
  config = amr_paper.setting_config('kmnist', arg)
  config.data.name = 'kmnist'
  config.num_epochs = 2000.0
  return config
