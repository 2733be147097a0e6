"""AMR (mixup, k=2) on scikit-learn's embedded digits: no download, a few minutes on a CPU.

  python -m mixres.main --config=configs/quickstart.py --workdir=/tmp/mixres_quickstart

1,797 8x8 digits resized to 32x32x1 (1,438 train / 359 valid). Time and best probe accuracy on
the 2-core CPU are in BENCHMARKS.md.
"""

from configs import base


def get_config():
  config = base.get_config()
  config.data.name = 'digits'
  config.data.valid_fraction = 0.2
  config.objective = 'amr'
  config.mixer = 'mixup'
  config.k = 2
  config.lam = 10.0
  config.probe_lr = 1e-2  # The paper's 1e-4 needs far more than 1k steps for a linear probe.
  config.num_train_steps = 1000
  config.log_every = 50
  config.eval_every = 250
  config.checkpoint_every = 500
  return config
