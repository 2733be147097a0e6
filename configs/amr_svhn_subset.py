"""The AMR paper's Table 2: SVHN with 1k / 5k / 10k / 20k training examples, d_h = 32, 4000 epochs.

  python -m mixres.main --config=configs/amr_svhn_subset.py:5k,mixup3 --workdir=runs/svhn5k_mixup3
  sizes: 1k, 5k, 10k, 20k; rows: ae_gan, mixup2, bern2, mixup3 (lambda per cell, see
  mixres/paper_tables.py); append ',local' for the CPU variant

Data: the SVHN train/valid cut of configs/amr_svhn.py, then the first N of a seed-0 shuffle of the
training part (config.data.train_subset); validation stays the whole 7,326.
Published, mixup3: 22.96 / 29.92 / 31.87 / 37.04.
Time: 4000 epochs of 16 / 79 / 157 / 313 batches (the last one partial, as the AMR code's
DataLoader) = 64,000 / 316,000 / 628,000 / 1,252,000 steps for 1k / 5k / 10k / 20k
(BENCHMARKS.md has the CPU rate). ',local': 500 steps, a few minutes here.
"""

from configs import amr_paper
from mixres import config_arg
from mixres import paper_tables

SIZES = {'1k': 1_000, '5k': 5_000, '10k': 10_000, '20k': 20_000}


def get_config(arg=None):
  # Every size has the same rows (paper_tables.LAMBDAS), at its own lambdas.
  size, row, flags = config_arg.parse(arg, SIZE=(SIZES, None),
                                      ROW=(paper_tables.LAMBDAS['svhn_1k'], 'mixup2'))
  config = amr_paper.cell_config(f'svhn_{size}', row, 'local' in flags)
  config.data.name = 'svhn_cropped'
  config.data.train_subset = SIZES[size]
  return config
