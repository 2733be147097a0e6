"""The AMR paper's Table 2: SVHN with 1k / 5k / 10k / 20k training examples, d_h = 32, 4000 epochs.

  python -m mixres.main --config=configs/amr_svhn_subset.py:5k,mixup3 --workdir=runs/svhn5k_mixup3
  sizes: 1k, 5k, 10k, 20k; rows: ae_gan, mixup2, bern2, mixup3 (lambda per cell, see
  configs/amr_paper.py); append ',local' for the CPU variant

Data: the SVHN train/valid cut of configs/amr_svhn.py, then the first N of a seed-0 shuffle of the
training part (config.data.train_subset); validation stays the whole 7,326.
Published, mixup3: 22.96 / 29.92 / 31.87 / 37.04.
Time: 4000 epochs of 16 / 79 / 157 / 313 batches (the last one partial, as the AMR code's
DataLoader) = 64,000 / 316,000 / 628,000 / 1,252,000 steps for 1k / 5k / 10k / 20k
(BENCHMARKS.md has the CPU rate). ',local': 500 steps, a few minutes here.
"""

from configs import amr_paper

SIZES = {'1k': 1_000, '5k': 5_000, '10k': 10_000, '20k': 20_000}


def get_config(arg=None):
  parts = (arg or '').split(',')
  if parts[0] not in SIZES:
    raise ValueError(f'config argument {arg!r} must start with a subset size: '
                     f'{", ".join(SIZES)} (e.g. configs/amr_svhn_subset.py:5k,mixup3)')
  config = amr_paper.setting_config(f'svhn_{parts[0]}', ','.join(parts[1:]))
  config.data.name = 'svhn_cropped'
  config.data.train_subset = SIZES[parts[0]]
  return config
