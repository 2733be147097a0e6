"""The AMR paper's Table 3, CIFAR-10 at d_h = 1024 (bottleneck 64 x 4 x 4), one config per row.

  python -m mixres.main --config=configs/amr_cifar10_1024.py:mixup3 --workdir=runs/cifar1024_mixup3
  rows: ae_gan, mixup2, bern2, mixup3, mixup4, mixup6, mixup8 (lambda 50 for all);
  append ',local' for the CPU variant

Data: TFDS 'cifar10' train split cut 40k / 10k train/valid (REFERENCE.md section 1). The paper
gives no epoch count for Table 3; we train 2000 epochs (its MNIST budget; CIFAR-10 at this size
has 625 steps per epoch).
Published: AE+GAN 59.93, mixup2 60.80, bern2 59.81, mixup3 61.68, mixup4 61.72, mixup6 60.34,
mixup8 59.75.
Time: 1,250,000 steps; about 4 days on the 2-core CPU (3.8 steps/s, BENCHMARKS.md).
',local': about 2.5 minutes here (500 steps).
"""

from configs import amr_paper


def get_config(arg=None):
  config = amr_paper.setting_config('cifar10_1024', arg)
  config.data.name = 'cifar10'
  config.data.valid_fraction = 0.2
  config.model.latent = 64
  config.num_epochs = 2000.0
  return config
