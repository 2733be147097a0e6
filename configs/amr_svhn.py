"""The AMR paper's Table 1, SVHN column: d_h = 32, 3500 epochs, one config per row.

  python -m mixres.main --config=configs/amr_svhn.py --workdir=runs/svhn_mixup2
  python -m mixres.main --config=configs/amr_svhn.py:bern2 --workdir=runs/svhn_bern2
  rows: ae_gan (lambda 5), mixup2 (10, the default), bern2 (10), mixup3 (10); ',local': CPU variant

Data: TFDS 'svhn_cropped' train split, cut 90/10 train/valid as the reference code
(65,931 / 7,326).
Published (best valid probe accuracy): AE+GAN 37.01, mixup2 43.98, bern2 38.31, mixup3 47.34.
Time: 3500 epochs of 1,031 batches = 3,608,500 steps, an accelerator job (BENCHMARKS.md has
the CPU rate). ',local': 500 steps, a few minutes here. The AMR code's choices beyond the
paper: amr_paper.follow_authors_code.
"""

from configs import amr_paper


def get_config(arg=None):
  config = amr_paper.setting_config('svhn', arg)
  config.data.name = 'svhn_cropped'
  return config
