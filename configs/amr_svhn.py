"""The AMR paper's Table 1, SVHN column: d_h = 32, 3500 epochs, one config per row.

  python -m mixres.main --config=configs/amr_svhn.py --workdir=runs/svhn_mixup2
  python -m mixres.main --config=configs/amr_svhn.py:bern2 --workdir=runs/svhn_bern2
  rows: ae_gan (lambda 5), mixup2 (10, the default), bern2 (10), mixup3 (10); ',local': CPU variant

Data: TFDS 'svhn_cropped' train split, cut 90/10 train/valid as the reference code
(65,931 / 7,326).
Published (best valid probe accuracy): AE+GAN 37.01, mixup2 43.98, bern2 38.31, mixup3 47.34.
"""

from configs import amr_paper


def get_config(arg=None):
  config = amr_paper.setting_config('svhn', arg)
  config.data.name = 'svhn_cropped'
  config.num_epochs = 3500.0
  return config
