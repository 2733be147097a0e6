"""Batches/s of the grain input pipeline alone, against the train step's rate on the same config.

  python benchmarks/input_pipeline.py --config=configs/quickstart.py --batches=300
  python benchmarks/input_pipeline.py --config=configs/amr_mnist.py:mixup2 \
      --config.data.path=../shared/data/mnist/mnist-t10k-images-idx3-ubyte.gz

Reads `--batches` batches through what training reads (sources.build, train_batches,
iterate with its worker threads; no device transfer) after a warm-up, reports the median
batches/s over repeats, then times the compiled train step (benchmarks/step_timing.py) on random
data and prints the ratio. Target (issue "Every dataset"): the pipeline delivers at least 5x the
step rate, so training never waits on data.
"""

import time

import jax
import numpy as np
from absl import app
from absl import flags
from ml_collections import config_flags

from mixres import train as train_lib
from mixres.data import pipeline
from mixres.data import sources

import step_timing  # benchmarks/step_timing.py, beside this file.

_CONFIG = config_flags.DEFINE_config_file('config', 'configs/quickstart.py', 'Config file.')
_BATCHES = flags.DEFINE_integer('batches', 300, 'Timed batches per repeat.')
_REPEATS = flags.DEFINE_integer('repeats', 3, 'Repeats; the median is reported.')
_THREADS = flags.DEFINE_integer('threads', 2, 'grain worker threads (the loop uses 2).')
_STEPS = flags.DEFINE_integer('steps', 25, 'Timed train steps per repeat; 0 skips the step.')


def pipeline_rates(config, train, batches: int, repeats: int, threads: int) -> list[float]:
  stream = pipeline.train_batches(train, config.batch_size, train_lib.shuffle_seed(config),
                                  config.data.augment, batching=config.data.batching)
  rates, start_index = [], 0
  for _ in range(repeats + 1):  # The first pass warms caches and threads; not reported.
    iterator = pipeline.iterate(stream, start=start_index, threads=threads)
    next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
      next(iterator)
    rates.append(batches / (time.perf_counter() - start))
    start_index += batches + 1  # Fresh batches each repeat: nothing is served from memory.
  return rates[1:]


def main(argv):
  del argv
  config = _CONFIG.value
  train, valid = sources.build(config)
  shape = sources.image_shape(train)
  print(sources.describe(config, train, valid))
  rates = pipeline_rates(config, train, _BATCHES.value, _REPEATS.value, _THREADS.value)
  batches_per_s = float(np.median(rates))
  print(f'pipeline: median {batches_per_s:.1f} batches/s = {batches_per_s * config.batch_size:.0f}'
        f' images/s (batch {config.batch_size}, {_THREADS.value} threads; repeats: '
        f'{", ".join(f"{r:.1f}" for r in rates)})')
  if _STEPS.value:
    images = step_timing.measure(config, shape[-1], _STEPS.value, _REPEATS.value, verbose=False)
    steps_per_s = float(np.median(images)) / config.batch_size
    print(f'train step ({config.objective}, {jax.devices()[0].platform}): median '
          f'{steps_per_s:.2f} steps/s; pipeline / step = {batches_per_s / steps_per_s:.1f}x')


if __name__ == '__main__':
  app.run(main)
