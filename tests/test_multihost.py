"""Multi-host faults: two processes on localhost train one run through jax.distributed and gloo.

Each process is `python -m mixres.main --distributed` with the flags a launcher outside a managed
cluster gives, one CPU device each; the global batch of 8 is split 4 + 4 (each process reads its
share, mixres/data/pipeline.py). RELIABILITY.md quotes what these tests measure.
"""

import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from mixres import faults
from mixres import parallel

pytestmark = pytest.mark.faults

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The tiny run: tests/conftest.py's `tiny_config` sizes, the probe as the only evaluator.
SETTINGS = {'num_train_steps': 6, 'log_every': 1, 'eval_every': 6, 'checkpoint_every': 3,
            'batch_size': 8, 'model.depth': 4, 'model.latent_width': 8, 'eval.batch_size': 64,
            'eval.max_examples': 128, 'eval.figure_pairs': 2, 'eval.evaluators': 'probe'}
HEARTBEAT = 5  # Seconds (JAX's default, used in production, is 100): bounds a hung peer's wait.


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('localhost', 0))
    return s.getsockname()[1]


def _command(workdir, port, process_id, steps):
  overrides = {**SETTINGS, 'num_train_steps': steps}
  return [sys.executable, '-m', 'mixres.main', '--config=configs/quickstart.py',
          f'--workdir={workdir}', *(f'--config.{k}={v}' for k, v in overrides.items()),
          '--distributed', f'--coordinator_address=localhost:{port}', '--num_processes=2',
          f'--process_id={process_id}', f'--heartbeat_timeout={HEARTBEAT}']


def _environment():
  env = dict(os.environ)
  # One CPU device per process (conftest.py asks for two in this process); the compilation
  # cache and the flat threefry come with conftest.py's environment.
  env['XLA_FLAGS'] = '--xla_force_host_platform_device_count=1'
  return env


def _start(workdir, steps=6, full_disk_from_step=None):
  """The two processes; with `full_disk_from_step`, process 1 under tests/full_disk_main.py."""
  port = _free_port()
  processes = []
  for i in (0, 1):
    command, env = _command(workdir, port, i, steps), _environment()
    if i == 1 and full_disk_from_step is not None:
      command[1:3] = [os.path.join(REPO, 'tests', 'full_disk_main.py')]
      env['MIXRES_FULL_DISK_FROM_STEP'] = str(full_disk_from_step)
    processes.append(subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
  return processes


def _finish(processes, timeout=300):
  return [(p.returncode, out, err) for p in processes
          for out, err in [p.communicate(timeout=timeout)]]


def _steps_on_disk(workdir):
  directory = os.path.join(workdir, 'checkpoints')
  names = os.listdir(directory) if os.path.isdir(directory) else []
  return sorted(int(n) for n in names if n.isdigit())


def _final_params(workdir):
  from mixres import evaluate
  experiment, state = evaluate.restore(workdir)
  experiment.checkpointer.close()
  return int(state.step), jax.device_get(state.params)


@pytest.fixture(scope='module')
def gloo():
  """Skips where this jaxlib has no gloo CPU collectives (the run could not start)."""
  from jax._src.lib import _jax
  if not hasattr(_jax, 'make_gloo_tcp_collectives'):
    pytest.skip('this jaxlib has no gloo CPU collectives (jax_cpu_collectives_implementation)')


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory, gloo):
  """(step, params) of the 6-step 2-process run, never stopped: what a resumed run must equal.

  Run once per session: under pytest-xdist every worker that needs it reads the one workdir
  (the first to arrive runs it, holding a lock). Not the same run in one process on a mesh of
  its 2 devices: that one ends bitwise equal on 2 cores, but when everything shares one core all
  62 arrays differ (1e-5 relative after 6 steps; not traced further), so that comparison would
  depend on the host.
  """
  shared = tmp_path_factory.getbasetemp()
  if os.environ.get('PYTEST_XDIST_WORKER'):
    shared = shared.parent  # This session's directory, above each worker's own.
  workdir = shared / 'multihost_uninterrupted'
  with open(shared / 'multihost_uninterrupted.lock', 'w') as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)  # Released when the file closes.
    if _steps_on_disk(workdir)[-1:] != [6]:  # Not yet run (or a worker died running it).
      shutil.rmtree(workdir, ignore_errors=True)
      results = _finish(_start(str(workdir), steps=6))
      assert [code for code, _, _ in results] == [0, 0], results[0][2][-3000:]
    return _final_params(str(workdir))


def test_sigterm_to_one_process_saves_the_same_step_on_both_and_exits_75(tmp_path, gloo):
  """SIGTERM to process 1 only, after step 1 of 12: JAX's preemption notifier (a SIGTERM handler
  in every process, synchronised through the coordinator) picks the step that both save (the
  next one either has not finished, so it may be step 1 itself); both exit 75 with the same one
  line, zero steps lost."""
  workdir = str(tmp_path)
  processes = _start(workdir, steps=12)
  for line in processes[0].stdout:
    if line.startswith('step 1/12'):
      processes[1].send_signal(signal.SIGTERM)
      break
  results = _finish(processes)
  assert [code for code, _, _ in results] == [faults.EXIT_PREEMPTED] * 2, results[0][2][-3000:]
  last_lines = {err.strip().splitlines()[-1] for _, _, err in results}
  assert len(last_lines) == 1, last_lines
  line = last_lines.pop()
  assert line.startswith('preempted: preemption notice: checkpoint saved at step '), line
  saved = int(line.split('saved at step ')[1].split()[0])
  assert 1 <= saved < 12 and _steps_on_disk(workdir)[-1] == saved  # Zero steps lost.
  state_dir = os.path.join(workdir, 'checkpoints', str(saved), 'state')
  assert {'ocdbt.process_0', 'ocdbt.process_1'} <= set(os.listdir(state_dir))


def test_a_killed_process_stops_the_other_at_once_and_both_resume_bitwise(
    tmp_path, uninterrupted):
  """SIGKILL to process 1 once step 3's checkpoint is complete: process 0's next collective
  fails, and it exits 1 with one line within seconds (not JAX's abort after the heartbeat
  timeout). Both restarted resume from step 3, the last complete checkpoint, and end bitwise
  equal to the uninterrupted run."""
  workdir = str(tmp_path)
  processes = _start(workdir, steps=12)
  reached, killed_at = 0, None
  for line in processes[0].stdout:
    if line.startswith('step '):
      reached = int(line.split()[1].split('/')[0])
      if reached >= 4 and 3 in _steps_on_disk(workdir):
        processes[1].kill()
        killed_at = time.monotonic()
        break
  assert killed_at is not None, 'the run ended before step 3 was saved'
  code, _, err = _finish(processes[:1], timeout=60)[0]
  took = time.monotonic() - killed_at
  processes[1].wait()
  lines = err.strip().splitlines()
  assert code == faults.EXIT_FAILED and took < HEARTBEAT, (code, took, err[-3000:])
  assert lines[-1].startswith('error: process 0 of 2 stops: the distributed run lost a '
                              'process ('), lines[-1]
  latest = _steps_on_disk(workdir)[-1]
  assert 0 <= reached - latest <= SETTINGS['checkpoint_every'], (reached, latest)
  print(f'\nkilled at step {reached}; process 0 exited {code} after {took:.2f} s; '
        f'{reached - latest} step(s) lost (last complete checkpoint: {latest})')

  results = _finish(_start(workdir, steps=6))  # The same command; the length may change.
  assert [code for code, _, _ in results] == [0, 0], results[0][2][-3000:]
  assert not [n for n in os.listdir(os.path.join(workdir, 'checkpoints')) if 'tmp' in n]
  step, params = _final_params(workdir)
  reference_step, reference = uninterrupted
  assert step == reference_step == 6
  for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(reference)):
    np.testing.assert_array_equal(a, b)


def test_a_full_disk_on_one_process_stops_both_with_one_line_and_both_resume_bitwise(
    tmp_path, uninterrupted):
  """Process 1's files are capped at 1 KB from its step-6 save on (a full local disk); process
  0 writes normally. Process 1's save fails, and process 0's, which waits for it, fails too:
  both exit 1 at once (no wait for the heartbeat timeout), stderr one line each naming step 3
  as the last complete checkpoint. Both restarted resume from it, bitwise."""
  workdir = str(tmp_path)
  started = time.monotonic()
  results = _finish(_start(workdir, steps=6, full_disk_from_step=6))
  for code, _, err in results:
    [line] = err.strip().splitlines()
    assert code == faults.EXIT_FAILED and line.startswith(
        'error: checkpoint at step 6 could not be written (') and (
            'step 3 is the last complete one' in line), err[-3000:]
  assert _steps_on_disk(workdir) == [3]
  print(f'\nboth processes exited 1 within {time.monotonic() - started:.1f} s of starting')
  results = _finish(_start(workdir, steps=6))
  assert [code for code, _, _ in results] == [0, 0], results[0][2][-3000:]
  step, params = _final_params(workdir)
  assert step == uninterrupted[0] == 6
  for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(uninterrupted[1])):
    np.testing.assert_array_equal(a, b)


# Two bare processes: each joins, calls parallel.connect_processes, then waits argv[3] seconds
# times its process id before one sum over the mesh (a compilation slowed by a busy host).
LATE_TO_THE_FIRST_COLLECTIVE = """
import sys, time
import jax
import numpy as np
from mixres import parallel
jax.config.update('jax_cpu_collectives_implementation', 'gloo')
jax.distributed.initialize(sys.argv[1], 2, int(sys.argv[2]))
mesh = parallel.make_mesh()
parallel.connect_processes(mesh)
time.sleep(float(sys.argv[3]) * jax.process_index())
x = parallel.to_global(mesh, np.full(1, jax.process_index() + 1, np.int32))
print('sum', int(jax.jit(lambda x: x.sum(), out_shardings=parallel.replicated(mesh))(x)))
"""


def test_a_process_late_to_the_first_collective_is_waited_for(gloo):
  """Process 1 reaches the first collective after `connect_processes` 35 s after process 0:
  both finish. Without it, gloo opens its connections there and gives process 1 only its fixed
  30 s, which a busy 2-core machine's compilation exceeded: process 0 then failed with 'Gloo
  context initialization failed: DEADLINE_EXCEEDED' (a training run) or hung (this script)."""
  address = f'localhost:{_free_port()}'
  processes = [subprocess.Popen([sys.executable, '-c', LATE_TO_THE_FIRST_COLLECTIVE, address,
                                 str(i), '35'], cwd=REPO, env=_environment(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for i in (0, 1)]
  try:
    results = _finish(processes, timeout=120)
  finally:  # A failed start can hang (process 0 did without connect_processes): never leave it.
    for p in processes:
      p.kill()
  for code, out, err in results:
    assert code == 0 and out.strip().splitlines()[-1] == 'sum 3', err[-3000:]  # After gloo's lines.


def test_under_jax_distributed_sigint_takes_the_path_of_sigterm():
  """Multi-host, SIGTERM is JAX's; a first SIGINT is re-raised as SIGTERM (so every process saves
  the same step) and sets no flag of ours (which would stop this process alone); a second
  SIGINT stops at once. A Python SIGTERM handler stands in for JAX's notifier."""
  notified = []
  previous = signal.signal(signal.SIGTERM, lambda signum, frame: notified.append(signum))
  try:
    with faults.StopRequest(multihost=True) as stop:
      os.kill(os.getpid(), signal.SIGTERM)
      assert notified == [signal.SIGTERM] and not stop.requested  # Left to JAX.
      os.kill(os.getpid(), signal.SIGINT)
      assert notified == [signal.SIGTERM] * 2 and not stop.requested
      with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
  finally:
    signal.signal(signal.SIGTERM, previous)


# -------------------------------------------------------------------------------------------------
# Flags: a setting that cannot start is one line, before any work.

@pytest.mark.parametrize('flags, environ, message', [
    ({'coordinator_address': 'localhost:1234'}, {},
     'missing --num_processes (or JAX_NUM_PROCESSES), --process_id (or JAX_PROCESS_ID)'),
    ({'coordinator_address': 'localhost', 'num_processes': 2, 'process_id': 0}, {},
     '--coordinator_address=localhost must be HOST:PORT'),
    ({'num_processes': 2, 'process_id': 2}, {'JAX_COORDINATOR_ADDRESS': 'h:1'},
     '--process_id=2 must be in [0, 2)'),
    ({'num_processes': 0, 'process_id': 0, 'coordinator_address': 'h:1'}, {},
     '--num_processes=0 must be >= 1'),
    ({}, {'JAX_COORDINATOR_ADDRESS': 'h:1', 'JAX_NUM_PROCESSES': 'two',
          'JAX_PROCESS_ID': '0'}, 'JAX_NUM_PROCESSES=two must be an integer'),
])
def test_bad_distributed_settings_are_refused_naming_the_flag(flags, environ, message):
  with pytest.raises(ValueError) as raised:
    parallel.distributed_args(**flags, environ=environ)
  assert message in str(raised.value), str(raised.value)


def test_distributed_settings_come_from_flags_else_the_environment():
  environ = {'JAX_COORDINATOR_ADDRESS': 'host0:9999', 'JAX_NUM_PROCESSES': '4',
             'JAX_PROCESS_ID': '3'}
  assert parallel.distributed_args(environ=environ) == {
      'coordinator_address': 'host0:9999', 'num_processes': 4, 'process_id': 3}
  assert parallel.distributed_args(process_id=1, environ=environ)['process_id'] == 1
  assert parallel.distributed_args(environ={}) == {}  # A managed cluster: JAX detects them.


@pytest.mark.parametrize('args, message', [
    (['--process_id=1'], 'error: --process_id need(s) --distributed'),
    (['--distributed', '--num_processes=2', '--process_id=5',
      '--coordinator_address=localhost:1'], 'error: --process_id=5 must be in [0, 2)'),
    (['--distributed'], 'error: --distributed: coordinator_address should be defined; outside a '
                        'managed cluster give --coordinator_address, --num_processes and '
                        '--process_id'),
])
def test_main_refuses_a_bad_distributed_setting_in_one_line(tmp_path, args, message):
  result = subprocess.run(
      [sys.executable, '-m', 'mixres.main', '--config=configs/quickstart.py',
       f'--workdir={tmp_path}', *args], cwd=REPO, capture_output=True, text=True, timeout=120,
      env={k: v for k, v in os.environ.items()  # Nor a cluster for JAX to detect.
           if not k.startswith(('JAX_', 'SLURM_', 'OMPI_', 'PMI_'))})
  assert result.returncode == faults.EXIT_BAD_INPUT
  assert result.stderr.strip().splitlines() == [message + (
      ' (--num_processes=2)' if 'must be in' in message else '')]
  assert not os.listdir(tmp_path)
