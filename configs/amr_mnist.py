"""The AMR paper's Table 1, MNIST column: d_h = 32, 2000 epochs, one config per row.

  python -m mixres.main --config=configs/amr_mnist.py:mixup2 --workdir=runs/mnist_mixup2
  rows: ae_gan (lambda 5), mixup2 (10), bern2 (10), mixup3 (20); append ',local' for the CPU variant

Data: TFDS 'mnist' train split, 28 -> 32 bilinear, cut 90/10 train/valid (seeded; the paper does
not say how MNIST was split, so we cut it as the reference cuts SVHN). Without TFDS, any MNIST in
IDX form works: --config.data.path=.../train-images-idx3-ubyte.gz.
Published (best valid probe accuracy): AE+GAN 97.52, mixup2 98.01, bern2 97.76, mixup3 97.61.
Time: 2000 epochs of 54,000 = 1,687,500 steps; about 5 days on the 2-core CPU (~4 steps/s,
BENCHMARKS.md), an accelerator job. ',local': about 2.5 minutes here (500 steps; on the real
MNIST test split cut 8k/2k, best probe accuracy 41.9%: 500 steps of the paper's schedule train
little).
"""

from configs import amr_paper


def get_config(arg=None):
  config = amr_paper.setting_config('mnist', arg)
  config.data.name = 'mnist'
  config.num_epochs = 2000.0
  return config
