"""The AMR paper's Table 1, KMNIST column: d_h = 32, 2000 epochs, one config per row.

  python -m mixres.main --config=configs/amr_kmnist.py:mixup2 --workdir=runs/kmnist_mixup2
  rows: ae_gan, mixup2, bern2, mixup3 (lambda 10 for all); append ',local' for the CPU variant

Data: TFDS 'kmnist' train split, 28 -> 32 bilinear, cut 50k train / 10k valid as the AMR code
cuts it (task_launcher.py:452-454, the MNIST cut of configs/amr_mnist.py); everything else the
AMR code does differently from mixres's defaults: amr_paper.follow_authors_code.
Published (best valid probe accuracy): AE+GAN 76.18, mixup2 80.39, bern2 81.54, mixup3 77.20.
Time: 2000 epochs of 782 batches = 1,564,000 steps, an accelerator job (BENCHMARKS.md has the
CPU rate). ',local': 500 steps, a few minutes here.
"""

from configs import amr_paper


def get_config(arg=None):
  config = amr_paper.setting_config('kmnist', arg)
  config.data.name = 'kmnist'
  config.data.valid_size = 10_000
  return config
