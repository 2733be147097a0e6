"""Every config file and table row: loads, carries the paper's lambda, builds a runnable step."""

import functools
import json
import glob
import importlib
import os

import jax
import numpy as np
import pytest
import tensorflow_datasets as tfds

from configs import amr_paper
from mixres import config_arg
from mixres import config_checks
from mixres import paper_tables
from mixres import train
from mixres.data import pipeline

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Table setting files: module -> (setting, argument prefix).
SETTINGS = {
    'amr_mnist': ('mnist', ''), 'amr_kmnist': ('kmnist', ''), 'amr_svhn': ('svhn', ''),
    'amr_svhn_subset': ('svhn_5k', '5k,'), 'amr_svhn256': ('svhn256', ''),
    'amr_cifar10_256': ('cifar10_256', ''), 'amr_cifar10_1024': ('cifar10_1024', ''),
    'amr_dsprites': ('dsprites', ''),
}


def load(module, arg=None):
  return importlib.import_module(f'configs.{module}').get_config(arg)


# The methods' own config files -> the test module that runs each of them for a few steps.
METHOD_CONFIGS = {
    'lines': 'test_acai', 'gaia_svhn': 'test_gaia', 'gaia_toys': 'test_gaia',
    'amr_toys': 'test_toys_eval', 'augint_mnist': 'test_augint', 'dim_cifar10': 'test_dim',
    'amr_supervised': 'test_amr_supervised', 'mnist_study': 'test_configs',
}


def test_every_config_file_is_covered():
  names = {os.path.basename(p)[:-3] for p in glob.glob(os.path.join(REPO, 'configs', '*.py'))}
  assert names - {'__init__', 'base', 'amr_paper', 'quickstart'} == (
      set(SETTINGS) | set(METHOD_CONFIGS))
  for name, test_module in METHOD_CONFIGS.items():
    with open(os.path.join(REPO, 'tests', f'{test_module}.py')) as f:
      source = f.read()
    assert f'{name}.get_config(' in source, (name, test_module)


def test_config_argument_is_parts_then_flags():
  rows = ('mixup2', 'bern2')
  assert config_arg.parse(None, ROW=(rows, 'mixup2')) == ('mixup2', frozenset())
  assert config_arg.parse('local', ROW=(rows, 'mixup2')) == ('mixup2', frozenset({'local'}))
  assert config_arg.parse('bern2,local', ROW=(rows, 'mixup2')) == ('bern2', frozenset({'local'}))
  assert config_arg.parse('local,fewshot', flags=('fewshot', 'local')) == (
      frozenset({'fewshot', 'local'}),)
  # An optional part can be left out before a later one; a word that is a part's choice is that
  # part, not a flag (configs/dim_cifar10.py's VARIANT 'local').
  dim = dict(VARIANT=(('local', 'global'), 'local'), ESTIMATOR=(('jsd', 'dv'), 'jsd'))
  assert config_arg.parse('dv', **dim) == ('local', 'dv', frozenset())
  assert config_arg.parse('local', **dim) == ('local', 'jsd', frozenset())
  assert config_arg.parse('local,local', **dim) == ('local', 'jsd', frozenset({'local'}))
  for bad in ('bern2,mixup2', 'local,bern2', 'local,local', 'mixup5'):
    with pytest.raises(ValueError, match=rf"^config argument '{bad}' must be \[ROW\]\[,local\] "
                       r'with ROW one of mixup2, bern2 \(default mixup2\)$'):
      config_arg.parse(bad, ROW=(rows, 'mixup2'))
  with pytest.raises(ValueError, match=r"^config argument 'bern2' must be SIZE\[,ROW\]\[,local\] "
                     r'with SIZE one of 1k, 5k; ROW one of mixup2, bern2 \(default mixup2\)$'):
    config_arg.parse('bern2', SIZE=(('1k', '5k'), None), ROW=(rows, 'mixup2'))


def test_every_config_argument_goes_through_one_parser():
  """A config file with an argument refuses a wrong one in the shared parser's one line."""
  takes_one = []
  for path in sorted(glob.glob(os.path.join(REPO, 'configs', '*.py'))):
    module = importlib.import_module(f'configs.{os.path.basename(path)[:-3]}')
    if getattr(module, 'get_config', lambda: None).__code__.co_argcount:
      takes_one.append(module.__name__)
      with pytest.raises(ValueError, match=r"^config argument 'nosuch' must be [^\n]*$"):
        module.get_config('nosuch')
  assert len(takes_one) == 16, takes_one  # All but base.py and quickstart.py.


@pytest.mark.parametrize('module', sorted(SETTINGS))
def test_every_row_sets_the_papers_method_and_lambda(module):
  setting, prefix = SETTINGS[module]
  for row, lam in paper_tables.LAMBDAS[setting].items():
    config = load(module, prefix + row)
    assert config.lam == lam and config.setting == f'{setting}:{row}'
    for field, value in paper_tables.ROWS[row].items():
      assert config[field] == value
    local = load(module, prefix + row + ',local')
    assert local.num_train_steps == amr_paper.LOCAL_STEPS and local.lam == lam
  with pytest.raises(ValueError, match='ROW one of ae_gan, mixup2, bern2, '):
    load(module, prefix + 'mixup5')


def test_bern3_draws_channel_sources_as_the_authors():
  """Table 4's Bern-3 row and the default use the authors' uniform k-way draw
  (docs/faithfulness.md#a3)."""
  assert load('amr_dsprites', 'bern3').bernoulli_draw == 'uniform'
  assert load('amr_dsprites', 'bern3,local').bernoulli_draw == 'uniform'
  assert importlib.import_module('configs.base').get_config().bernoulli_draw == 'uniform'


# module -> (dataset, d_h, valid_fraction, epochs or None, steps or None), as
# docs/methods.md#amr-protocol and the table captions give them; Tables 3 and 4 give no length:
# the authors' scripts' (docs/faithfulness.md#a12).
FAITHFUL = {
    'amr_mnist': ('mnist', 32, 0.1, 2000, None), 'amr_kmnist': ('kmnist', 32, 0.1, 2000, None),
    'amr_svhn': ('svhn_cropped', 32, 0.1, 3500, None),
    'amr_svhn_subset': ('svhn_cropped', 32, 0.1, 4000, None),
    'amr_svhn256': ('svhn_cropped', 256, 0.1, 6000, None),  # exps/svhn256/mixup_lamb5.sh
    'amr_cifar10_256': ('cifar10', 256, 0.2, 3000, None),  # exps/cifar10/mixup_lamb50.sh
    'amr_cifar10_1024': ('cifar10', 1024, 0.2, 8000, None),  # exps/cifar10_1024/...
    # dSprites: their scripts' 500 epochs of the whole 737,280-image grid, 11,520 steps each.
    'amr_dsprites': ('dsprites', 10, 0.1, None, 5_760_000),
}


@pytest.mark.parametrize('module', sorted(SETTINGS))
def test_each_setting_has_the_papers_data_bottleneck_and_length(module):
  name, d_h, valid_fraction, epochs, steps = FAITHFUL[module]
  config = load(module, SETTINGS[module][1] + 'mixup2')
  assert config.data.name == name and config.data.valid_fraction == valid_fraction
  m = config.model
  flat = m.arch in ('betavae', 'dsprites_amr')
  assert (m.code_size if flat else m.latent * m.latent_width**2) == d_h
  assert (config.num_epochs, config.num_train_steps) == ((epochs, 0) if epochs else
                                                         (config.num_epochs, steps))
  assert config.optim.weight_decay == (0.0 if module == 'amr_dsprites' else 1e-5)


def test_table_3_rows_train_as_long_as_the_authors_scripts():
  """docs/faithfulness.md#a12: per row at its lambda, e.g. svhn256 bern2 (lambda 10) ran 4500
  epochs."""
  epochs = {row: load('amr_svhn256', row).num_epochs for row in paper_tables.LAMBDAS['svhn256']}
  assert epochs == {'ae_gan': 6000, 'mixup2': 6000, 'bern2': 4500, 'mixup3': 4500,
                    'mixup4': 4500, 'mixup6': 6000, 'mixup8': 4500, 'acai': 4500}


@pytest.mark.parametrize('module', sorted(set(SETTINGS) - {'amr_dsprites'}))
def test_table_configs_run_what_the_authors_code_ran(module):
  """docs/faithfulness.md#a6 to #a11: every 32x32 table row selects the AMR code's choice of
  each field."""
  setting, prefix = SETTINGS[module]
  for row in paper_tables.LAMBDAS[setting]:
    for arg in (prefix + row, prefix + row + ',local'):
      config = load(module, arg)
      assert (config.model.init, config.model.entry_padding) == ('reference', 1)
      assert config.model.spectral_updates == 'per_forward'
      assert (config.data.batching, config.data.shuffle_seed) == ('epoch', -1)
      assert config.eval.every.probe == '1 epoch' and config.eval.every.interpolation == ''
  mnist = load('amr_mnist')
  assert (mnist.data.split_method, mnist.data.valid_size) == ('amr_code', 10_000)
  assert load(module, prefix + 'bern2').bernoulli_p == 'per_batch'  # Their 'fm2' mixer.


def test_subset_sizes_and_defaults():
  assert load('amr_svhn_subset', '1k').data.train_subset == 1_000
  assert load('amr_svhn_subset', '20k,bern2').lam == 10
  with pytest.raises(ValueError, match=r"'mixup2' must be SIZE\[,ROW\]\[,local\] "
                     'with SIZE one of 1k, 5k, 10k, 20k;'):
    load('amr_svhn_subset', 'mixup2')
  default = load('amr_svhn')
  assert (default.objective, default.mixer, default.k, default.lam) == ('amr', 'mixup', 2, 10)


def test_epochs_become_steps_over_the_actual_training_set():
  config = load('amr_svhn_subset', '1k,mixup3')
  clock = lambda batching: pipeline.EpochClock(1_000, config.batch_size, batching)
  # The AMR code's epochs: 16 batches of 1,000 (the last one of 40), 4000 times.
  assert config.data.batching == 'epoch'
  assert train.train_length(config, clock('epoch')) == 64_000
  assert train.train_length(config, clock('stream')) == 62_500  # 4000 epochs x 1000 / 64.
  config.num_train_steps = 7
  assert train.train_length(config, clock('epoch')) == 7  # Explicit steps win.


@pytest.mark.parametrize('module', sorted(SETTINGS))
def test_local_variant_builds_and_traces_a_train_step(module, tmp_path):
  """Each setting's CPU variant: data, networks and the compiled step fit together."""
  setting, prefix = SETTINGS[module]
  config = load(module, prefix + 'mixup2,local')
  config.batch_size = 4
  config.data.train_subset = min(config.data.train_subset, 20)
  config.data.valid_size = min(config.data.valid_size, 10)  # MNIST's 10,000 of mock data's 60.
  config.eval.figure_pairs = 2
  with tfds.testing.mock_data(num_examples=60):
    experiment = train.Experiment(config, str(tmp_path / 'never-written'))
    state = jax.eval_shape(experiment.objective.init, jax.random.PRNGKey(0))
    batch = experiment.train_source[0]
  size = config.data.image_size
  assert experiment.image_shape[:2] == (size, size) and batch['image'].shape[:2] == (size, size)
  images = jax.ShapeDtypeStruct((4, *experiment.image_shape), jax.numpy.float32)
  labels = jax.ShapeDtypeStruct((4,), jax.numpy.int32)
  for flags in ({'update_generator': True}, {'update_generator': False}):
    step = functools.partial(experiment.objective.train_step, **flags)
    new_state, metrics = jax.eval_shape(step, state, {'image': images, 'label': labels})
    assert jax.tree.structure(new_state) == jax.tree.structure(state)
    assert 'disc/loss' in metrics
  assert not (tmp_path / 'never-written').exists()


def test_lines_rows_share_the_acai_code_training():
  from configs import lines
  rows = {method: lines.get_config(method) for method in lines.METHODS}
  assert {m: (c.objective, c.mixer, c.k) for m, c in rows.items() if c.objective == 'amr'} == {
      'amr_mixup': ('amr', 'mixup', 2), 'amr_bern': ('amr', 'bernoulli', 2)}
  assert rows['ae_gan'].objective == 'ae_gan'
  for method, config in rows.items():
    assert (config.data.name, config.recon, config.num_train_steps) == ('lines', 'l2', 262_144)
    assert (config.optim.b1, config.optim.b2, config.optim.weight_decay) == (0.9, 0.999, 0.0)
    assert config.model.latent * config.model.latent_width**2 == 64, method
  # AMR's rows: every net every step, as ACAI's schedule, so a fixed budget is fair to all.
  assert all(rows[m].gen_every == 1 and rows[m].lam == 10.0
             for m in ('ae_gan', 'amr_mixup', 'amr_bern'))
  with pytest.raises(ValueError, match=r'must be \[METHOD\]\[,local\]\[,study\] with METHOD one '
                     'of acai, ae, dropout'):
    lines.get_config('cutmix')
  # The CPU study's protocol (RESULTS.md section 3): the same networks and losses, faster.
  for method in ('ae', 'acai', 'amr_mixup'):
    study, full = lines.get_config(f'{method},study'), lines.get_config(method)
    changed = {k for k, v in config_checks.flatten(study).items()
               if v != config_checks.flatten(full)[k]}
    assert changed == {'optim.lr', 'probe_lr', 'num_train_steps', 'log_every', 'eval_every',
                       'checkpoint_every', 'eval.every.interpolation', 'eval.evaluators'}
    assert (study.optim.lr, study.num_train_steps) == (5e-4, lines.STUDY_STEPS)
    assert 'lines' in study.eval.evaluators and 'reconstruction' in study.eval.evaluators


def test_mnist_study_cuts_one_validation_set_and_nested_subsets(tmp_path):
  """configs/mnist_study.py on a 10,000-image file: every size validates on the same 2,000
  images, trains on the first N of the other 8,000, and runs (2 steps of '1k,ae' here)."""
  from configs import mnist_study
  from mixres.data import sources
  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, (10_000, 28, 28)).astype(np.uint8)
  np.savez(tmp_path / 'mnist.npz', images=images, labels=rng.integers(0, 10, 10_000))
  ids = lambda source: {int(source.indices[i]) for i in range(len(source))}
  cut = {}
  for size in mnist_study.SIZES:
    config = mnist_study.get_config(f'{size},mixup2')
    config.data.path = str(tmp_path / 'mnist.npz')
    train_source, valid = sources.build(config)
    cut[size] = ids(train_source), ids(valid)
    assert (len(train_source), len(valid)) == (mnist_study.SIZES[size], 2_000)
  assert cut['1k'][1] == cut['4k'][1] == cut['8k'][1]
  assert cut['1k'][0] < cut['4k'][0] < cut['8k'][0] and not cut['8k'][0] & cut['8k'][1]
  ae, gan = load('mnist_study', '1k,ae'), load('mnist_study', '1k,ae_gan')
  assert (ae.objective, gan.objective, gan.lam, gan.gen_every, gan.optim.lr) == (
      'ae', 'ae_gan', 5.0, 1, 5e-4)
  assert load('mnist_study', '8k,acai').acai.variant == 'amr'  # The AMR authors' ACAI row.
  ae.data.path, ae.num_train_steps = str(tmp_path / 'mnist.npz'), 2
  ae.eval.max_examples, ae.eval.frozen_probe_train_examples = 256, 256
  train.train_and_evaluate(ae, str(tmp_path / 'run'))
  with open(tmp_path / 'run' / 'metrics.jsonl') as f:
    logged = set().union(*(json.loads(line) for line in f))
  assert {'recon/val_l1', 'frozen_probe/val_accuracy', 'codes/relative_spread'} <= logged
