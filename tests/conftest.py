"""Test setup: two CPU devices (multi-device == single-device tests) and a compilation cache.

Both must be in place before JAX starts its backend, hence environment variables at import;
subprocesses the tests start inherit them.
"""

import os
import tempfile

os.environ['XLA_FLAGS'] = (os.environ.get('XLA_FLAGS', '') +
                           ' --xla_force_host_platform_device_count=2').strip()
# Set as environment variables, so that the runs the tests start as subprocesses (python -m
# mixres.main, the multi-process launcher) read them too:
# - The end-to-end tests build the same step functions many times, in this process and in the
#   subprocesses: a compilation cache shared by all of them compiles each executable once.
# - XLA:CPU compiles the default (partitionable) threefry for a conv kernel's initialiser several
#   times slower than the flat one, and initialisation is most of a cold test's time. The flag
#   changes the random values only, the same on any number of devices either way; the README's
#   quickstart (CI's first command) runs the default.
os.environ['JAX_COMPILATION_CACHE_DIR'] = os.path.join(tempfile.gettempdir(),
                                                       'mixres_test_jax_cache')
os.environ['JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS'] = '0.5'
os.environ['JAX_THREEFRY_PARTITIONABLE'] = 'false'

import jax  # noqa: E402  (after the environment)
import pytest  # noqa: E402

assert not jax.config.jax_threefry_partitionable  # The environment above was read.


@pytest.fixture
def tiny_config():
  """AMR on embedded digits (32x32, small 2-scale nets), a few steps, evaluated at the end."""
  from configs import quickstart
  config = quickstart.get_config()
  config.num_train_steps = 6
  config.log_every = 2
  config.eval_every = 6
  config.checkpoint_every = 3
  config.batch_size = 8
  config.model.depth, config.model.latent_width = 4, 8  # 2 scales: the same loop, compiled fast.
  config.gen_every = 2  # Both step variants, and a resume (at step 3) in mid-schedule.
  # One step a call: two executables per run, not four (the default cuts 2-step calls at the
  # logs and checkpoints). tests/test_train.py tests calls of several steps.
  config.steps_per_call = 1
  config.eval.batch_size = 64
  config.eval.max_examples = 128
  config.eval.figure_pairs = 2
  return config
