"""The AMR paper's Table 1, SVHN column: d_h = 32, 3500 epochs, one config per row.

  python -m mixres.main --config=configs/amr_svhn.py --workdir=runs/svhn_mixup2
  python -m mixres.main --config=configs/amr_svhn.py:bern2 --workdir=runs/svhn_bern2
  rows: ae_gan (lambda 5), mixup2 (10, the default), bern2 (10), mixup3 (10); ',local': CPU variant

Data: TFDS 'svhn_cropped' train split, cut 90/10 train/valid as the reference code
(65,931 / 7,326).
Published (best valid probe accuracy): AE+GAN 37.01, mixup2 43.98, bern2 38.31, mixup3 47.34.
Time: 3500 epochs of 65,931 = 3,605,602 steps; about 11 days on the 2-core CPU (3.9 steps/s,
BENCHMARKS.md), an accelerator job. ',local': about 2.5 minutes here (500 steps).
"""

from configs import amr_paper


def get_config(arg=None):
  config = amr_paper.setting_config('svhn', arg)
  config.data.name = 'svhn_cropped'
  config.num_epochs = 3500.0
  return config
