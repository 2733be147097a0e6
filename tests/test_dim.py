"""Deep InfoMax: estimators on a hand-computed score tensor, which pairs are positive, the prior
terms, which networks each update moves, BatchNorm in training and inference, the probe layer,
errors, and short runs on digits for DIM(L) and DIM(G)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import base
from configs import dim_cifar10
from mixres import objectives
from mixres import train
from mixres.models import dim as dim_models
from mixres.objectives import dim

IMAGE_SHAPE = (32, 32, 1)
# u[i, j, l] for 2 images x 2 locations: positives u[0, 0] and u[1, 1].
SCORES = np.array([[[1.0, -1.0], [0.5, 2.0]],
                   [[-0.5, 0.0], [3.0, -2.0]]])
POS = [1.0, -1.0, 3.0, -2.0]
NEG = [0.5, 2.0, -0.5, 0.0]


def softplus(v):
  return math.log1p(math.exp(v))


def test_jsd_hand_computed():
  expected = (np.mean([softplus(-p) for p in POS]) + np.mean([softplus(n) for n in NEG]))
  np.testing.assert_allclose(dim.jsd_loss(jnp.asarray(SCORES)), expected, rtol=1e-6)
  np.testing.assert_allclose(dim.jsd_loss(jnp.asarray(SCORES), log2_constants=True),
                             expected - 2 * math.log(2), rtol=1e-6)


def test_dv_hand_computed():
  expected = math.log(np.mean(np.exp(NEG))) - np.mean(POS)
  np.testing.assert_allclose(dim.dv_loss(jnp.asarray(SCORES)), expected, rtol=1e-6)


@pytest.mark.parametrize('same_image', ['exclude', 'minus10'])
def test_infonce_hand_computed(same_image):
  """Row (i, l): the positive u[i, i, l] against u[i, j, l'] for j != i and every l'."""
  terms = []
  for i in range(2):
    others = [SCORES[i, j, m] for j in range(2) if j != i for m in range(2)]
    if same_image == 'minus10':  # The code's fill: all L same-image entries at logit -10.
      others += [-10.0, -10.0]
    for l in range(2):
      positive = SCORES[i, i, l]
      terms.append(-math.log(math.exp(positive) / (math.exp(positive) +
                                                   sum(math.exp(o) for o in others))))
  np.testing.assert_allclose(dim.infonce_loss(jnp.asarray(SCORES), same_image), np.mean(terms),
                             rtol=1e-6)


def test_scores_pair_each_code_with_every_image_and_location():
  rng = np.random.default_rng(0)
  maps, codes = rng.normal(size=(3, 4, 5)), rng.normal(size=(3, 5))
  scores = np.asarray(dim.mi_scores(jnp.asarray(maps), jnp.asarray(codes)))
  for i, j, l in np.ndindex(3, 3, 4):
    np.testing.assert_allclose(scores[i, j, l], maps[j, l] @ codes[i], rtol=1e-5)


@pytest.mark.parametrize('estimator', ['jsd', 'dv', 'infonce'])
def test_positives_are_exactly_the_same_image_pairs(estimator):
  """Raising u[i, j, l] lowers the loss exactly where i = j, at every location."""
  config = base.get_config()
  config.dim.estimator = estimator
  scores = jnp.asarray(np.random.default_rng(1).normal(size=(3, 3, 4)), jnp.float32)
  grads = np.asarray(jax.jit(jax.grad(lambda u: dim.mi_loss(u, config)))(scores))
  same = np.broadcast_to(np.eye(3, dtype=bool)[:, :, None], grads.shape)
  assert (grads[same] < 0).all() and (grads[~same] > 0).all()
  np.testing.assert_array_equal(dim.positive_mask(3, 4), same)


# -------------------------------------------------------------------------------------------------
# The step tests share one compiled DIM(L) step, built by the loop's own Experiment with the
# config of the short DIM(L) run below, so that run reuses its executables (compilation cache).

def small_config(**dim_fields):
  config = base.get_config()
  config.objective = 'dim'
  config.eval.evaluators = ('probe',)
  config.dim.update(dict(embed_units=16, code_size=8))
  config.dim.update(dim_fields)
  return config


def digits_config(arg: str):
  config = dim_cifar10.get_config(arg)
  config.dim.embed_units = 16
  config.batch_size = 8
  config.num_train_steps = 1
  config.log_every = config.eval_every = config.checkpoint_every = 1
  config.eval.batch_size = 64
  config.eval.max_examples = 64
  return config


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
  """(objective, state, batch, state after one step, its metrics, step(state) -> (state, m))."""
  config = digits_config('local,jsd,local')
  experiment = train.Experiment(config, str(tmp_path_factory.mktemp('dim')))
  rng = np.random.default_rng(0)
  data = {'image': rng.uniform(-1, 1, (8, *IMAGE_SHAPE)).astype(np.float32),
          'label': rng.integers(0, 10, 8).astype(np.int32)}

  def step(state):
    # As in test_short_run_on_digits, so that both compile the same programs once.
    with jax.threefry_partitionable(False):
      return experiment.train_step(0)(jax.tree.map(jnp.copy, state), data)  # It donates.

  with jax.threefry_partitionable(False):  # Compiles the initialisers faster (test_betavae).
    state = experiment.init_state()
  new, metrics = step(state)
  return experiment.objective, state, data, new, metrics, step


def changed(before, after) -> dict:
  """Network name -> whether any of its parameters moved (in numpy: no per-shape compiles)."""
  moved = lambda a, b: bool(np.any(np.asarray(a) != np.asarray(b)))
  return {name: any(jax.tree.leaves(jax.tree.map(moved, before[name], after[name])))
          for name in before}


def train_features(obj, params, state, x):
  """The encoder's layers in training mode (batch statistics), as the step computes them."""
  return obj.apply_net('encoder', params, state.collections, x, True)[0]


def test_networks_and_groups():
  obj = objectives.get_objective(small_config(alpha=0.5, gamma=0.1), IMAGE_SHAPE)
  assert obj.groups == {'encoder': ('encoder', 'local_map_critic', 'local_code_critic',
                                    'global_map_critic', 'global_code_critic'),
                        'prior_disc': ('prior_disc',)}
  # Terms with weight 0 have no networks: DIM(G) without the prior.
  obj = objectives.get_objective(small_config(alpha=1.0, beta=0.0, gamma=0.0), IMAGE_SHAPE)
  assert obj.groups == {'encoder': ('encoder', 'global_map_critic', 'global_code_critic')}
  assert set(obj.networks) == {'encoder', 'global_map_critic', 'global_code_critic', 'probe'}


def test_one_step_moves_every_network(setup):
  _, state, _, new, metrics, _ = setup
  moved = changed(state.params, new.params)
  assert moved == {'encoder': True, 'local_map_critic': True, 'local_code_critic': True,
                   'prior_disc': True, 'probe': True}
  assert all(np.isfinite(float(v)) for v in metrics.values())


def test_prior_terms_hand_computed(setup):
  """Encoder: softplus(-D(sigmoid(Y))); D: BCE on U[0,1] samples vs sigmoid codes (+ penalty)."""
  obj, state, data, _, metrics, _ = setup
  with_penalty = objectives.get_objective(small_config(prior_gradient_penalty=0.5), IMAGE_SHAPE)
  key = jax.random.fold_in(state.rng, state.step)

  @jax.jit  # One compile instead of one per eager op.
  def compute(state, x):
    codes = jax.nn.sigmoid(train_features(obj, state.params, state, x)['code'])
    disc = lambda z: obj.networks['prior_disc'].apply({'params': state.params['prior_disc']}, z)
    prior = jax.random.uniform(key, codes.shape)
    per_example = jax.vmap(jax.grad(lambda z: disc(z[None])[0]))
    gradients = [per_example(z) for z in (prior, codes)]
    loss, penalized = with_penalty.prior_disc_loss(state.params['prior_disc'], codes, key)
    return codes, prior, disc(codes), disc(prior), gradients, loss, penalized

  with jax.threefry_partitionable(False):  # As the fixture's step draws the prior samples.
    codes, prior, fake, real, gradients, loss, penalized = jax.device_get(
        compute(state, data['image']))
  assert prior.min() >= 0 and prior.max() <= 1 and prior.shape == codes.shape
  softplus_np = lambda v: np.log1p(np.exp(v))
  np.testing.assert_allclose(metrics['encoder/prior_loss'], np.mean(softplus_np(-fake)),
                             rtol=1e-4)
  bce = np.mean(softplus_np(-real)) + np.mean(softplus_np(fake))
  # The reference code's gradient penalty: 0.5 x (|dD/dz|^2 on prior + the same on codes).
  # 'all' (0.5 here): each term the mean over the batch.
  penalty = 0.5 * sum(np.mean(np.sum(g**2, -1)) for g in gradients)
  np.testing.assert_allclose(penalized['prior_disc/gradient_penalty'], penalty, rtol=1e-4)
  np.testing.assert_allclose(loss, bce + 0.5 * penalty, rtol=1e-4)
  # The fixture's config follows the code: weight 1.0 on 'last', each term the batch's last
  # example's squared norm over the batch size (8).
  assert (obj.config.dim.prior_gradient_penalty, obj.config.dim.prior_penalty_examples) == (
      1.0, 'last')
  last = 0.5 * sum(np.sum(g[-1]**2) / 8 for g in gradients)
  assert abs(last - penalty) > 0.1 * penalty  # Not the 'all' value under another name.
  np.testing.assert_allclose(metrics['prior_disc/gradient_penalty'], last, rtol=1e-4)
  np.testing.assert_allclose(metrics['prior_disc/loss'], bce + last, rtol=1e-4)


def test_each_update_moves_only_its_own_networks(setup):
  """The encoder group's update ignores D's loss; D's update ignores the encoder's update.

  Run on the same compiled step: a different rng changes only the prior samples, which only D's
  loss sees; a different Adam state for the encoder group changes only that group's update.
  """
  obj, state, _, new, _, step = setup
  encoder_group = obj.groups['encoder']
  other_rng, _ = step(state.replace(rng=jax.random.PRNGKey(7)))
  moved = changed(new.params, other_rng.params)
  assert moved == {**{name: False for name in encoder_group}, 'prior_disc': True, 'probe': False}
  nudged = jax.tree.map(lambda a: a + 1e-3 if jnp.issubdtype(a.dtype, jnp.floating) else a,
                        state.opt_state['encoder'])
  other_adam, _ = step(state.replace(opt_state={**state.opt_state, 'encoder': nudged}))
  moved = changed(new.params, other_adam.params)
  assert moved == {**{name: True for name in encoder_group}, 'prior_disc': False, 'probe': False}


def test_batchnorm_running_stats_train_and_inference(setup):
  obj, state, data, new, _, _ = setup
  x = data['image']
  stats = new.collections['encoder']['batch_stats']
  # PyTorch momentum 0.1 from mean 0: the first conv's running mean is 0.1 x its batch mean.
  conv = jax.lax.conv_general_dilated(x, state.params['encoder']['Conv_0']['kernel'], (2, 2),
                                      ((1, 1), (1, 1)), dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
  np.testing.assert_allclose(stats['BatchNorm_0']['mean'], 0.1 * np.mean(conv, (0, 1, 2)),
                             rtol=1e-4, atol=1e-6)
  params = obj.inference_params(new)
  encode = jax.jit(obj.encode)  # One compile per batch size instead of one per eager op.
  # Inference: each image's code is independent of the rest of the batch, and it changes with
  # the running averages.
  alone = encode(params, x[:1])
  np.testing.assert_allclose(encode(params, x)[:1], alone, rtol=1e-4, atol=1e-5)
  shifted = jax.tree.map(lambda s: s + 1.0, params['encoder_batch_stats'])
  assert np.abs(encode({**params, 'encoder_batch_stats': shifted}, x[:1]) - alone).max() > 1e-3
  # Training: batch statistics, so the same image encodes differently in another batch.
  train_codes = jax.jit(lambda v: train_features(obj, new.params, new, v)['code'][0])
  assert np.abs(train_codes(x) - train_codes(jnp.concatenate([x[:1], -x[1:]]))).max() > 1e-3
  with pytest.raises(ValueError, match='inference_params'):
    obj.encode(new.params, x)


def test_critic_batchnorm_running_stats_live_in_the_state(setup):
  """The code's critics (config 'code': critic_batchnorm) normalise their hidden layer with
  batch statistics over images and locations, and the step stores the running averages."""
  obj, state, data, new, _, _ = setup
  assert obj.config.dim.critic_batchnorm
  features = jax.jit(lambda x: train_features(obj, state.params, state, x))(data['image'])
  inputs = obj.critic_inputs('local', features)
  for name in ('local_map_critic', 'local_code_critic'):
    hidden = inputs[name] @ state.params[name]['Dense_0']['kernel']  # No bias before BN.
    mean = np.mean(np.asarray(hidden).reshape(-1, hidden.shape[-1]), 0)
    assert np.abs(mean).max() > 1e-3
    # PyTorch momentum 0.1 from 0: 0.1 x the batch mean.
    np.testing.assert_allclose(new.collections[name]['batch_stats']['BatchNorm_0']['mean'],
                               0.1 * mean, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize('layer_norm', [False, True])
def test_code_critic_layer_norm(layer_norm):
  """code_critic_layer_norm ends the code side in a layer norm (the code's MI1x1ConvNet on both
  sides); the paper's Table 8 has none. Layer norm at init: each row mean 0, variance 1."""
  obj = objectives.get_objective(small_config(gamma=0.0, code_critic_layer_norm=layer_norm),
                                 IMAGE_SHAPE)
  codes = jnp.asarray(np.random.default_rng(0).normal(1.0, 3.0, (4, 8)), jnp.float32)
  net = obj.networks['local_code_critic']
  out = np.asarray(net.apply(net.init(jax.random.key(0), codes), codes))
  normalised = (np.allclose(out.mean(-1), 0, atol=1e-4)
                and np.allclose(out.var(-1), 1, atol=1e-2))
  assert normalised == layer_norm


def count(tree) -> int:
  return sum(int(np.prod(leaf.shape)) for leaf in jax.tree.leaves(tree))


@pytest.mark.parametrize('critic,expected', [
    # Table 6 on M = 4x4x256 and Y = 64: (4096 + 64) x 512 + 512, 512 x 512 + 512, 512 + 1.
    ('paper', {'global_pair_critic': 2_130_432 + 262_656 + 513}),
    # GlobalDIM from the 8x8x128 map: conv 4x4 128 -> 128 and 128 -> 256 without bias, each
    # with BN (scale, shift); fc 1024 -> 1024 without bias, BN; linear 1024 -> 2048. Code side:
    # Linear(64 -> 2048).
    ('code', {'global_map_critic': (16 * 128 * 128 + 256) + (16 * 128 * 256 + 512)
                                   + (1024 * 1024 + 2048) + (1024 * 2048 + 2048),
              'global_code_critic': 64 * 2048 + 2048}),
])
def test_global_critic_parameter_counts(critic, expected):
  assert sum(expected.values()) in (2_393_601, 3_937_024 + 133_120)
  config = small_config(alpha=1.0, beta=0.0, gamma=0.0, global_critic=critic, code_size=64,
                        embed_units=2048)
  obj = objectives.get_objective(config, (32, 32, 3))
  state = jax.eval_shape(obj.init, jax.random.key(0))
  assert set(state.params) == {'encoder', 'probe', *expected}
  assert {name: count(state.params[name]) for name in expected} == expected
  assert obj.groups['encoder'] == ('encoder', *expected)


@pytest.mark.parametrize('critic', ['encode_dot', 'paper', 'code'])
def test_each_global_critic_in_the_step(critic):
  """The step's global term, and the running BatchNorm statistics GlobalDIM's layers keep."""
  obj = objectives.get_objective(
      small_config(alpha=1.0, beta=0.0, gamma=0.0, global_critic=critic), IMAGE_SHAPE)
  state = jax.eval_shape(obj.init, jax.random.key(0))
  batch = {'image': jax.ShapeDtypeStruct((4, *IMAGE_SHAPE), jnp.float32),
           'label': jax.ShapeDtypeStruct((4,), jnp.int32)}
  new, metrics, _ = jax.eval_shape(obj.update, state, batch, jax.random.key(0))
  assert metrics['encoder/global_mi_loss'].shape == ()
  assert ('global_pair_critic' in new.params) == (critic == 'paper')
  with_stats = {name for name in new.collections if name != 'encoder'}
  assert with_stats == ({'global_map_critic'} if critic == 'code' else set())
  if critic == 'code':
    stats = new.collections['global_map_critic']['batch_stats']
    assert [stats[f'BatchNorm_{k}']['mean'].shape for k in range(3)] == [(128,), (256,), (1024,)]


def test_pair_critic_scores_every_map_code_pair():
  """scores[i, j] = MLP(concat(maps[j], codes[i])): i the code (global), j the image's map."""
  rng = np.random.default_rng(0)
  maps, codes = (jnp.asarray(rng.normal(size=s), jnp.float32) for s in ((3, 5), (3, 2)))
  critic = dim_models.PairCritic(hidden=6)
  params = critic.init(jax.random.key(0), (maps, codes))['params']
  scores = np.asarray(critic.apply({'params': params}, (maps, codes)))
  p = jax.tree.map(np.asarray, params)
  relu = lambda v: np.maximum(v, 0)
  for i, j in np.ndindex(3, 3):
    h = relu(np.concatenate([maps[j], codes[i]]) @ p['kernel'] + p['bias'])
    h = relu(h @ p['Dense_0']['kernel'] + p['Dense_0']['bias'])
    np.testing.assert_allclose(scores[i, j], h @ p['Dense_1']['kernel'][:, 0]
                               + p['Dense_1']['bias'][0], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize('layer,shape', [('code', (2, 8)), ('fc', (2, 1024)),
                                         ('conv', (2, 4, 4, 256))])
def test_probe_reads_the_selected_layer(layer, shape):
  obj = objectives.get_objective(small_config(probe_on=layer, alpha=0.0, gamma=0.0), IMAGE_SHAPE)
  state = jax.eval_shape(obj.init, jax.random.key(0))
  images = jax.ShapeDtypeStruct((2, *IMAGE_SHAPE), jnp.float32)
  labels = jax.ShapeDtypeStruct((2,), jnp.int32)
  _, _, codes = jax.eval_shape(obj.update, state, {'image': images, 'label': labels},
                               jax.random.key(0))
  assert codes.shape == shape
  assert jax.eval_shape(obj.encode, obj.inference_params(state), images).shape == shape
  assert state.params['probe']['Dense_0']['kernel'].shape == (int(np.prod(shape[1:])), 10)
  assert set(state.params) == {'encoder', 'local_map_critic', 'local_code_critic', 'probe'}


def test_local_map_is_8x8x128():
  out = jax.eval_shape(dim_models.Encoder().init_with_output, jax.random.key(0),
                       jnp.zeros((2, 32, 32, 3)))[0]
  assert {k: v.shape for k, v in out.items()} == {
      'local': (2, 8, 8, 128), 'conv': (2, 4, 4, 256), 'fc': (2, 1024), 'code': (2, 64)}


@pytest.mark.parametrize('field,value,message', [
    ('eval.evaluators', ('probe', 'interpolation'), r"evaluators lists \['interpolation'\]"),
    ('eval.evaluators', ('lines', 'ndm'), r"lists \['lines'\], which decode codes, but objective"),
    ('dim.estimator', 'nwj', r"config.dim.estimator='nwj' is not valid; choose one of: jsd, dv"),
    ('dim.probe_on', 'local', r"config.dim.probe_on='local' .* code, fc, conv"),
    ('dim.gamma', -1.0, r'config.dim.gamma=-1.0 must be >= 0'),
    ('dim.beta', 0.0, r'alpha and config.dim.beta are both 0'),
    ('dim.global_critic', 'mlp', r"global_critic='mlp' is not valid; .* encode_dot, paper, code"),
    ('dim.prior_penalty_examples', 'first', r"prior_penalty_examples='first' .* all, last"),
])
def test_bad_values_name_the_field(field, value, message):
  config = small_config(alpha=0.0)
  section, name = field.split('.')
  config[section][name] = value
  with pytest.raises(ValueError, match=message):
    objectives.get_objective(config, IMAGE_SHAPE)


def test_config_argument():
  config = dim_cifar10.get_config('global,infonce,local')
  assert (config.dim.alpha, config.dim.beta, config.dim.gamma) == (1.0, 0.0, 1.0)
  assert (config.dim.estimator, config.data.name) == ('infonce', 'digits')
  full = dim_cifar10.get_config()
  assert (full.dim.alpha, full.dim.beta, full.dim.gamma, full.dim.estimator) == (0, 1, 0.1, 'jsd')
  assert (full.data.name, full.num_epochs, full.batch_size, full.optim.lr) == (
      'cifar10', 1000, 64, 1e-4)
  assert full.eval.evaluators == ('probe',)
  with pytest.raises(ValueError, match='VARIANT'):
    dim_cifar10.get_config('local,mine')
  with pytest.raises(ValueError, match='FIELDS one of code, paper'):
    dim_cifar10.get_config('local,jsd,torch')


def test_config_field_sets():
  """The published rows follow the authors' code by default; ',paper' the appendix."""
  for arg in ('local,jsd', 'local,infonce,code', 'global,dv,code,local'):
    d = dim_cifar10.get_config(arg).dim
    assert (d.global_critic, d.critic_batchnorm, d.code_critic_layer_norm,
            d.prior_gradient_penalty, d.prior_penalty_examples, d.infonce_same_image,
            d.jsd_log2) == ('code', True, True, 1.0, 'last', 'minus10', True), arg
  config = dim_cifar10.get_config('global,jsd,paper,local')
  d = config.dim
  assert (d.global_critic, d.critic_batchnorm, d.code_critic_layer_norm,
          d.prior_gradient_penalty, d.infonce_same_image, d.jsd_log2) == (
              'paper', False, False, 0.0, 'exclude', False)
  assert (d.alpha, d.estimator, config.data.name) == (1.0, 'jsd', 'digits')
  assert config.setting == 'dim_cifar10:global,jsd,paper'
  assert dim_cifar10.get_config('local,infonce').setting == 'dim_cifar10:local,infonce,code'


@pytest.mark.parametrize('arg,terms', [('local,jsd,local', ['local']),
                                       ('global,infonce,local', ['global'])])
def test_short_run_on_digits(arg, terms, tmp_path):
  """DIM(L) and DIM(G) through the loop: finite losses, Eq. 8's weighting, the probe evaluated."""
  config = digits_config(arg)
  with jax.threefry_partitionable(False):  # Faster to compile; only the random values change.
    summary = train.train_and_evaluate(config, str(tmp_path))
  for name in ['encoder/loss', 'encoder/prior_loss', 'prior_disc/loss', 'probe/val_accuracy',
               *(f'encoder/{t}_mi_loss' for t in terms)]:
    assert np.isfinite(summary[name]), name
  assert {k for k in summary if k.endswith('_mi_loss')} == {f'encoder/{t}_mi_loss' for t in terms}
  weights = {'global': config.dim.alpha, 'local': config.dim.beta}
  expected = config.dim.gamma * summary['encoder/prior_loss'] + sum(
      weights[t] * summary[f'encoder/{t}_mi_loss'] for t in terms)
  np.testing.assert_allclose(summary['encoder/loss'], expected, rtol=1e-4)
