"""The AMR paper's Table 3, SVHN at d_h = 256 (bottleneck 16 x 4 x 4), one config per row.

  python -m mixres.main --config=configs/amr_svhn256.py:mixup8 --workdir=runs/svhn256_mixup8
  rows: ae_gan, mixup2, bern2, mixup3, mixup4, mixup6, mixup8 (lambda 5, bern2 10);
  append ',local' for the CPU variant

The paper gives no epoch count for Table 3; we keep Table 1's SVHN budget, 3500 epochs.
Published: AE+GAN 59.00, mixup2 71.51, bern2 58.64, mixup3 73.33, mixup4 74.69, mixup6 73.85,
mixup8 75.71.
Time: 3,605,602 steps; about 10 days on the 2-core CPU (4.0 steps/s, BENCHMARKS.md).
',local': about 2.5 minutes here (500 steps).
"""

from configs import amr_paper


def get_config(arg=None):
  config = amr_paper.setting_config('svhn256', arg)
  config.data.name = 'svhn_cropped'
  config.model.latent = 16
  config.num_epochs = 3500.0
  return config
