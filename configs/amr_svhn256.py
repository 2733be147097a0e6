"""The AMR paper's Table 3, SVHN at d_h = 256 (bottleneck 16 x 4 x 4), one config per row.

  python -m mixres.main --config=configs/amr_svhn256.py:mixup8 --workdir=runs/svhn256_mixup8
  rows: ae_gan, mixup2, bern2, mixup3, mixup4, mixup6, mixup8 (lambda 5, bern2 10);
  append ',local' for the CPU variant

The paper gives no epoch count for Table 3; each row trains as long as the authors' script at its
lambda (mixres/paper_tables.py SCRIPT_EPOCHS): 6000 epochs for ae_gan, mixup2, mixup6; 4500
for bern2, mixup3, mixup4, mixup8 and acai.
Published: AE+GAN 59.00, mixup2 71.51, bern2 58.64, mixup3 73.33, mixup4 74.69, mixup6 73.85,
mixup8 75.71.
Time: 1,031 batches an epoch, 4.6M to 6.2M steps: accelerator jobs (BENCHMARKS.md has the CPU
rate). ',local': 500 steps, a few minutes here.
"""

from configs import amr_paper


def get_config(arg=None):
  config = amr_paper.setting_config('svhn256', arg)
  config.data.name = 'svhn_cropped'
  config.model.latent = 16
  return config
