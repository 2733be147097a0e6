"""The AMR paper's Table 1, MNIST column: d_h = 32, 2000 epochs, one config per row.

  python -m mixres.main --config=configs/amr_mnist.py:mixup2 --workdir=runs/mnist_mixup2
  rows: ae_gan (lambda 5), mixup2 (10), bern2 (10), mixup3 (20); append ',local' for the CPU variant

Data: TFDS 'mnist' train split, 28 -> 32 bilinear, cut 50k train / 10k valid as the AMR code
cuts it (task_launcher.py:433-435: a RandomState(0) shuffle of the 60k, training the first 50k;
data.split_method='amr_code', data.valid_size=10_000). Their exact examples need the original
files' order: --config.data.path=.../train-images-idx3-ubyte.gz (a TFDS build may store its
records in another order, which gives a cut of the same sizes). Everything else the AMR code
does differently from mixres's defaults is set by amr_paper.follow_authors_code (its docstring).
Published (best valid probe accuracy): AE+GAN 97.52, mixup2 98.01, bern2 97.76, mixup3 97.61.
Time: 2000 epochs of 782 batches = 1,564,000 steps, an accelerator job (BENCHMARKS.md has the
CPU rate). ',local': 500 steps, a few minutes here.
"""

from configs import amr_paper


def get_config(arg=None):
  config = amr_paper.setting_config('mnist', arg)
  config.data.name = 'mnist'
  config.data.valid_size = 10_000
  return config
