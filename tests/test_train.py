"""End to end: a run writes what it should, resumes bit-for-bit, and matches across devices."""

import functools
import glob
import hashlib
import json
import os
import re
import subprocess
import sys

import jax
import numpy as np
import pytest

from mixres import defaults
from mixres import evaluate
from mixres import parallel
from mixres import paths
from mixres import steps
from mixres import train

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def final_params(config, workdir):
  state, _ = train.Experiment(config, workdir).restore_or_init()
  return jax.device_get(state.params), int(state.step)


def tree_files(directory):
  """path -> sha256 of every file below directory."""
  out = {}
  for root, _, files in os.walk(directory):
    for name in files:
      path = os.path.join(root, name)
      with open(path, 'rb') as f:
        out[os.path.relpath(path, directory)] = hashlib.sha256(f.read()).hexdigest()
  return out


def test_run_writes_metrics_figures_and_checkpoints(tiny_config, tmp_path):
  summary = train.train_and_evaluate(tiny_config, str(tmp_path))
  assert 0.0 <= summary['probe/val_accuracy'] <= 1.0
  assert summary['best/probe/val_accuracy'] == summary['probe/val_accuracy']
  assert np.isfinite(summary['gen/loss']) and np.isfinite(summary['disc/loss'])
  assert sorted(os.listdir(tmp_path / 'checkpoints')) == ['3', '6']
  lines = (tmp_path / 'metrics.jsonl').read_text().splitlines()
  assert len(lines) == 4  # Train scalars at steps 2, 4, 6 and the evaluation at 6.
  assert os.listdir(tmp_path / 'figures') == ['interpolation_mixup_00000006.png']
  assert any(f.startswith('events') for f in os.listdir(tmp_path / 'tensorboard'))


def test_resumed_run_equals_uninterrupted_run(tiny_config, tmp_path):
  """Stop after 3 steps, resume to 6: params bit-identical to a straight 6-step run."""
  straight = tiny_config
  train.train_and_evaluate(straight, str(tmp_path / 'straight'))
  interrupted = straight.copy_and_resolve_references()
  interrupted.num_train_steps = 3
  train.train_and_evaluate(interrupted, str(tmp_path / 'resumed'))
  train.train_and_evaluate(straight, str(tmp_path / 'resumed'))  # Resumes at step 3.
  a, step_a = final_params(straight, str(tmp_path / 'straight'))
  b, step_b = final_params(straight, str(tmp_path / 'resumed'))
  assert step_a == step_b == 6
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    np.testing.assert_array_equal(x, y)


def test_two_devices_equal_one_device(tiny_config, tmp_path):
  """A 4-step run on a mesh of 2 devices logs the losses of the 1-device run."""
  assert jax.device_count() >= 2, 'conftest.py asks XLA for two CPU devices'
  summaries = {}
  for n in (1, 2):
    config = tiny_config.copy_and_resolve_references()
    config.num_devices = n
    config.num_train_steps = 4
    summaries[n] = train.train_and_evaluate(config, str(tmp_path / str(n)))
  for name in ('gen/loss', 'gen/recon', 'disc/loss', 'probe/train_loss', 'probe/val_accuracy'):
    np.testing.assert_allclose(summaries[1][name], summaries[2][name], rtol=1e-4, err_msg=name)


def test_two_device_step_updates_every_parameter_as_one_device(tiny_config):
  """Each parameter after a sharded G+D step equals the 1-device one, leaf by leaf.

  Except conv biases feeding an InstanceNorm: their gradient is zero in exact arithmetic and
  float noise elsewhere, which Adam's first step (about lr * sign(grad)) turns into +-lr moves
  that the normalisation then removes; they cannot affect any output.
  """
  experiment = train.Experiment(tiny_config, '/nonexistent-never-written')
  objective = experiment.objective
  rng = np.random.default_rng(0)
  batch = {'image': rng.uniform(-1, 1, (8, 32, 32, 1)).astype(np.float32),
           'label': rng.integers(0, 10, 8).astype(np.int32)}
  params = {}
  for n in (1, 2):
    mesh = parallel.make_mesh(n)
    state = jax.jit(objective.init, out_shardings=parallel.replicated(mesh))(
        jax.random.PRNGKey(0))
    step = jax.jit(functools.partial(objective.train_step, update_generator=True),
                   in_shardings=(parallel.replicated(mesh), parallel.data_sharded(mesh)))
    state, _ = step(state, parallel.to_global(mesh, batch))
    params[n] = jax.tree_util.tree_flatten_with_path(jax.device_get(state.params))[0]
  inert = re.compile(r"_ConvNormAct_\d+'\]\['Conv_0'\]\['bias'\]")
  compared = 0
  for (path, a), (_, b) in zip(params[1], params[2]):
    if not inert.search(jax.tree_util.keystr(path)):
      # A real disagreement moves a parameter by ~lr (5e-4 here); 2e-5 is float noise.
      np.testing.assert_allclose(a, b, rtol=1e-5, atol=2e-5, err_msg=jax.tree_util.keystr(path))
      compared += 1
  assert compared > 40  # Encoder, decoder, discriminator and probe leaves.


def test_checkpoint_of_another_config_is_refused_and_kept(tiny_config, tmp_path):
  tiny_config.num_train_steps = 3
  train.train_and_evaluate(tiny_config, str(tmp_path))
  before = tree_files(tmp_path)
  other = tiny_config.copy_and_resolve_references()
  other.lam = 2.0
  other.num_train_steps = 6
  with pytest.raises(ValueError, match=r'different config \(lam: 10.0 -> 2.0\)'):
    train.train_and_evaluate(other, str(tmp_path))
  assert tree_files(tmp_path) == before


def _forget_fields(workdir, *fields):
  """Rewrites every saved config as a run from before `fields` existed would have saved it."""
  for path in glob.glob(os.path.join(workdir, 'checkpoints', '*', 'meta', 'metadata')):
    with open(path) as f:
      meta = json.load(f)
    for field in fields:
      *sections, name = field.split('.')
      functools.reduce(lambda d, k: d[k], sections, meta['config']).pop(name)
    with open(path, 'w') as f:
      json.dump(meta, f)


def test_run_saved_before_a_field_existed_resumes_and_evaluates_at_its_default(
    tiny_config, tmp_path):
  """A field missing from a saved config reads as its default (mixres/defaults.py)."""
  tiny_config.num_train_steps = 3
  workdir = str(tmp_path / 'run')
  train.train_and_evaluate(tiny_config, workdir)
  assert tiny_config.model.entry_padding == defaults.get_config().model.entry_padding
  _forget_fields(workdir, 'model.entry_padding', 'eval.frozen_probe_train_examples',
                 'profile_steps')
  config = evaluate.saved_config(workdir)
  assert config.model.entry_padding == defaults.get_config().model.entry_padding
  assert config.eval.frozen_probe_train_examples == 10_000
  assert evaluate.evaluate_checkpoint(workdir, ['probe'])['probe/val_accuracy'] >= 0
  longer = tiny_config.copy_and_resolve_references()
  longer.num_train_steps = 4
  train.train_and_evaluate(longer, workdir)  # Resumes: no config difference.
  assert train.Experiment(longer, workdir).checkpointer.latest_step() == 4


def test_missing_saved_field_is_compared_at_its_default(tiny_config, tmp_path):
  """An old run lacking steps_per_call ran as the default (0); this config asks for 1."""
  tiny_config.num_train_steps = 3
  train.train_and_evaluate(tiny_config, str(tmp_path))
  _forget_fields(str(tmp_path), 'steps_per_call')
  with pytest.raises(ValueError, match=r'different config \(steps_per_call: 0 -> 1\)'):
    train.train_and_evaluate(tiny_config, str(tmp_path))


def test_checkpoint_holds_the_data_position_and_refuses_changed_data(tiny_config, tmp_path):
  """The iterator position is saved; other files under the same config are not resumed."""
  rng = np.random.default_rng(0)
  data = tmp_path / 'data.npz'
  np.savez(data, images=rng.integers(0, 256, (100, 28, 28)).astype(np.uint8),
           labels=rng.integers(0, 10, 100))
  tiny_config.data.name, tiny_config.data.path = 'mnist', str(data)
  tiny_config.num_train_steps = 3
  workdir = tmp_path / 'run'
  train.train_and_evaluate(tiny_config, str(workdir))
  _, meta = train.Experiment(tiny_config, str(workdir)).restore_or_init()
  assert meta['data'] == {'position': 3, 'skipped': [], 'train_examples': 80}
  before = tree_files(workdir)
  np.savez(data, images=rng.integers(0, 256, (120, 28, 28)).astype(np.uint8),
           labels=rng.integers(0, 10, 120))
  with pytest.raises(ValueError, match='trained on 80 examples; config.data now gives 96'):
    train.train_and_evaluate(tiny_config, str(workdir))
  assert tree_files(workdir) == before


@pytest.mark.parametrize('field,value,message', [
    ('objective', 'acai2', "config.objective='acai2' is not an objective"),
    ('mixer', 'cutmix', "config.mixer='cutmix' is not a mixer"),
    ('k', 1, 'config.k=1 must be an integer >= 2'),
    ('lam', -1.0, 'config.lam=-1.0 must be >= 0'),
    ('data.image_size', 24, 'config.data.image_size=24 cannot be reached'),
    ('data.image_size', 0, 'config.data.image_size=0 must be an integer >= 1'),
    ('data.shuffle_seed', -2, r'config.data.shuffle_seed=-2 must be an integer in \[-1, 2147483647\]'),
    ('data.batching', 'epochs', "config.data.batching='epochs' is not a batching; choose"),
    ('data.split_method', 'torch', "config.data.split_method='torch' is not a split; choose"),
    ('data.valid_size', 5000, 'config.data.valid_size=5000 must be in'),
    ('model.init', 'kaiming', "config.model.init='kaiming' is not an initialisation; choose"),
    ('model.entry_padding', 2, 'config.model.entry_padding=2 must be 0'),
    ('model.spectral_updates', 'never', "config.model.spectral_updates='never' is not a"),
    ('eval.every.probe', 'often', "config.eval.every.probe='often' is not a cadence"),
    ('data.valid_fraction', 0.9999, 'config.data.valid_fraction=0.9999 leaves no training'),
    ('eval.max_examples', -1, 'config.eval.max_examples=-1 must be an integer >= 0'),
    ('data.labels_path', '/x', 'config.data.labels_path is set but config.data.path is not'),
    ('data.name', 'svhn', "config.data.name='svhn' is not a dataset; choose one of: blobs"),
    ('data.fit', 'zoom', "config.data.fit='zoom' is not a fit; choose one of: resize"),
    ('batch_size', 7, 'config.batch_size=7 must be divisible by the 2 devices'),
])
def test_bad_input_stops_before_any_work(tiny_config, tmp_path, field, value, message):
  tiny_config.num_devices = 2
  section, _, name = field.rpartition('.')
  (tiny_config[section] if section else tiny_config)[name] = value
  workdir = tmp_path / 'run'
  with pytest.raises(ValueError, match=message):
    train.train_and_evaluate(tiny_config, str(workdir))
  assert not workdir.exists()


def test_convolutional_nets_on_2d_points_stop_before_any_work(tiny_config, tmp_path):
  tiny_config.data.name, tiny_config.data.num_classes = 'spiral', 0
  tiny_config.eval.evaluators = ()
  with pytest.raises(ValueError, match=r"config.model.arch='acai' takes images \(H, W, C\), but "
                                       r"config.data.name='spiral' gives inputs of shape \(2,\)"):
    train.train_and_evaluate(tiny_config, str(tmp_path / 'run'))
  assert not (tmp_path / 'run').exists()


def _main(args, env_code=''):
  code = ('import runpy, sys\n' + env_code +
          'sys.argv = ["mixres.main"] + sys.argv[1:]\n'
          'runpy.run_module("mixres.main", run_name="__main__")\n')
  return subprocess.run([sys.executable, '-c', code, *args], cwd=REPO, capture_output=True,
                        text=True, timeout=600)


def test_main_runs_amr_svhn_config_under_mock_tfds(tmp_path):
  """The issue's entry point: python -m mixres.main --config=configs/amr_svhn.py --workdir=DIR."""
  # Keep a reference: a dropped context manager is closed by the garbage collector.
  mock = ('import tensorflow_datasets as tfds\n'
          'mock = tfds.testing.mock_data(num_examples=80)\n'
          'mock.__enter__()\n')
  result = _main(['--config=configs/amr_svhn.py', f'--workdir={tmp_path}',
                  '--config.num_train_steps=2', '--config.log_every=1',
                  '--config.batch_size=8', '--config.eval.figure_pairs=2'], mock)
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'step 2/2' in result.stdout
  done = result.stdout.strip().splitlines()[-1]
  assert done.startswith('done: best/probe/val_accuracy=') and len(done) < 200, done
  # The README's sizes of the SVHN networks, as the run prints them.
  assert '  disc                               150,178  18 arrays' in result.stdout
  assert '  generator = encoder + decoder      226,917  optimiser group' in result.stdout
  assert os.listdir(tmp_path / 'checkpoints') == ['2']


@pytest.mark.parametrize('args,message', [
    (['--config=configs/quickstart.py', '--config.mixer=cutmix'],
     "config.mixer='cutmix' is not a mixer; choose one of: bernoulli, mixup"),
    (['--config=configs/amr_mnist.py:mixup5'],
     "config argument 'mixup5' must be [ROW][,local] with ROW one of ae_gan, mixup2, bern2, "
     'mixup3, acai (default mixup2)'),
    (['--config=configs/nosuch.py'],
     '--config=configs/nosuch.py: no such config file (the settings are in configs/)'),
    (['--config=configs/quickstart.py', '--config.data.nosuch=1'],
     "--config.* override: the config has no field 'nosuch'; mixres/defaults.py lists them all"),
    (['--config=configs/quickstart.py', '--config.num_steps=20'],
     "--config.* override: the config has no field 'num_steps' (did you mean "
     "'num_train_steps'?); mixres/defaults.py lists them all"),
])
def test_main_bad_input_is_one_line(tmp_path, args, message):
  result = _main([*args, f'--workdir={tmp_path / "run"}'])
  assert result.returncode == 2
  assert result.stderr.strip().splitlines()[-1] == f'error: {message}'
  assert not (tmp_path / 'run').exists()


def authors_code_config(tiny_config):
  """tiny_config with everything amr_paper.follow_authors_code sets, on 20 training digits:
  epochs of 8, 8, 4 examples, so a 6-step run crosses an epoch with a partial batch twice."""
  from configs import amr_paper
  config = tiny_config.copy_and_resolve_references()
  amr_paper.follow_authors_code(config)
  config.data.train_subset = 20
  config.gen_every = 2
  return config


def test_authors_code_choices_resume_bit_for_bit(tiny_config, tmp_path):
  """Epoch batching, seed-following order, per-forward power iteration, reference init and the
  probe read every epoch: stopped at step 4 (mid-epoch) and resumed, equal to a straight run."""
  straight = authors_code_config(tiny_config)
  train.train_and_evaluate(straight, str(tmp_path / 'straight'))
  interrupted = straight.copy_and_resolve_references()
  interrupted.num_train_steps = 4
  interrupted.checkpoint_every = 4
  train.train_and_evaluate(interrupted, str(tmp_path / 'resumed'))
  train.train_and_evaluate(straight, str(tmp_path / 'resumed'))
  a, _ = final_params(straight, str(tmp_path / 'straight'))
  b, _ = final_params(straight, str(tmp_path / 'resumed'))
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    np.testing.assert_array_equal(x, y)
  # The probe is read after each epoch (steps 3 and 6); the figure only at eval_every = 6.
  logged = paths.read_metrics(tmp_path / 'straight')
  assert [m['step'] for m in logged if 'probe/val_accuracy' in m] == [3, 6]
  assert os.listdir(tmp_path / 'straight' / 'figures') == ['interpolation_mixup_00000006.png']


def test_epoch_batching_counts_the_generator_schedule_within_each_epoch(tiny_config, tmp_path):
  """docs/faithfulness.md#a10: with 3 batches an epoch and G every 2nd, G updates at 0, 2, 3,
  5, ... (the AMR code's (iter - 1) % 2 with iter restarting each epoch), not at every even step."""
  experiment = train.Experiment(authors_code_config(tiny_config), str(tmp_path))
  flags = [experiment.objective.schedule(experiment.clock.schedule_step(s)) for s in range(7)]
  assert [f['update_generator'] for f in flags] == [True, False, True, True, False, True, True]
  assert len(experiment.train_source) == 20 and experiment.clock.batches_per_epoch == 3


def test_data_order_follows_the_run_seed_when_asked(tiny_config):
  """docs/faithfulness.md#a11: shuffle_seed -1 takes config.seed, so runs with seeds 0, 1, 2 see
  their own data orders (the AMR code's torch.manual_seed(seed)); shuffle_seed >= 0 pins one
  order."""
  config = tiny_config.copy_and_resolve_references()
  config.data.shuffle_seed = -1
  config.seed = 2
  assert train.shuffle_seed(config) == 2
  config.data.shuffle_seed = 5
  assert train.shuffle_seed(config) == 5


# -------------------------------------------------------------------------------------------------
# Several steps per compiled call.

def _logged(workdir):
  return paths.read_metrics(workdir)


def _with(config, **fields):
  config = config.copy_and_resolve_references()
  for name, value in fields.items():
    config[name] = value
  return config


def test_calls_of_several_steps_resume_bit_for_bit_and_match_single_steps(tiny_config, tmp_path):
  """8 steps, G every 2nd, logs every 4, checkpoints every 6, 4 steps a call: calls end at 4,
  6 and 8. A run stopped at step 6 (mid-period) and resumed (call 6-8) ends bit for bit as the
  uninterrupted one: where calls end depends on the step alone.

  One step per call gives the same losses up to float rounding, not bitwise: XLA compiles a
  call's steps together (even an optimization barrier between them leaves differences of about
  1e-9 after 4 steps), and Adam turns rounding noise in gradients that are exactly zero in
  exact arithmetic (conv biases before instance norm) into whole steps of those biases."""
  several = _with(tiny_config, num_train_steps=8, log_every=4, checkpoint_every=6,
                  eval_every=8, steps_per_call=4)
  train.train_and_evaluate(several, str(tmp_path / 'several'))
  train.train_and_evaluate(_with(several, num_train_steps=6), str(tmp_path / 'resumed'))
  train.train_and_evaluate(several, str(tmp_path / 'resumed'))
  reference, _ = final_params(several, str(tmp_path / 'several'))
  resumed, step = final_params(several, str(tmp_path / 'resumed'))
  assert step == 8
  for x, y in zip(jax.tree.leaves(resumed), jax.tree.leaves(reference)):
    np.testing.assert_array_equal(x, y)
  train.train_and_evaluate(_with(several, steps_per_call=1), str(tmp_path / 'single'))
  for a, b in zip(_logged(tmp_path / 'single'), _logged(tmp_path / 'several')):
    assert a.keys() == b.keys() and a['step'] == b['step']
    for name in a:
      if name.endswith('loss') or name.endswith('prob') or name.endswith('recon'):
        np.testing.assert_allclose(a[name], b[name], rtol=1e-4, err_msg=name)


def test_a_call_ends_at_its_period_and_where_a_log_evaluation_or_checkpoint_is_due(
    tiny_config, tmp_path):
  config = _with(tiny_config, num_train_steps=30, log_every=10, checkpoint_every=15,
                 eval_every=100, gen_every=5, steps_per_call=0)
  experiment = train.Experiment(config, str(tmp_path))
  assert experiment.steps_per_call == 5  # One period of G every 5th step.
  starts, step = [], 0
  while step < 30:
    starts.append(step)
    step += experiment.steps_in_call(step)
  assert starts == [0, 5, 10, 15, 20, 25]
  config = _with(config, steps_per_call=4)
  experiment = train.Experiment(config, str(tmp_path))
  lengths, step = [], 3  # Resumed at step 3: the first call realigns to the multiples of 4.
  while step < 30:
    lengths.append(experiment.steps_in_call(step))
    step += lengths[-1]
  # Ends at 4, 8, 10 (log), 12, 15 (checkpoint), 16, 20, 24, 28, 30 (the last step).
  assert lengths == [1, 4, 2, 2, 3, 1, 4, 4, 4, 2]
  assert steps.schedule_period(experiment.objective) == 5
  # A profiled window (steps 6 to 13) starts and stops at call boundaries: calls also end
  # after step 5 and step 13.
  experiment = train.Experiment(_with(config, profile_steps='6-13'), str(tmp_path))
  ends, step = [], 0
  while step < 30:
    step += experiment.steps_in_call(step)
    ends.append(step)
  assert ends == [4, 5, 8, 10, 12, 13, 15, 16, 20, 24, 28, 30]
  assert [s for s in range(31) if experiment.due_after(s).profile_start] == [5]
  assert [s for s in range(31) if experiment.due_after(s).profile_stop] == [13]


def test_no_retracing_after_the_first_call_of_each_kind(tiny_config, tmp_path, monkeypatch):
  """G every 2nd step, 2 steps a call, logs and checkpoints every 4: every call is the same
  (G step, D step), so the objective's step is traced twice (once per unrolled step) in a
  20-step run, and the loop compiled one executable."""
  import chex
  from mixres.objectives import amr
  monkeypatch.setattr(amr.AMR, 'train_step', chex.assert_max_traces(amr.AMR.train_step, n=2))
  config = _with(tiny_config, num_train_steps=20, log_every=4, checkpoint_every=4,
                 eval_every=20, steps_per_call=2)
  compiled = []
  original = train.Experiment.train_call

  def counting(self, first, batches, state):
    run_call, seconds = original(self, first, batches, state)
    if seconds is not None:
      compiled.append(first)
    return run_call, seconds

  monkeypatch.setattr(train.Experiment, 'train_call', counting)
  train.train_and_evaluate(config, str(tmp_path))
  assert compiled == [0]
