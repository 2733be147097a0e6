"""GAIA: loss terms and balancing on hand-computed cases, where each update goes and how fast,
the MLP family, and short runs of both configs."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from configs import base
from configs import gaia_svhn
from configs import gaia_toys
from mixres import models
from mixres import objectives
from mixres import train
from mixres.objectives import gaia

POINT = (2,)
# With toy_config's networks at PRNGKey(0), L_real - L_fake = 0.385 at the first step, so this
# slope balances the learning rates at s = 0.8 (tests check the range they rely on).
SLOPE_FOR_S_NEAR_0_8 = 3.6


def toy_config(**gaia_overrides):
  """GAIA with small MLPs on 2-D points; 10 classes so that the probe runs too."""
  config = base.get_config()
  config.objective = 'gaia'
  config.model.arch, config.model.code_size = 'mlp', 2
  config.model.mlp_layers, config.model.mlp_width = 1, 16
  config.batch_size = 8
  config.gaia.update(gaia_overrides)
  return config


def points(n=8, scale=1.0, seed=0):
  rng = np.random.default_rng(seed)
  return {'image': jnp.asarray(rng.uniform(-scale, scale, (n, *POINT)), jnp.float32),
          'label': jnp.asarray(rng.integers(0, 10, n), jnp.int32)}


def setup(config, scale=1.0):
  obj = objectives.get_objective(config, POINT)
  return obj, obj.init(jax.random.PRNGKey(0)), points(scale=scale)


def changed(before, after) -> dict:
  """Network name -> whether any of its parameters moved."""
  return {name: any(jax.tree.leaves(jax.tree.map(lambda a, b: bool(jnp.any(a != b)),
                                                 before[name], after[name])))
          for name in before}


def sigmoid(t):
  return 1.0 / (1.0 + math.exp(-t))


def np_distance_loss(x, z):
  """Independent formula: squared Euclidean distances (summed), each matrix over its mean."""
  def normalised(v):
    v = np.asarray(v, np.float64).reshape(len(v), -1)
    d = ((v[:, None] - v[None]) ** 2).sum(-1)
    return d / d.mean()
  return np.mean((np.log1p(normalised(x)) - np.log1p(normalised(z))) ** 2)


def reference(obj, state, data):
  """The loss terms and balancing recomputed from the networks' outputs, in numpy; with
  loss_scale 'unit' every L1 is taken on (v + 1) / 2, as the code's [0, 1] images."""
  p, x = state.params, np.asarray(data['image'])
  unit = (lambda v: (v + 1) / 2) if obj.config.gaia.loss_scale == 'unit' else (lambda v: v)
  mae = lambda a, b: np.mean(np.abs(unit(a) - unit(b)))
  apply = lambda name, v: np.asarray(obj.networks[name].apply({'params': p[name]}, v))
  disc = lambda v: apply('disc_decoder', apply('disc_encoder', v))
  z = apply('encoder', x)
  alphas = np.asarray(obj.sample_alphas(jax.random.fold_in(state.rng, state.step), 4))
  a0, a1 = alphas[0][:, None], alphas[1][:, None]
  z_mix = np.concatenate([a0 * z[:4] + (1 - a0) * z[4:], a1 * z[3::-1] + (1 - a1) * z[4:]])
  gx, gi = apply('decoder', z), apply('decoder', z_mix)
  r = {'alphas': alphas, 'z_mix': z_mix, 'real': mae(x, disc(x)), 'gx': mae(x, disc(gx)),
       'gx_self': mae(gx, disc(gx)), 'interp': mae(gi, disc(gi)),
       'dist': np_distance_loss(x, z), 'recon': mae(x, gx)}
  fake_x = r['gx'] if obj.config.gaia.disc_fake_target == 'input' else r['gx_self']
  r['fake'] = (r['interp'] + fake_x) / 2
  k = obj.config.gaia.slope
  r['p_fake'] = min(max(sigmoid(k * (0.5 * r['interp'] - r['real'])), 0.0), 0.9)
  r['p_gen'] = sigmoid(k * (r['interp'] - r['gx']))
  r['s'] = sigmoid(k * (r['real'] - r['fake']))
  r['disc_loss'] = r['real'] - r['p_fake'] * r['fake']
  r['gen_loss'] = (r['p_gen'] * r['interp'] + (1 - r['p_gen']) * r['gx'] +
                   obj.dist_weight * r['dist'])
  return r


# Pure functions ---------------------------------------------------------------------------------

def test_distance_loss_hand_cases():
  x = jnp.array([[0.0], [1.0], [2.0]])
  # Rescaled and shifted codes keep every normalised distance: no loss.
  np.testing.assert_allclose(gaia.distance_loss(x, 3 * x + 1), 0.0, atol=1e-7)
  # x = 0, 1, 2: squared distances 1, 4, 1 (mean over the 9 entries 4/3) -> 3/4, 3, 3/4.
  # z = 0, 1, 1: squared distances 1, 1, 0 (mean 4/9) -> 9/4, 9/4, 0. Each pair counts twice.
  z = jnp.array([[0.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
  expected = 2 / 9 * ((math.log(7 / 4) - math.log(13 / 4)) ** 2 +
                      (math.log(4) - math.log(13 / 4)) ** 2 + math.log(7 / 4) ** 2)
  np.testing.assert_allclose(gaia.distance_loss(x, z), expected, rtol=1e-6)
  rng = np.random.default_rng(0)
  a, b = rng.normal(size=(6, 4, 4, 1)), rng.normal(size=(6, 3))
  np.testing.assert_allclose(gaia.distance_loss(jnp.asarray(a), jnp.asarray(b)),
                             np_distance_loss(a, b), rtol=1e-5)


def test_interpolants_pair_the_two_halves():
  codes = jnp.array([0.0, 1.0, 10.0, 20.0]).reshape(4, 1, 1, 1)  # Halves (0, 1), (10, 20).
  alphas = jnp.array([[0.5, 2.0], [0.25, -1.0]])
  mixed = gaia.interpolate(codes, alphas).ravel()
  # (0, 10) at 0.5, (1, 20) at 2; reversed first half: (1, 10) at 0.25, (0, 20) at -1.
  np.testing.assert_allclose(mixed, [5.0, -18.0, 7.75, 40.0])


@pytest.mark.parametrize('std', [0.25, 0.1])
def test_alpha_is_normal_around_the_midpoint_unclipped(std):
  obj = objectives.get_objective(toy_config(alpha_std=std), POINT)
  alphas = np.asarray(obj.sample_alphas(jax.random.PRNGKey(1), 50_000))
  assert alphas.shape == (2, 50_000)
  assert abs(alphas.mean() - 0.5) < 0.005 and abs(alphas.std() - std) / std < 0.01
  outside = np.mean((alphas < 0) | (alphas > 1))
  two_sided = math.erfc(0.5 / std / math.sqrt(2))  # P(|N(0, std)| > 0.5)
  np.testing.assert_allclose(outside, two_sided, atol=0.003)


def balance_terms(real, interp, gen_x, gen_x_self=None):
  """A terms dict as loss_terms returns it, from chosen loss values."""
  values = {'real': real, 'interp': interp, 'gen_x': gen_x, 'dist': 0.0,
            'gen_x_self': gen_x if gen_x_self is None else gen_x_self}
  return {name: jnp.float32(v) for name, v in values.items()}


def test_balance_through_changes_the_weights_on_the_losses():
  """dL/dterm by hand, slope 20. L_D at L_real = L_interp = L_GX = 0.15: p_fake = sig(-1.5);
  'through' adds -F dp_fake/dterm, with F = 0.15 and dp_fake/dL_real = -20 p (1 - p), so the
  weight on L_real is 1 + 3 p (1 - p) = 1.447 (the most over equal losses, the 1.45 of
  docs/faithfulness.md#b1).
  L_G at L_interp = 0.2, L_GX = 0.1: p_gen = sig(2); 'through' adds +-0.1 * 20 p (1 - p)."""
  p_fake, p_gen = sigmoid(-1.5), sigmoid(2.0)
  d_fake, d_gen = 20 * p_fake * (1 - p_fake), 20 * p_gen * (1 - p_gen)
  expected = {
      'stop': ({'real': 1.0, 'interp': -p_fake / 2, 'gen_x': -p_fake / 2},
               {'interp': p_gen, 'gen_x': 1 - p_gen}),
      'through': ({'real': 1 + 0.15 * d_fake, 'interp': -p_fake / 2 - 0.15 * d_fake / 2,
                   'gen_x': -p_fake / 2},
                  {'interp': p_gen + 0.1 * d_gen, 'gen_x': 1 - p_gen - 0.1 * d_gen})}
  np.testing.assert_allclose(expected['through'][0]['real'], 1.44744, atol=1e-5)
  for mode, (disc_weights, gen_weights) in expected.items():
    obj = objectives.get_objective(toy_config(balance_gradient=mode), POINT)
    disc = jax.grad(obj.balanced(obj.disc_loss))(balance_terms(0.15, 0.15, 0.15))
    gen = jax.grad(obj.balanced(obj.gen_loss))(balance_terms(0.2, 0.2, 0.1))
    for got, want in ((disc, disc_weights), (gen, gen_weights)):
      for name, value in want.items():
        np.testing.assert_allclose(got[name], value, rtol=1e-5, err_msg=(mode, name))
    assert disc['gen_x_self'] == 0.0 and gen['real'] == 0.0  # disc_fake_target 'input'.


@pytest.mark.parametrize('mode', ['stop', 'through'])
def test_learning_rate_share_is_a_constant(mode):
  """s never carries a gradient; p_fake does with 'through' unless its 0.9 cap holds it."""
  obj = objectives.get_objective(toy_config(balance_gradient=mode), POINT)
  grad = lambda name, terms: jax.grad(lambda t: obj.balance(t)[name])(terms)
  terms = balance_terms(0.15, 0.15, 0.15)
  assert all(v == 0.0 for v in grad('lr_disc', terms).values())
  p = sigmoid(-1.5)
  want = -20 * p * (1 - p) if mode == 'through' else 0.0
  np.testing.assert_allclose(grad('p_fake', terms)['real'], want, rtol=1e-5)
  # sig(20 (0.15 - 0)) = 0.95 > 0.9: clipped, so no gradient in either mode.
  capped = balance_terms(0.0, 0.3, 0.3)
  assert obj.balance(capped)['p_fake'] == pytest.approx(0.9)
  assert all(v == 0.0 for v in grad('p_fake', capped).values())


def test_clip_has_tf_clip_by_value_gradient():
  """Gradient 1 on the closed interval, ends included (jnp.clip gives 1/2 there), 0 outside."""
  values = jnp.array([-1.5, -1.0, 0.3, 1.0, 1.5])
  np.testing.assert_allclose(gaia.clip(values, -1.0, 1.0), [-1.0, -1.0, 0.3, 1.0, 1.0])
  grads = jax.vmap(jax.grad(lambda v: gaia.clip(v, -1.0, 1.0)))(values)
  np.testing.assert_array_equal(grads, [0.0, 1.0, 1.0, 1.0, 0.0])


def test_unit_loss_scale_halves_every_l1_and_doubles_the_slope():
  """On (x + 1) / 2 every L1 term is half, L_dist is unchanged, and the balancing at slope 20
  equals that of the [-1, 1] losses at slope 10 (docs/faithfulness.md#b2: our 20 acts like the
  code's 40)."""
  objs = {(scale, slope): objectives.get_objective(toy_config(loss_scale=scale, slope=slope),
                                                   POINT)
          for scale, slope in (('pm1', 10.0), ('unit', 20.0))}
  obj = objs['pm1', 10.0]
  state, x = obj.init(jax.random.PRNGKey(0)), points()['image']
  gen, disc = obj.group_params(state.params, 'generator'), obj.group_params(state.params, 'disc')
  alphas = obj.sample_alphas(jax.random.PRNGKey(1), 4)
  (pm1, (_, recon_pm1)), (unit, (_, recon_unit)) = (
      o.loss_terms(gen, disc, x, alphas) for o in objs.values())
  for name in ('real', 'gen_x', 'gen_x_self', 'interp'):
    np.testing.assert_allclose(unit[name], pm1[name] / 2, rtol=1e-6, err_msg=name)
  assert unit['dist'] == pm1['dist'] and recon_unit == pytest.approx(recon_pm1 / 2)
  weights = [o.balance(t) for o, t in zip(objs.values(), (pm1, unit))]
  for name in ('p_fake', 'p_gen', 'lr_disc'):
    np.testing.assert_allclose(weights[1][name], weights[0][name], rtol=1e-5, err_msg=name)
  assert 0.05 < weights[0]['lr_disc'] < 0.95  # Not saturated: the slope matters here.


# The step ----------------------------------------------------------------------------------------

@pytest.mark.parametrize('target,from_lr,slope,scale', [('input', False, 20.0, 'pm1'),
                                                        ('generated', True, 2.0, 'pm1'),
                                                        ('input', False, 2.0, 'unit')])
def test_losses_and_balancing_hand_computed(target, from_lr, slope, scale):
  """At slope 20 the first step's weights are near 0 or 1; at slope 2 all are in between."""
  obj, state, data = setup(toy_config(disc_fake_target=target, dist_weight_from_lr=from_lr,
                                      slope=slope, loss_scale=scale))
  _, m = jax.jit(obj.train_step)(state, data)
  r = reference(obj, state, data)
  assert obj.dist_weight == (5e-5 if from_lr else 2e-5)
  expected = {'disc/real': r['real'], 'gen/recon_via_disc': r['gx'],
              'disc/recon_gen': r['gx_self'], 'gen/interp': r['interp'], 'gen/dist': r['dist'],
              'gen/recon': r['recon'], 'disc/fake': r['fake'], 'disc/p_fake': r['p_fake'],
              'gen/p_interp': r['p_gen'], 'disc/lr_scale': r['s'], 'gen/lr_scale': 1 - r['s'],
              'disc/loss': r['disc_loss'], 'gen/loss': r['gen_loss']}
  for name, value in expected.items():
    np.testing.assert_allclose(m[name], value, rtol=2e-4, atol=1e-6, err_msg=name)


@pytest.mark.parametrize('balance_gradient,scale', [('stop', 'pm1'), ('through', 'unit')])
def test_updates_are_each_loss_in_its_own_parameters_at_the_balanced_rates(balance_gradient,
                                                                           scale):
  """New params = old + Adam step of grad L_G (G) or grad L_D (D), at (1 - s) lr and s lr.

  'stop': p_gen and p_fake are the step's constants; 'through': L_G and L_D are differentiated
  with p_gen and p_fake recomputed from their losses (the code). grad_norm pins the gradients
  themselves (Adam's first step is about lr * sign(grad)).
  """
  config = toy_config(slope=SLOPE_FOR_S_NEAR_0_8, balance_gradient=balance_gradient,
                      loss_scale=scale)
  obj, state, data = setup(config)
  new, m = jax.jit(obj.train_step)(state, data)
  r = reference(obj, state, data)
  assert 0.6 < r['s'] < 0.9  # s and 1 - s differ, and both updates are well above rounding.
  assert 0.1 < r['p_fake'] < 0.9 and 0.1 < r['p_gen'] < 0.9  # Gradients pass through both.
  x, z_mix, p = data['image'], jnp.asarray(r['z_mix']), state.params
  apply = lambda params, name, v: obj.networks[name].apply({'params': params[name]}, v)
  disc = lambda params, v: apply(params, 'disc_decoder', apply(params, 'disc_encoder', v))
  half = 0.5 if scale == 'unit' else 1.0
  l1 = lambda a, b: half * jnp.mean(jnp.abs(a - b))
  k, through = config.gaia.slope, balance_gradient == 'through'

  def gen_loss(g):  # D fixed; interpolants rebuilt from the same alphas through G's encoder.
    z = apply(g, 'encoder', x)
    mixed = gaia.interpolate(z, jnp.asarray(r['alphas']))
    gx, gi = apply(g, 'decoder', z), apply(g, 'decoder', mixed)
    interp, gen_x = l1(gi, disc(p, gi)), l1(x, disc(p, gx))
    p_gen = jax.nn.sigmoid(k * (interp - gen_x)) if through else r['p_gen']
    return p_gen * interp + (1 - p_gen) * gen_x + 2e-5 * gaia.distance_loss(x, z)

  def disc_loss(d):  # G's outputs are inputs here.
    gx, gi = apply(p, 'decoder', apply(p, 'encoder', x)), apply(p, 'decoder', z_mix)
    real, interp = l1(x, disc(d, x)), l1(gi, disc(d, gi))
    p_fake = jax.nn.sigmoid(k * (0.5 * interp - real)) if through else r['p_fake']
    return real - p_fake * (interp + l1(x, disc(d, gx))) / 2

  o = config.optim
  for group, loss, scale in (('generator', gen_loss, 1 - r['s']), ('disc', disc_loss, r['s'])):
    params = obj.group_params(p, group)
    adam = optax.chain(optax.add_decayed_weights(o.weight_decay),
                       optax.scale_by_adam(b1=o.b1, b2=o.b2), optax.scale(-o.lr * scale))
    grads = jax.jit(jax.grad(loss))(params)
    np.testing.assert_allclose(m[f'{group}/grad_norm'], optax.global_norm(grads), rtol=1e-4)
    expected, _ = adam.update(grads, adam.init(params), params)
    moved = jax.tree.map(lambda a, b: b - a, params, obj.group_params(new.params, group))
    for a, b in zip(jax.tree.leaves(expected), jax.tree.leaves(moved)):
      # Adam's first step is about +-lr * scale per parameter; 1e-7 is a few float32 ulps.
      np.testing.assert_allclose(b, a, atol=1e-7)
    # Biases start at 0, so their move is exact: the largest is the scaled learning rate.
    biases = [v for path, v in jax.tree_util.tree_leaves_with_path(moved) if 'bias' in str(path)]
    np.testing.assert_allclose(max(float(jnp.max(jnp.abs(b))) for b in biases), o.lr * scale,
                               rtol=1e-3)


def test_saturated_balance_moves_only_one_side():
  """s = 1 (D far worse on reals): only D moves; s = 0 (fakes far worse): only G moves."""
  obj, state, data = setup(toy_config(slope=1e4))
  step = jax.jit(obj.train_step)
  new, m = step(state, data)
  assert m['disc/real'] > m['disc/fake'] and m['disc/lr_scale'] == 1.0
  assert changed(state.params, new.params) == {'encoder': False, 'decoder': False,
                                               'disc_encoder': True, 'disc_decoder': True,
                                               'probe': True}
  # A decoder with outputs 1000x too large makes every fake far worse than the reals.
  last = f'Dense_{obj.config.model.mlp_layers}'
  decoder = jax.tree.map(lambda w: 1e3 * w, state.params['decoder'][last])
  state = state.replace(params={**state.params, 'decoder': {**state.params['decoder'],
                                                             last: decoder}})
  new, m = step(state, data)
  assert m['disc/lr_scale'] == 0.0 and m['gen/lr_scale'] == 1.0
  assert changed(state.params, new.params) == {'encoder': True, 'decoder': True,
                                               'disc_encoder': False, 'disc_decoder': False,
                                               'probe': True}


def test_clipped_losses_stop_both_updates_outside_one():
  """Reference-code clipping: |L| > 1 has no gradient, so neither network moves.

  Weight decay is off: coupled L2 alone would move every parameter (Adam normalises it). The
  slope keeps both learning rates near lr / 2, so only the clip can stop the updates.
  """
  config = toy_config(clip_losses=True, slope=0.01)
  config.optim.weight_decay = 0.0
  obj, state, data = setup(config, scale=20.0)
  new, m = jax.jit(obj.train_step)(state, data)
  assert m['disc/real'] > 1 and m['gen/recon_via_disc'] > 1
  assert 0.4 < m['disc/lr_scale'] < 0.6
  assert m['gen/loss'] == 1.0 and m['disc/loss'] == 1.0
  assert changed(state.params, new.params) == {'encoder': False, 'decoder': False,
                                               'disc_encoder': False, 'disc_decoder': False,
                                               'probe': True}


@pytest.mark.parametrize('field,value,message', [
    ('gaia.alpha_std', -0.1, r'config.gaia.alpha_std=-0.1 must be >= 0'),
    ('gaia.slope', 0.0, r'config.gaia.slope=0.0 must be > 0'),
    ('gaia.dist_weight', -1.0, r'config.gaia.dist_weight=-1.0 must be >= 0'),
    ('gaia.disc_fake_target', 'real', r"disc_fake_target='real' is not a target; choose one "
                                      r'of: input, generated'),
    ('gaia.balance_gradient', 'none', r"config.gaia.balance_gradient='none' is not a choice; "
                                      r'choose one of: stop, through'),
    ('gaia.loss_scale', 'byte', r"config.gaia.loss_scale='byte' is not a scale; choose one of: "
                                r'pm1, unit'),
    ('batch_size', 7, r'config.batch_size=7 must be even'),
    ('model.mlp_layers', -1, r'config.model.mlp_layers=-1 must be an integer >= 0'),
    ('model.mlp_width', 0, r'config.model.mlp_width=0 must be an integer >= 1'),
])
def test_bad_values_name_the_field(field, value, message):
  config = toy_config()
  section, _, name = field.rpartition('.')
  (config[section] if section else config)[name] = value
  with pytest.raises(ValueError, match=message):
    objectives.get_objective(config, POINT)


# The MLP family ----------------------------------------------------------------------------------

def test_mlp_family_shapes_and_parameter_count():
  config = toy_config()
  config.model.mlp_layers, config.model.mlp_width = 6, 256
  encoder, decoder = models.build_autoencoder(config, POINT)
  x = jnp.ones((3, 2))
  h, enc = jax.eval_shape(encoder.init_with_output, jax.random.key(0), x)
  y, dec = jax.eval_shape(decoder.init_with_output, jax.random.key(0), h)
  assert h.shape == (3, 2) and y.shape == (3, 2)
  count = lambda tree: sum(int(np.prod(v.shape)) for v in jax.tree.leaves(tree))
  dense = lambda i, o: i * o + o
  assert count(enc) == dense(2, 256) + 5 * dense(256, 256) + dense(256, 2) == 330_242
  assert count(dec) == count(enc)
  # Images are flattened in and reshaped out; the discriminator is spectrally normalised.
  image = jnp.ones((3, 8, 8, 1))
  encoder, decoder = models.build_autoencoder(config, (8, 8, 1))
  codes, _ = jax.eval_shape(encoder.init_with_output, jax.random.key(0), image)
  assert jax.eval_shape(decoder.init_with_output, jax.random.key(0), codes)[0].shape == (
      3, 8, 8, 1)
  logits, variables = jax.eval_shape(models.build_discriminator(config, POINT).init_with_output,
                                     jax.random.key(0), x)
  assert logits.shape == (3,) and set(variables) == {'params', 'spectral'}


@pytest.mark.parametrize('arch', ['acai', 'betavae'])
def test_convolutional_families_still_reject_points(arch):
  config = toy_config()
  config.model.arch, config.data.name = arch, 'spiral'
  for build in (models.build_autoencoder, models.build_discriminator):
    with pytest.raises(ValueError, match=rf"config.model.arch='{arch}' takes images \(H, W, C\), "
                                         r"but config.data.name='spiral' gives inputs of shape"):
      build(config, POINT)


# Short runs of the configs ------------------------------------------------------------------------

def shorten(config, steps=4):
  config.num_train_steps, config.batch_size, config.log_every = steps, 8, steps // 2
  config.eval_every = config.checkpoint_every = steps
  config.eval.batch_size, config.eval.max_examples, config.eval.figure_pairs = 64, 64, 2
  return config


def run(config, workdir):
  """train_and_evaluate; the flat threefry compiles conv initialisers ~4x faster (values only
  differ), which is most of a cold run's time (tests/test_betavae.py)."""
  with jax.threefry_partitionable(False):
    return train.train_and_evaluate(config, str(workdir))


def assert_finite_gaia_metrics(summary):
  for name in ('gen/loss', 'gen/interp', 'gen/recon_via_disc', 'gen/dist', 'disc/loss',
               'disc/real', 'disc/fake', 'disc/lr_scale'):
    assert np.isfinite(summary[name]), (name, summary[name])


def test_toy_config_runs_on_spiral(tmp_path):
  config = shorten(gaia_toys.get_config('spiral'))
  config.model.mlp_layers, config.model.mlp_width = 1, 16
  summary = run(config, tmp_path)
  assert_finite_gaia_metrics(summary)
  assert np.isfinite(summary['toy/mix_to_data']) and 'probe/val_accuracy' not in summary


def test_conv_config_runs_on_digits(tmp_path):
  config = shorten(gaia_svhn.get_config('local'), steps=2)
  config.model.depth, config.model.latent_width = 4, 8  # 2 scales, not 3: a faster compile.
  config.eval.evaluators = ('probe',)  # The figure is generic (encode/decode), tested elsewhere.
  summary = run(config, tmp_path)
  assert_finite_gaia_metrics(summary)
  assert 0.0 <= summary['probe/val_accuracy'] <= 1.0


def test_config_arguments():
  assert gaia_toys.get_config().data.name == 'spiral'
  local = gaia_toys.get_config('blobs,local')
  assert (local.data.name, local.data.num_classes, local.num_train_steps) == ('blobs', 8, 2_000)
  assert local.eval.evaluators == ('toy_mixes', 'probe')
  # --config.objective=vae on points (launch/gaia_2d_study.sh) models them with a Gaussian.
  assert (local.vae.likelihood, local.vae.gaussian_std) == ('gaussian', 0.1)
  with pytest.raises(ValueError, match=r'\[TOY\]\[,local\] with TOY one of spiral, moons'):
    gaia_toys.get_config('square')
  full = gaia_svhn.get_config()
  assert (full.data.name, full.num_epochs, full.setting) == ('svhn_cropped', 3500.0, 'svhn:gaia')
  assert full.model.latent * full.model.latent_width**2 == 32
  with pytest.raises(ValueError, match=r"^config argument 'bern2' must be \[local\]$"):
    gaia_svhn.get_config('bern2')
  # The GAIA code's losses (docs/faithfulness.md#b1, #b2); base keeps constant weights, no clip,
  # [-1, 1].
  code = lambda c: (c.gaia.balance_gradient, c.gaia.clip_losses, c.gaia.loss_scale)
  assert code(base.get_config()) == ('stop', False, 'pm1')
  assert code(full) == code(gaia_svhn.get_config('local')) == ('through', True, 'unit')
  assert code(local) == code(gaia_toys.get_config()) == ('through', True, 'pm1')
