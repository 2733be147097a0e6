"""AMR (mixup, k=2) on scikit-learn's embedded digits: no download, about 4 minutes on a CPU.

  python -m mixres.main --config=configs/quickstart.py --workdir=runs/quickstart

1,797 8x8 digits resized to 32x32x1 (1,438 train / 359 valid), the paper's d_h=32 networks.
Wall time and best probe accuracy on the 2-core CPU are in BENCHMARKS.md.

A demo, not a paper setting: to get a trained model in minutes it updates G every step at
lr 5e-4 (the reference: G every 5th step at 1e-4, over thousands of epochs) and the probe at
lr 1e-2. With the reference schedule, 1,000 steps leave G collapsed to one output (BENCHMARKS.md).
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
  config.gen_every = 1
  config.optim.lr = 5e-4
  config.probe_lr = 1e-2
  config.num_train_steps = 600
  config.log_every = 50
  config.eval_every = 200
  config.checkpoint_every = 200
  return config
