"""Images/s of one objective's compiled train step on random data (no input pipeline).

  python benchmarks/train_step.py --config=configs/amr_svhn.py --steps=50 --repeats=3

Times whole schedule periods (e.g. 4 D-only steps + 1 D+G step for AE+GAN/AMR) after compiling
every step variant, and reports the median over repeats (the CPU's speed drifts, see
docs/faithfulness.md#xla-on-cpu).
"""

import jax
import numpy as np
from absl import app
from absl import flags
from ml_collections import config_flags

from mixres import parallel

import step_timing  # benchmarks/step_timing.py, beside this file.

_CONFIG = config_flags.DEFINE_config_file('config', 'configs/amr_svhn.py', 'Config file.')
_STEPS = flags.DEFINE_integer('steps', 50, 'Timed steps per repeat.')
_REPEATS = flags.DEFINE_integer('repeats', 3, 'Repeats; the median is reported.')
_CHANNELS = flags.DEFINE_integer('channels', 3, 'Image channels.')


def main(argv):
  del argv
  config, size = _CONFIG.value, _CONFIG.value.data.image_size
  rates = step_timing.measure(config, _CHANNELS.value, _STEPS.value, _REPEATS.value)
  print(f'{config.objective} batch {config.batch_size} {size}x{size}x{_CHANNELS.value} on '
        f'{parallel.make_mesh(config.num_devices).size} {jax.devices()[0].platform} device(s): '
        f'median {np.median(rates):.1f} images/s (repeats: {", ".join(f"{r:.1f}" for r in rates)})')


if __name__ == '__main__':
  app.run(main)
