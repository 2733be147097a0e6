"""Entry point: python -m mixres.main --config=configs/amr_svhn.py --workdir=DIR.

Any config field can be overridden: --config.lam=10 --config.mixer=bernoulli.
"""

import os
import re
import sys
import traceback

from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

_CONFIG = config_flags.DEFINE_config_file('config', None, 'Path to a config file.',
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string('workdir', None, 'Directory for checkpoints, logs and figures.')
_DISTRIBUTED = flags.DEFINE_bool(
    'distributed', False, 'Call jax.distributed.initialize() first: several processes (hosts) '
    'train one run. On TPU, Slurm or Open MPI nothing else is needed; elsewhere give the three '
    'flags below (or JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, JAX_PROCESS_ID).')
_COORDINATOR = flags.DEFINE_string(
    'coordinator_address', None, 'With --distributed: HOST:PORT of process 0 (a free port).')
_NUM_PROCESSES = flags.DEFINE_integer('num_processes', None,
                                      'With --distributed: how many processes.')
_PROCESS_ID = flags.DEFINE_integer('process_id', None,
                                   'With --distributed: this process, 0 .. num_processes - 1.')
_HEARTBEAT = flags.DEFINE_integer(
    'heartbeat_timeout', 100, 'With --distributed: seconds without a heartbeat after which a '
    'process counts as dead and the others stop (JAX\'s default, 100).', lower_bound=1)
_COMPILATION_CACHE = flags.DEFINE_string(
    'compilation_cache', os.environ.get('JAX_COMPILATION_CACHE_DIR',
                                        os.path.join('~', '.cache', 'mixres', 'xla')),
    'Where compiled train calls and evaluators are kept (JAX\'s persistent compilation cache, a '
    'local directory or gs://), so that a resumed or repeated run skips compiling them again; '
    '"" turns it off. Default: $JAX_COMPILATION_CACHE_DIR, else ~/.cache/mixres/xla.')
flags.mark_flags_as_required(['config', 'workdir'])


def _fail(message: str) -> None:
  print(f'error: {message}', file=sys.stderr)
  sys.exit(2)


def parse_flags(argv: list[str]) -> list[str]:
  """absl's parsing, with a bad flag, config file or override reported as one line (exit 2)."""
  for arg in argv[1:]:
    if arg.startswith('--config='):  # ml_collections would defer a missing file's error.
      path = arg.split('=', 1)[1].split(':', 1)[0]
      if not os.path.isfile(path):
        _fail(f'--config={path}: no such config file (the settings are in configs/)')
  try:
    remaining = flags.FLAGS(argv)
    from mixres import config_checks
    config_checks.split_listed_names(_CONFIG.value)
    return remaining
  except flags.Error as e:
    # A config file's own error (e.g. an unknown table row) arrives wrapped in its traceback;
    # the last line says what is wrong.
    last = [line.strip() for line in str(e).splitlines() if line.strip()][-1]
    _fail(re.sub(r'^[A-Za-z]+Error: ', '', last))
  except (AttributeError, KeyError) as e:  # An override of a field the config does not have.
    # ml_collections wraps a KeyError whose message is "'field'" then, when a field is spelled
    # alike, a line 'Did you mean "other" instead of "field"?'.
    while isinstance(e, (AttributeError, KeyError)) and e.args and isinstance(e.args[0],
                                                                               BaseException):
      e = e.args[0]
    message = e.args[0] if e.args and isinstance(e.args[0], str) else str(e)
    field, _, hint = message.partition('\n')
    suggestion = re.search(r'Did you mean "([^"]+)"', hint)
    _fail(f'--config.* override: the config has no field {field.strip(chr(34) + chr(39))!r}'
          + (f' (did you mean {suggestion.group(1)!r}?)' if suggestion else '')
          + '; mixres/defaults.py lists them all')


def _stop_at_once(code: int, line: str) -> None:
  """Prints `line` last and ends the process now, for a failure that may be this process's
  alone. Not sys.exit: under jax.distributed, JAX's exit handler waits at a shutdown barrier
  that a dead or blocked peer never reaches (after --heartbeat_timeout it aborts with a fatal
  log), and after a failed save the metric writers' flush at exit fails again, each with a
  traceback. train_and_evaluate has already closed its checkpoints and writers."""
  print(line, file=sys.stderr, flush=True)
  sys.stdout.flush()
  os._exit(code)


def _initialize_distributed(jax) -> None:
  """jax.distributed.initialize from the flags (or JAX_* variables); a bad setting is one line."""
  from mixres import parallel
  try:
    args = parallel.distributed_args(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value)
  except ValueError as e:
    _fail(str(e))
  # Collectives between CPU processes go through gloo over TCP (no MPI needed); the setting
  # touches only the CPU backend, so GPU and TPU runs are unaffected.
  jax.config.update('jax_cpu_collectives_implementation', 'gloo')
  try:
    jax.distributed.initialize(**args, heartbeat_timeout_seconds=_HEARTBEAT.value)
  except (ValueError, TypeError) as e:  # JAX's own: nothing given and no cluster detected.
    _fail(f'--distributed: {str(e).rstrip(".")}; outside a managed cluster give '
          '--coordinator_address, --num_processes and --process_id')
  except Exception as e:  # E.g. no coordinator reachable within JAX's 300 s.
    from mixres import faults
    print(f'error: --distributed: could not join the run ({faults.first_line(e)})',
          file=sys.stderr)
    sys.exit(faults.EXIT_FAILED)


def main(argv):
  del argv
  if not flags.FLAGS['verbosity'].present:
    # Orbax logs every checkpoint step at INFO; our own progress lines are printed instead.
    logging.set_verbosity(logging.WARNING)
  import jax  # After flag parsing, so that --help stays fast.
  if _DISTRIBUTED.value:
    _initialize_distributed(jax)
  else:
    given = [f'--{f.name}' for f in (_COORDINATOR, _NUM_PROCESSES, _PROCESS_ID, _HEARTBEAT)
             if flags.FLAGS[f.name].present]
    if given:
      _fail(f'{", ".join(given)} need(s) --distributed')
  if _COMPILATION_CACHE.value:
    # JAX keeps compilations of 1 s or more (jax_persistent_cache_min_compile_time_secs).
    jax.config.update('jax_compilation_cache_dir', os.path.expanduser(_COMPILATION_CACHE.value))
  else:
    jax.config.update('jax_enable_compilation_cache', False)
  if jax.process_index() == 0:
    print(f'JAX {jax.__version__}: {jax.process_count()} process(es), '
          f'{jax.device_count()} device(s) ({jax.devices()[0].platform})', flush=True)
  from mixres import faults
  from mixres import train
  try:
    summary = train.train_and_evaluate(_CONFIG.value, _WORKDIR.value)
  except (ValueError, FileNotFoundError) as e:  # Bad input: one line, no traceback.
    print(f'error: {e}', file=sys.stderr)
    sys.exit(faults.EXIT_BAD_INPUT)
  except (faults.Preempted, faults.Diverged) as e:  # Every process stops at the same step.
    print(f'{e.label}: {e}', file=sys.stderr)
    sys.exit(e.exit_code)
  # The failures below may be this process's alone.
  except faults.CheckpointFailed as e:
    _stop_at_once(e.exit_code, f'{e.label}: {e}')
  except OSError as e:  # E.g. a full disk while writing logs: what failed, in one line.
    _stop_at_once(faults.EXIT_FAILED, f'error: {faults.first_line(e)}; the last complete '
                  'checkpoint is kept; run the same command to resume once fixed')
  except KeyboardInterrupt:  # The second Ctrl-C.
    _stop_at_once(130, 'interrupted: stopped at once, nothing saved since the last checkpoint')
  except jax.errors.JaxRuntimeError as e:
    if jax.process_count() == 1:
      raise
    # A collective failed: another process died (its peers see a reset connection at once).
    _stop_at_once(faults.EXIT_FAILED, f'error: process {jax.process_index()} of '
                  f'{jax.process_count()} stops: the distributed run lost a process '
                  f'({faults.first_line(e)}); the last complete checkpoint is kept; restart '
                  'every process with the same command to resume')
  except Exception:  # A bug: its traceback, then out without waiting for the other processes.
    if jax.process_count() == 1:
      raise
    traceback.print_exc()
    _stop_at_once(faults.EXIT_FAILED, f'error: process {jax.process_index()} of '
                  f'{jax.process_count()} stopped on the error above')
  if jax.process_index() == 0:  # The best-so-far numbers and the headline; the rest is logged.
    from mixres import metric_writers
    shown = sorted(k for k in summary if k.startswith('best/')) + metric_writers.headline(summary)
    print('done: ' + ' '.join(f'{k}={summary[k]:.4g}' for k in shown)
          + ' (every metric is in the workdir\'s metrics and TensorBoard)')


if __name__ == '__main__':
  app.run(main, flags_parser=parse_flags)
