"""Bad input: every bad command-line value is refused in one line naming the field, before work.

Each value goes through the command line's own parsing (ml_collections' config flags, as
`python -m mixres.main` parses them) and then train.train_and_evaluate, in-process for speed; a
few run as real subprocesses to check the exit status and stderr of the entry point itself.
RELIABILITY.md quotes the count: `pytest tests/test_bad_input.py -m faults -q`.
"""

import os
import subprocess
import sys

import pytest
from absl import flags
from ml_collections import config_flags

from mixres import faults
from mixres import train

pytestmark = pytest.mark.faults

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The tiny run of tests/test_faults.py: a bad value that slipped through would train for seconds.
TINY = ['--config.num_train_steps=2', '--config.log_every=1', '--config.eval_every=2',
        '--config.checkpoint_every=2', '--config.batch_size=8', '--config.model.depth=4',
        '--config.model.latent_width=8', '--config.eval.batch_size=64',
        '--config.eval.max_examples=128', '--config.eval.figure_pairs=2']


def _files(tmp_path):
  """Bad data files: a text file named .npz, a truncated zip, a .npy, non-gzip IDX, bad magic."""
  made = {}
  text = tmp_path / 'notes.npz'
  text.write_text('these are not images\n')
  made['text_npz'] = str(text)
  import numpy as np
  np.savez(tmp_path / 'whole.npz', images=np.zeros((4, 8, 8), np.uint8), labels=np.zeros(4))
  cut = tmp_path / 'cut.npz'
  cut.write_bytes((tmp_path / 'whole.npz').read_bytes()[:60])
  made['cut_npz'] = str(cut)
  np.save(tmp_path / 'single.npy', np.zeros(3))
  os.rename(tmp_path / 'single.npy', tmp_path / 'single.npz')
  made['single_npz'] = str(tmp_path / 'single.npz')
  np.savez(tmp_path / 'other.npz', x=np.zeros(3))
  made['other_npz'] = str(tmp_path / 'other.npz')
  for name, content in (('gz', b'plain text'), ('magic', b'GIF89a......')):
    suffix = '.gz' if name == 'gz' else ''
    for kind in ('images-idx3', 'labels-idx1'):
      (tmp_path / f'{name}-{kind}-ubyte{suffix}').write_bytes(content)
    made[f'idx_{name}'] = str(tmp_path / f'{name}-images-idx3-ubyte{suffix}')
  return made


# (overrides, the field the error must name). `{file}` entries take a path from _files.
BAD_VALUES = [
    # The tracebacks and silent acceptances.
    (['model.latent=0'], 'model.latent'),
    (['model.depth=-4'], 'model.depth'),
    (['optim.lr=nan'], 'optim.lr'),
    (['optim.lr=-1'], 'optim.lr'),
    (['optim.b1=1.5'], 'optim.b1'),
    (['eval.figure_pairs=0'], 'eval.figure_pairs'),
    (['data.name=mnist', 'data.path={text_npz}'], 'data.path'),
    # Optimiser.
    (['optim.lr=0'], 'optim.lr'),
    (['optim.lr=inf'], 'optim.lr'),
    (['optim.b1=-0.1'], 'optim.b1'),
    (['optim.b2=1.0'], 'optim.b2'),
    (['optim.b2=nan'], 'optim.b2'),
    (['optim.weight_decay=-1e-5'], 'optim.weight_decay'),
    (['optim.weight_decay=nan'], 'optim.weight_decay'),
    (['probe_lr=0'], 'probe_lr'),
    (['probe_lr=nan'], 'probe_lr'),
    # Length and cadences.
    (['batch_size=0'], 'batch_size'),
    (['batch_size=-8'], 'batch_size'),
    (['batch_size=7'], 'batch_size'),
    (['num_train_steps=-1'], 'num_train_steps'),
    (['num_train_steps=0', 'num_epochs=nan'], 'num_epochs'),
    (['num_epochs=-1'], 'num_epochs'),
    (['log_every=0'], 'log_every'),
    (['eval_every=0'], 'eval_every'),
    (['checkpoint_every=-5'], 'checkpoint_every'),
    (['keep_checkpoints=0'], 'keep_checkpoints'),
    (['divergence_rollbacks=-1'], 'divergence_rollbacks'),
    (['num_devices=-1'], 'num_devices'),
    (['seed=-1'], 'seed'),
    (['precision=float16'], 'precision'),
    (['profile_steps=3'], 'profile_steps'),
    (['profile_steps=0-1'], 'profile_steps'),
    (['profile_steps=2-1'], 'profile_steps'),
    (['profile_steps=1-3'], 'profile_steps'),  # TINY runs 2 steps.
    # The AMR loss and mixing.
    (['gen_every=0'], 'gen_every'),
    (['k=1'], 'k'),
    (['lam=-1'], 'lam'),
    (['lam=nan'], 'lam'),
    (['beta=-0.5'], 'beta'),
    (['mixer=cutmix'], 'mixer'),
    (['objective=acai2'], 'objective'),
    (['recon=huber'], 'recon'),
    # Model.
    (['model.latent_width=0'], 'model.latent_width'),
    (['model.latent_width=64'], 'model.latent_width'),
    (['model.depth=0'], 'model.depth'),
    (['model.leaky_slope=-0.2'], 'model.leaky_slope'),
    (['model.leaky_slope=nan'], 'model.leaky_slope'),
    (['model.arch=resnet'], 'model.arch'),
    (['model.norm=group'], 'model.norm'),
    (['model.code_size=0'], 'model.code_size'),
    # Data.
    (['data.name=svhn'], 'data.name'),
    (['data.image_size=0'], 'data.image_size'),
    (['data.image_size=24'], 'data.image_size'),
    (['data.valid_fraction=0'], 'data.valid_fraction'),
    (['data.valid_fraction=nan'], 'data.valid_fraction'),
    (['data.num_classes=-1'], 'data.num_classes'),
    (['data.shuffle_seed=-2'], 'data.shuffle_seed'),
    (['data.augment.rotation=-10'], 'data.augment.rotation'),
    (['data.batching=epochs'], 'data.batching'),
    (['data.name=mnist', 'data.path=/nonexistent/train.npz'], 'data.path'),
    (['data.name=mnist', 'data.path={cut_npz}'], 'data.path'),
    (['data.name=mnist', 'data.path={single_npz}'], 'data.path'),
    (['data.name=mnist', 'data.path={other_npz}'], 'data.path'),
    (['data.name=mnist', 'data.path={idx_gz}'], 'data.path'),
    (['data.name=mnist', 'data.path={idx_magic}'], 'data.path'),
    # Evaluation.
    (['eval.figure_steps=0'], 'eval.figure_steps'),
    (['eval.figure_pairs=-3'], 'eval.figure_pairs'),
    (['eval.batch_size=0'], 'eval.batch_size'),
    (['eval.max_examples=-1'], 'eval.max_examples'),
    (['eval.num_samples=0'], 'eval.num_samples'),
    (['eval.lines_pairs=0'], 'eval.lines_pairs'),
    (['eval.ndm_lr=nan'], 'eval.ndm_lr'),
    (['eval.clustering_protocol=train'], 'eval.clustering_protocol'),
    (['eval.frozen_probe_train_examples=-1'], 'eval.frozen_probe_train_examples'),
    (['eval.few_shot_dataset=moons'], 'eval.few_shot_dataset'),
    (['eval.every.probe=often'], 'eval.every.probe'),
    # A method's own section.
    (['objective=ae', 'ae.dropout=1.0'], 'ae.dropout'),
    (['objective=acai', 'acai.lam=nan'], 'acai.lam'),
    (['objective=gaia', 'gaia.slope=nan'], 'gaia.slope'),
    (['objective=dim', 'dim.gamma=nan'], 'dim.gamma'),
]


def _parse(overrides):
  """The config `python -m mixres.main --config=configs/quickstart.py ...` would run."""
  argv = ['mixres.main', '--config=configs/quickstart.py', *TINY,
          *(f'--config.{o}' for o in overrides)]
  values = flags.FlagValues()
  config_flags.DEFINE_config_file('config', None, 'config', flag_values=values,
                                  lock_config=True, sys_argv=argv)
  values(argv)
  return values.config


def _one_line_error(overrides, workdir):
  """stderr of mixres.main for this input: its ValueError/FileNotFoundError as one line."""
  config = _parse(overrides)
  try:
    train.train_and_evaluate(config, str(workdir))
  except (ValueError, FileNotFoundError) as error:  # What mixres.main turns into exit 2.
    return f'error: {error}'
  return None


def test_every_bad_value_is_one_line_naming_the_field_before_any_work(tmp_path, monkeypatch):
  """N bad values, N one-line errors naming their field; no workdir created."""
  monkeypatch.chdir(REPO)
  files = _files(tmp_path)
  # A refusal must come before work: reaching the state's initialisation is a failure.
  def no_work(self):
    raise AssertionError('reached restore_or_init: the input was not refused before work')
  monkeypatch.setattr(train.Experiment, 'restore_or_init', no_work)
  failures = []
  for i, (overrides, field) in enumerate(BAD_VALUES):
    overrides = [o.format(**files) for o in overrides]
    workdir = tmp_path / f'run{i}'
    try:
      message = _one_line_error(overrides, workdir)
    except Exception as error:  # A traceback at the command line.
      failures.append((overrides, f'{type(error).__name__}: {error}'))
      continue
    clean = (message is not None and '\n' not in message and
             message.startswith('error: config.') and f'config.{field}=' in message and
             not workdir.exists())
    if not clean:
      failures.append((overrides, message))
  print(f'{len(BAD_VALUES)} bad inputs tried, {len(BAD_VALUES) - len(failures)} gave a clean '
        'one-line error')
  assert not failures, failures
  assert len(BAD_VALUES) >= 40


@pytest.mark.parametrize('override,field', [
    ('optim.lr=nan', 'optim.lr'), ('model.depth=-4', 'model.depth'),
    ('eval.figure_pairs=0', 'eval.figure_pairs')])
def test_main_exits_2_with_one_line_and_no_workdir(tmp_path, override, field):
  workdir = tmp_path / 'run'
  result = subprocess.run(
      [sys.executable, '-m', 'mixres.main', '--config=configs/quickstart.py',
       f'--workdir={workdir}', *TINY, f'--config.{override}'],
      cwd=REPO, capture_output=True, text=True, timeout=600)
  assert result.returncode == faults.EXIT_BAD_INPUT, result.stderr[-2000:]
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith(f'error: config.{field}='), result.stderr
  assert not workdir.exists()


def test_a_model_the_architecture_cannot_build_is_one_line_naming_the_model_fields(
    tiny_config, tmp_path, monkeypatch):
  """A shape failure inside init that no family check caught (here: a matmul of mismatched
  shapes) is refused at Experiment construction, from jax.eval_shape, without compiling."""
  from mixres import objectives
  amr = objectives.OBJECTIVES['amr']
  original = amr.init

  def unbuildable(self, rng):
    import jax.numpy as jnp
    jnp.zeros((2, 3)) @ jnp.zeros((4, 5))
    return original(self, rng)

  monkeypatch.setattr(amr, 'init', unbuildable)
  with pytest.raises(ValueError) as raised:
    train.Experiment(tiny_config, str(tmp_path / 'run'))
  message = str(raised.value)
  assert message.startswith("config.model (arch='acai', latent=2, latent_width=8, depth=4, ")
  assert 'cannot build a network for inputs of shape (32, 32, 1): TypeError' in message
  assert '\n' not in message and not (tmp_path / 'run').exists()


def test_a_comma_joined_list_override_is_split_into_its_names(tmp_path):
  """--config.eval.evaluators=probe,bogus: ml_collections gives ('probe,bogus',); main splits it,
  so the refusal names 'bogus' alone (unsplit, it would name 'probe,bogus')."""
  workdir = tmp_path / 'run'
  result = subprocess.run(
      [sys.executable, '-m', 'mixres.main', '--config=configs/quickstart.py',
       f'--workdir={workdir}', *TINY, '--config.eval.evaluators=probe,bogus'],
      cwd=REPO, capture_output=True, text=True, timeout=600)
  assert result.returncode == faults.EXIT_BAD_INPUT, result.stderr[-2000:]
  assert result.stderr.strip().startswith("error: config.eval.evaluators has unknown ['bogus']")
  assert not workdir.exists()


def test_split_listed_names_leaves_other_fields_alone():
  import ml_collections
  from mixres import config_checks
  config = ml_collections.ConfigDict({
      'eval': {'evaluators': ('probe, lines', 'reconstruction'), 'every': {'probe': 'a,b'}},
      'data': {'attributes': ('Male',), 'scale': (0.9, 1.1)}})
  config_checks.split_listed_names(config)
  assert config.eval.evaluators == ('probe', 'lines', 'reconstruction')
  assert config.eval.every.probe == 'a,b'  # A string field, not a list: kept whole.
  assert config.data.attributes == ('Male',) and config.data.scale == (0.9, 1.1)
