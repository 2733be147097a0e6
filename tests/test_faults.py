"""Fault injection: signals, broken checkpoints, full disks and divergence never lose a run.

Each test does one fault to a tiny run and asserts what survived (RELIABILITY.md gathers them).
"""

import logging
import os
import signal
import subprocess
import sys
import threading

import jax
import numpy as np
import pytest

from mixres import checkpoint
from mixres import faults
from mixres import steps
from mixres import train
from mixres.data import pipeline

pytestmark = pytest.mark.faults

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def final_state(config, workdir):
  experiment = train.Experiment(config, workdir)
  state, meta = experiment.restore_or_init()
  experiment.checkpointer.close()
  return jax.device_get(state), meta


def assert_same_params(a, b):
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    np.testing.assert_array_equal(x, y)


def steps_on_disk(workdir):
  return sorted(int(n) for n in os.listdir(os.path.join(workdir, 'checkpoints')) if n.isdigit())


# -------------------------------------------------------------------------------------------------
# Signals.

def test_stop_request_sets_a_flag_then_a_second_sigint_stops_at_once():
  previous = signal.getsignal(signal.SIGINT)
  with faults.StopRequest() as stop:
    assert not stop.requested
    os.kill(os.getpid(), signal.SIGTERM)
    assert stop.signal_name == 'SIGTERM'
    with pytest.raises(KeyboardInterrupt):
      os.kill(os.getpid(), signal.SIGINT)
  assert signal.getsignal(signal.SIGINT) is previous  # Handlers put back.
  with faults.StopRequest(enabled=False):
    assert signal.getsignal(signal.SIGTERM) is not None
    assert signal.getsignal(signal.SIGINT) is previous


def _tiny_command(workdir, steps, *extra):
  return [sys.executable, '-m', 'mixres.main', '--config=configs/quickstart.py',
          f'--workdir={workdir}', f'--config.num_train_steps={steps}', '--config.log_every=1',
          f'--config.eval_every={steps}', '--config.checkpoint_every=10', '--config.batch_size=8',
          '--config.model.depth=4', '--config.model.latent_width=8',
          '--config.eval.batch_size=64', '--config.eval.max_examples=128',
          '--config.eval.figure_pairs=2', *extra]


def _run(command, env=None):
  return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600,
                        env=env)


@pytest.fixture(scope='module')
def straight_40(tmp_path_factory):
  """Parameters of an uninterrupted 40-step tiny run through `python -m mixres.main`."""
  workdir = str(tmp_path_factory.mktemp('straight'))
  finished = _run(_tiny_command(workdir, 40))
  assert finished.returncode == 0, finished.stderr
  return _restored_params(workdir)


def _restored_params(workdir):
  from mixres import evaluate
  experiment, state = evaluate.restore(workdir)
  experiment.checkpointer.close()
  assert int(state.step) == 40
  return jax.device_get(state.params)


def _run_until_signalled(workdir, signum, after_step, *extra):
  """Starts the 40-step run (with `extra` flags), sends `signum` once it prints step
  `after_step`; (process, out, err, the last step it printed)."""
  process = subprocess.Popen(_tiny_command(workdir, 40, *extra), cwd=REPO, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
  for line in process.stdout:
    if line.startswith(f'step {after_step}/40'):
      process.send_signal(signum)
      break
  out, err = process.communicate(timeout=300)
  printed = [l for l in out.splitlines() if l.startswith('step ')]
  last_step = int(printed[-1].split()[1].split('/')[0]) if printed else after_step
  return process, out, err, last_step


@pytest.mark.parametrize('signum', [signal.SIGTERM, signal.SIGINT])
def test_signal_saves_at_the_next_step_and_the_same_command_resumes_bit_for_bit(
    signum, tmp_path, straight_40):
  """The scheduler's SIGTERM (or one Ctrl-C) at step >= 3 of 40: exit 75 after a checkpoint of
  the step it reached (no step lost), one line saying so; the same command then finishes the
  run with parameters equal to an uninterrupted run's."""
  workdir = str(tmp_path / 'run')
  process, _, err, last_step = _run_until_signalled(workdir, signum, 3)
  assert process.returncode == faults.EXIT_PREEMPTED, err
  name = signal.Signals(signum).name
  assert err.strip().splitlines()[-1] == (
      f'preempted: {name}: checkpoint saved at step {last_step} of 40; run the same command to '
      'resume from it'), err
  assert 3 <= last_step < 40 and steps_on_disk(workdir)[-1] == last_step  # Zero steps lost.
  resumed = _run(_tiny_command(workdir, 40))
  assert resumed.returncode == 0, resumed.stderr
  assert_same_params(_restored_params(workdir), straight_40)


def test_sigkill_loses_at_most_the_checkpoint_interval_and_resumes_bit_for_bit(
    tmp_path, straight_40):
  """SIGKILL (no chance to save) after step 17: the newest checkpoint is step 10 (or a later
  multiple of 10 the run reached), so at most 10 steps are lost; the same command resumes,
  reading its compiled train call from --compilation_cache, and ends equal to the
  uninterrupted run."""
  workdir = str(tmp_path / 'run')
  cache = f'--compilation_cache={tmp_path / "xla"}'
  process, _, _, last_step = _run_until_signalled(workdir, signal.SIGKILL, 17, cache)
  assert process.returncode == -signal.SIGKILL
  newest = steps_on_disk(workdir)[-1]
  assert newest % 10 == 0 and 0 <= last_step - newest <= 10, (last_step, newest)
  assert os.listdir(tmp_path / 'xla')
  resumed = _run(_tiny_command(workdir, 40, cache), env={**os.environ, 'JAX_LOG_COMPILES': '1'})
  assert resumed.returncode == 0, resumed.stderr
  assert "Persistent compilation cache hit for 'jit_call'" in resumed.stderr, resumed.stderr
  assert_same_params(_restored_params(workdir), straight_40)


def test_orbax_preemption_notice_saves_and_raises_preempted(tiny_config, tmp_path, monkeypatch):
  """Under jax.distributed Orbax reports the preemption sync point; the run saves that step and
  stops with Preempted (exit 75), not as a finished run."""
  monkeypatch.setattr(checkpoint.Checkpointer, 'reached_preemption', lambda self, step: step == 4)
  with pytest.raises(faults.Preempted, match=r'^preemption notice: checkpoint saved at step 4 '
                                             r'of 6; run the same command'):
    train.train_and_evaluate(tiny_config, str(tmp_path))
  assert steps_on_disk(str(tmp_path)) == [3, 4]


# -------------------------------------------------------------------------------------------------
# Broken checkpoints and full disks.

def test_truncated_latest_checkpoint_is_set_aside_and_the_one_before_resumes(
    tiny_config, tmp_path, capsys):
  """Steps 3 and 6 saved; every data file of step 6 cut in half. Resuming to 9 says so in one
  line, moves step 6 to unreadable_checkpoints/ (kept, not deleted), restarts from step 3 and
  ends equal to an uninterrupted 9-step run: 3 steps lost, one checkpoint interval."""
  workdir = str(tmp_path / 'run')
  train.train_and_evaluate(tiny_config, workdir)
  # OCDBT keeps data files under the per-process store and the merged one (state/d/); how many
  # land in each varies from save to save, so every one is cut.
  cut = 0
  for folder, _, names in os.walk(os.path.join(workdir, 'checkpoints', '6', 'state')):
    if os.path.basename(folder) == 'd':
      for name in names:
        path = os.path.join(folder, name)
        os.truncate(path, os.path.getsize(path) // 2)
        cut += 1
  assert cut
  capsys.readouterr()
  tiny_config.num_train_steps = 9
  train.train_and_evaluate(tiny_config, workdir)
  warnings = [l for l in capsys.readouterr().err.splitlines() if l.startswith('warning:')]
  assert len(warnings) == 1 and warnings[0].startswith('warning: checkpoint step 6 is unreadable')
  assert os.listdir(os.path.join(workdir, 'unreadable_checkpoints')) == ['6']
  train.train_and_evaluate(tiny_config, str(tmp_path / 'straight'))
  resumed, _ = final_state(tiny_config, workdir)
  straight, _ = final_state(tiny_config, str(tmp_path / 'straight'))
  assert int(resumed.step) == 9
  assert_same_params(resumed.params, straight.params)


def test_leftover_temporary_checkpoint_directories_are_removed(tiny_config, tmp_path):
  """A save killed mid-write leaves `N.orbax-checkpoint-tmp-*`; the next start removes it."""
  tiny_config.num_train_steps = 3
  train.train_and_evaluate(tiny_config, str(tmp_path))
  leftover = tmp_path / 'checkpoints' / '6.orbax-checkpoint-tmp-1234567'
  (leftover / 'state').mkdir(parents=True)
  tiny_config.num_train_steps = 6
  train.train_and_evaluate(tiny_config, str(tmp_path))
  assert not leftover.exists() and steps_on_disk(str(tmp_path)) == [3, 6]


def _print_and_log_from_a_thread(text):
  writer = threading.Thread(target=lambda: (print(text, file=sys.stderr),
                                            logging.getLogger('writer').error(text + ' logged')))
  writer.start()
  writer.join()


def test_held_back_output_is_let_out_after_success_and_kept_after_a_failure(capsys, caplog):
  with faults.HeldBackOutput():
    _print_and_log_from_a_thread('all went well')
    assert capsys.readouterr().err == '' and caplog.messages == []  # Held back.
  assert capsys.readouterr().err == 'all went well\n'
  assert caplog.messages == ['all went well logged']  # Through the handlers it was meant for.
  held_back = faults.HeldBackOutput(settle_s=0)
  with pytest.raises(OSError):
    with held_back:
      _print_and_log_from_a_thread('disk full')
      raise OSError('no space')
  assert capsys.readouterr().err == '' and caplog.messages == ['all went well logged']
  assert held_back.text == 'disk full\ndisk full logged\n'
  with open(held_back.write_report('mixres-test-')) as report:
    assert report.read() == held_back.text
  os.remove(report.name)


def test_a_failed_save_names_the_last_complete_step_and_a_report_of_the_writers_output(
    tmp_path, capsys, monkeypatch):
  checkpointer = checkpoint.Checkpointer(str(tmp_path / 'checkpoints'))
  state, meta = {'w': np.ones(3, np.float32)}, {'step': 1}
  checkpointer.save(1, state, meta)

  def failing_save(*args, **kwargs):
    _print_and_log_from_a_thread('writer thread traceback')
    raise OSError(28, 'No space left on device')

  monkeypatch.setattr(checkpointer.manager, 'save', failing_save)
  with pytest.raises(faults.CheckpointFailed) as raised:
    checkpointer.save(2, state, meta)
  message = str(raised.value)
  assert message.startswith('checkpoint at step 2 could not be written (OSError: [Errno 28] No '
                            'space left on device); step 1 is the last complete one; ')
  report = message.split("Orbax's own report: ")[1]
  with open(report) as f:
    assert f.read() == 'writer thread traceback\nwriter thread traceback logged\n'
  os.remove(report)
  assert capsys.readouterr().err == ''  # Nothing but the exception's line reaches the user.


def test_a_full_disk_during_a_save_stops_the_run_and_keeps_the_last_checkpoint(tmp_path):
  """The step-20 save runs with every file capped at 1 KB (RLIMIT_FSIZE, SIGXFSZ ignored: writes
  fail as on a full disk). The run exits 1, and stderr is one line naming the step and the
  intact checkpoint: the writer threads' tracebacks are held back (the report file they would
  go to is capped too). The same command, disk freed, resumes from step 10 and removes the
  partial save."""
  workdir = str(tmp_path / 'run')
  command = _tiny_command(workdir, 20)
  failed = _run([sys.executable, os.path.join(REPO, 'tests', 'full_disk_main.py'), *command[3:]],
                env=dict(os.environ, MIXRES_FULL_DISK_FROM_STEP='20'))
  assert failed.returncode == faults.EXIT_FAILED, failed.stderr
  [line] = failed.stderr.strip().splitlines()
  assert line.startswith('error: checkpoint at step 20 could not be written (') and line.endswith(
      '); step 10 is the last complete one; the run stops here: free space (or fix the workdir) '
      'and run the same command to resume'), failed.stderr
  assert steps_on_disk(workdir) == [10]
  resumed = _run(command)
  assert resumed.returncode == 0, resumed.stderr
  assert sorted(os.listdir(os.path.join(workdir, 'checkpoints'))) == ['10', '20']


# -------------------------------------------------------------------------------------------------
# Divergence.

def poison_batch(monkeypatch, position):
  """Training batch `position` gets NaN images: the step on it makes the state non-finite."""
  original = pipeline.train_batches

  def poisoned(*args, **kwargs):
    def maybe_nan(index, batch):
      if index == position:
        batch = dict(batch, image=np.full_like(batch['image'], np.nan))
      return batch
    return original(*args, **kwargs).map_with_index(maybe_nan)

  monkeypatch.setattr(pipeline, 'train_batches', poisoned)


def test_divergence_stops_with_one_line_and_keeps_the_last_good_checkpoint(
    tiny_config, tmp_path, monkeypatch):
  """Batch 4 is NaN: step 5 goes non-finite. The run stops (exit 3) naming step 5 and the
  terms, before the step-6 checkpoint could hold a NaN; step 3 stays the newest."""
  poison_batch(monkeypatch, 4)
  with pytest.raises(faults.Diverged) as raised:
    train.train_and_evaluate(tiny_config, str(tmp_path))
  message = str(raised.value)
  assert message.startswith('non-finite ') and ' at step 5; the last good checkpoint is step 3;' \
      in message and 'parameters' in message and '\n' not in message, message
  assert raised.value.exit_code == faults.EXIT_DIVERGED
  assert steps_on_disk(str(tmp_path)) == [3]


def test_rollback_skips_the_batch_that_diverged_and_the_run_finishes(
    tiny_config, tmp_path, monkeypatch):
  """divergence_rollbacks=1: back to step 3, batch 4 skipped, the run ends at step 6 with a
  finite state on batches 0-3, 5, 6; the checkpoint records the skip so a resume keeps it."""
  poison_batch(monkeypatch, 4)
  tiny_config.divergence_rollbacks = 1
  train.train_and_evaluate(tiny_config, str(tmp_path))
  state, meta = final_state(tiny_config, str(tmp_path))
  assert int(state.step) == 6 and meta['rollbacks'] == 1
  assert meta['data']['skipped'] == [4] and meta['data']['position'] == 7
  assert bool(faults.state_is_finite(state))
  # A second poisoned batch is one rollback too many.
  poison_batch(monkeypatch, 8)
  tiny_config.num_train_steps = 9
  with pytest.raises(faults.Diverged, match=r'at step 8 after 1 rollback\(s\); the last good '
                                            r'checkpoint is step 6'):
    train.train_and_evaluate(tiny_config, str(tmp_path))


def test_first_divergence_names_the_step_and_the_terms():
  history = [(0, {'gen/loss': 1.0, steps.FINITE_STATE: True}),
             (1, {'gen/loss': 2.0, steps.FINITE_STATE: False}),
             (2, {'gen/loss': np.nan, 'disc/loss': np.inf, steps.FINITE_STATE: False})]
  assert steps.first_divergence(history) == (1, ['parameters'])
  assert steps.first_divergence(history[2:]) == (2, ['gen/loss', 'disc/loss', 'parameters'])
  assert steps.first_divergence(history[:1]) is None
