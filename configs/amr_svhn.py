"""AMR, mixup k=2, on SVHN at d_h=32: the paper's Table 1 SVHN setting.

  python -m mixres.main --config=configs/amr_svhn.py --workdir=/tmp/amr_svhn

Needs svhn_cropped prepared for TFDS (see README, "Datasets"). 3500 epochs of 65,931 images at
batch 64 is 3.6M steps; the default below is 400k steps (~390 epochs). On this 2-core CPU the step
runs at the rate recorded in BENCHMARKS.md; a real run wants a GPU or TPU.
Published (mean +- std of 3 runs, best validation probe accuracy): 43.98 +- 3.05 %.
"""

from configs import base


def get_config():
  config = base.get_config()
  config.objective = 'amr'
  config.mixer = 'mixup'
  config.k = 2
  config.lam = 5.0
  return config
