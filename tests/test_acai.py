"""ACAI: both variants' losses recomputed by hand, where gradients go, alpha, the table rows.

The paper variant's checks run the loop's own compiled step on configs/lines.py's test-size
config, the same executable the end-to-end run then takes from the compilation cache.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import amr_svhn
from configs import lines
from mixres import mixers
from mixres import objectives
from mixres import parallel
from mixres import train
from mixres.data import pipeline
from mixres.models import convnets
from mixres.objectives import acai


def lines_config(**acai_fields):
  """configs/lines.py:acai,local at test size: depth 4, one scale, 2 code channels, 2 steps."""
  config = lines.get_config('acai,local')
  config.acai.update(acai_fields)
  config.model.depth, config.model.latent_width, config.model.latent = 4, 16, 2
  config.batch_size = 8
  config.data.num_examples = 256
  config.num_train_steps = 2
  config.log_every = config.eval_every = config.checkpoint_every = 2
  config.eval.batch_size = config.eval.max_examples = 16
  config.eval.figure_pairs = config.eval.lines_pairs = 2
  return config


def numpy_state(obj, seed=0):
  """A TrainState at `obj.init`'s shapes: numpy-drawn kernels, zero biases, Adam's zero moments.

  For checks of losses and gradient routing, which hold for any parameters, without compiling
  Flax's initialisers (seconds per layer on XLA:CPU).
  """
  shapes = jax.eval_shape(obj.init, jax.random.PRNGKey(0))
  rng = np.random.default_rng(seed)

  def draw(s, std=None):
    if len(s.shape) < 2 and std is None:
      return jnp.zeros(s.shape, s.dtype)
    std = std or 1.0 / np.sqrt(np.prod(s.shape[:-1]))
    return jnp.asarray(rng.normal(0.0, std, s.shape), s.dtype)

  zeros = lambda s: jnp.zeros(s.shape, s.dtype)
  return shapes.replace(step=jnp.zeros((), jnp.int32), params=jax.tree.map(draw, shapes.params),
                        opt_state=jax.tree.map(zeros, shapes.opt_state),
                        collections=jax.tree.map(lambda s: draw(s, 1.0), shapes.collections),
                        rng=jnp.asarray(jax.random.PRNGKey(1)))


def changed(before, after) -> dict:
  return {name: any(jax.tree.leaves(jax.tree.map(lambda a, b: bool(jnp.any(a != b)),
                                                 before[name], after[name])))
          for name in before}


class Run:
  """One objective on a lines batch: its state, and (state, metrics) with and without G's step."""

  def __init__(self, config, workdir, loop_init=True):
    config = config.copy_and_resolve_references()
    config.eval.evaluators = ()  # Only the end-to-end run evaluates; init and step are the same.
    exp = train.Experiment(config, workdir)  # Writes nothing until it trains.
    self.obj = exp.objective
    state = exp.init_state() if loop_init else numpy_state(self.obj)
    if config.acai.critic == 'encoder':  # Move d off zero: every term well above float noise.
      params = jax.tree.map(lambda p: p, state.params)
      params['critic']['encoder']['Conv_1']['bias'] += 0.3
      state = state.replace(params=params)
    batches = pipeline.train_batches(exp.train_source, config.batch_size, 0)
    self.state, self.data = state, parallel.to_global(exp.mesh, batches[0])
    copy = lambda: jax.tree.map(jnp.copy, state)  # The loop's step donates its input.
    self.both, self.metrics = exp.train_step(0)(copy(), self.data)  # The loop's executable.
    critic_step = jax.jit(functools.partial(self.obj.train_step, update_generator=False))
    self.critic_only, self.critic_metrics = critic_step(state, self.data)


@pytest.fixture(scope='module')
def paper(tmp_path_factory):
  return Run(lines_config(), str(tmp_path_factory.mktemp('paper')))


@pytest.fixture(scope='module')
def amr(tmp_path_factory):
  config = lines_config(variant='amr', critic='spectral', recon='l1')
  config.lam = 3.0
  return Run(config, str(tmp_path_factory.mktemp('amr')), loop_init=False)


def mixes(run):
  """alpha, x_hat and x_mix as the step draws them, rebuilt from the networks and the step key."""
  obj, state, x = run.obj, run.state, run.data['image']
  alpha_key, partner_key = jax.random.split(jax.random.fold_in(state.rng, state.step))
  alpha = obj.sample_alpha(alpha_key, x.shape[0])
  codes = obj.encode(state.params, x)
  if obj.config.acai.partner == 'reversed':
    partner = codes[::-1]
  else:
    partner = mixers.partners(partner_key, codes, 2)[1]
  a = alpha[:, None, None, None]
  mixed = obj.decode(state.params, a * codes + (1 - a) * partner)
  return np.asarray(alpha), np.asarray(obj.decode(state.params, codes)), np.asarray(mixed)


def test_alpha_is_folded_into_half_the_interval(paper, amr):
  np.testing.assert_allclose(acai.fold_alpha(jnp.array([0.0, 0.2, 0.5, 0.7, 1.0])),
                             [0.0, 0.2, 0.5, 0.3, 0.0], atol=1e-7)
  np.testing.assert_allclose(acai.mix_target(jnp.array([0.0, 0.25, 0.5, 0.75, 1.0])),
                             [0.0, 0.5, 1.0, 0.5, 0.0], atol=1e-7)
  key = jax.random.PRNGKey(1)
  folded, plain = paper.obj.sample_alpha(key, 4000), amr.obj.sample_alpha(key, 4000)
  assert 0.0 <= folded.min() and folded.max() <= 0.5 and folded.max() > 0.49
  assert np.mean(folded) == pytest.approx(0.25, abs=0.02)  # Folded U(0, 1) is U(0, 0.5).
  assert 0.0 <= plain.min() and plain.max() <= 1.0 and plain.max() > 0.99


def test_paper_losses_hand_computed(paper):
  """L_ae = mse + 0.5 mean d(mix)^2; L_d = mean (d(mix) - alpha)^2 + mean d(0.2x + 0.8x_hat)^2."""
  x, metrics = np.asarray(paper.data['image']), paper.metrics
  alpha, x_hat, x_mix = mixes(paper)
  # The critic rebuilt independently: the plain encoder topology, score = mean of its map.
  m = paper.obj.config.model
  encoder = convnets.Encoder(width=32, latent_width=m.latent_width, depth=m.depth,
                             latent=m.latent, leaky_slope=0.2, norm='none')
  d = lambda images: np.asarray(encoder.apply(
      {'params': paper.state.params['critic']['encoder']}, images)).mean(axis=(1, 2, 3))
  recon = np.mean((x - x_hat)**2)
  adversarial = np.mean(d(x_mix)**2)
  np.testing.assert_allclose(metrics['gen/recon'], recon, rtol=1e-4)
  np.testing.assert_allclose(metrics['gen/adversarial'], adversarial, rtol=1e-3)
  np.testing.assert_allclose(metrics['gen/loss'], recon + 0.5 * adversarial, rtol=1e-4)
  np.testing.assert_allclose(metrics['critic/mix'], np.mean((d(x_mix) - alpha)**2), rtol=1e-3)
  np.testing.assert_allclose(metrics['critic/real'], np.mean(d(0.2 * x + 0.8 * x_hat)**2),
                             rtol=1e-3)
  assert metrics['critic/real'] > 0.01 and metrics['gen/adversarial'] > 0.01


def bce(logits, target):
  p = 1 / (1 + np.exp(-np.asarray(logits, np.float64)))
  return np.mean(-(target * np.log(p) + (1 - target) * np.log(1 - p)))


def test_amr_variant_targets_and_losses_hand_computed(amr):
  """L_D = BCE(D(x),0) + BCE(D(x_hat),0) + BCE(D(mix), 2 min(a,1-a)); L_G = 3 L1 + BCE(D(mix),0)."""
  x, metrics = np.asarray(amr.data['image']), amr.metrics
  alpha, x_hat, x_mix = mixes(amr)
  assert alpha.max() > 0.5  # Unfolded: the target folds it instead.
  d = lambda images: np.asarray(amr.obj.critic_scores(amr.state, [images])[0][0])
  target = 2 * np.minimum(alpha, 1 - alpha)
  recon = np.mean(np.abs(x - x_hat))
  np.testing.assert_allclose(metrics['gen/recon'], recon, rtol=1e-4)
  np.testing.assert_allclose(metrics['gen/adversarial'], bce(d(x_mix), 0.0), rtol=1e-4)
  np.testing.assert_allclose(metrics['gen/loss'], 3.0 * recon + bce(d(x_mix), 0.0), rtol=1e-4)
  np.testing.assert_allclose(metrics['critic/real'], bce(d(x), 0.0) + bce(d(x_hat), 0.0),
                             rtol=1e-4)
  np.testing.assert_allclose(metrics['critic/mix'], bce(d(x_mix), target), rtol=1e-4)


@pytest.mark.parametrize('variant', ['paper', 'amr'])
def test_critic_step_never_changes_the_autoencoder_and_the_ae_term_never_the_critic(
    variant, request):
  run = request.getfixturevalue(variant)
  assert changed(run.state.params, run.critic_only.params) == {
      'encoder': False, 'decoder': False, 'critic': True, 'probe': True}
  assert not any(k.startswith('gen/') for k in run.critic_metrics)
  assert changed(run.state.params, run.both.params)['encoder']
  # The critic's update is the same with or without the AE's: the AE term never reaches it.
  for a, b in zip(jax.tree.leaves(run.both.params['critic']),
                  jax.tree.leaves(run.critic_only.params['critic'])):
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
  # Only AMR's spectral-norm D carries power-iteration state, and its step moves it.
  assert ('critic' in run.state.collections) == (variant == 'amr')
  if variant == 'amr':
    assert changed(run.state.collections, run.critic_only.collections)['critic']


def test_schedules_and_critic_networks(paper, amr):
  assert all(paper.obj.schedule(s)['update_generator'] for s in range(10))
  assert [amr.obj.schedule(s)['update_generator'] for s in range(6)] == [
      True, False, False, False, False, True]
  # The paper's critic is the encoder topology without normalisation: same parameter shapes.
  plain = lines_config()
  plain.model.norm = 'none'
  encoder = objectives.get_objective(plain, (32, 32, 1)).networks['encoder']
  expected = jax.eval_shape(encoder.init, jax.random.PRNGKey(0), jnp.zeros((1, 32, 32, 1)))
  shape = lambda tree: jax.tree.map(lambda s: s.shape, tree)
  assert shape(paper.state.params['critic']['encoder']) == shape(expected['params'])


def test_amr_table_rows_run_the_authors_acai():
  config = amr_svhn.get_config('acai')
  assert (config.objective, config.acai.variant, config.acai.critic, config.acai.recon,
          config.lam, config.gen_every) == ('acai', 'amr', 'spectral', 'l1', 2.0, 5)
  obj = objectives.get_objective(config, (32, 32, 3))
  state = jax.eval_shape(obj.init, jax.random.PRNGKey(0))
  images = jax.ShapeDtypeStruct((4, 32, 32, 3), jnp.float32)
  labels = jax.ShapeDtypeStruct((4,), jnp.int32)
  _, metrics = jax.eval_shape(lambda s, b: obj.train_step(s, b, update_generator=True), state,
                              {'image': images, 'label': labels})
  assert {'gen/loss', 'critic/loss', 'critic/mix', 'probe/train_loss'} <= set(metrics)


@pytest.mark.parametrize('field,value,message', [
    ('variant', 'wgan', r"config.acai.variant='wgan' is not an ACAI variant; choose one of: "
                        'paper, amr'),
    ('critic', 'mlp', r"config.acai.critic='mlp' is not a critic; choose one of: encoder, "),
    ('recon', 'l3', r"config.acai.recon='l3' is not a reconstruction loss; choose one of: l1, "),
    ('lam', -1.0, r'config.acai.lam=-1.0 must be >= 0'),
    ('gamma', 1.5, r'config.acai.gamma=1.5 must be in \[0, 1\]'),
])
def test_bad_values_name_the_field(field, value, message):
  with pytest.raises(ValueError, match=message):
    objectives.get_objective(lines_config(**{field: value}), (32, 32, 1))


def test_lines_end_to_end(paper, tmp_path):
  """configs/lines.py:acai,local for two steps (the step compiled above, from the cache)."""
  summary = train.train_and_evaluate(lines_config(), str(tmp_path))
  for name in ('gen/loss', 'gen/recon', 'critic/loss', 'critic/mix', 'critic/real',
               'lines/mean_distance', 'lines/smoothness'):
    assert np.isfinite(summary[name]), name
  assert 0.0 <= summary['probe/val_accuracy'] <= 1.0


def test_partner_is_the_reversed_batch_as_acai_or_a_permutation_as_the_amr_authors(paper):
  """docs/faithfulness.md#b8: ACAI's acai.py:64 mixes encode with encode[::-1] (never itself in
  an even batch); the AMR authors' ACAI row keeps their torch.randperm."""
  codes = jnp.arange(8.0).reshape(8, 1, 1, 1)
  key = jax.random.PRNGKey(3)
  np.testing.assert_array_equal(paper.obj.partner(key, codes)[:, 0, 0, 0], np.arange(8)[::-1])
  permuting = acai.ACAI(lines_config(partner='permutation'), (32, 32, 1))
  permuted = np.asarray(permuting.partner(key, codes)[:, 0, 0, 0])
  np.testing.assert_array_equal(permuted, np.asarray(mixers.partners(key, codes, 2)[1, :, 0, 0, 0]))
  assert sorted(permuted) == list(range(8))
  from configs import amr_svhn
  assert amr_svhn.get_config('acai').acai.partner == 'permutation'
  assert lines.get_config('acai').acai.partner == 'reversed'
  with pytest.raises(ValueError, match=r"config.acai.partner='self' is not a partner; choose"):
    acai.ACAI(lines_config(partner='self'), (32, 32, 1))
