"""VAE / beta-VAE and the AE baselines of the ACAI lines table (dropout, denoising).

Losses recomputed by hand from the networks' outputs, which networks move, corruptions only in
training, the Table 4 row, and a short run of configs/lines.py for each method.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from configs import amr_dsprites
from configs import lines
from mixres import objectives
from mixres import parallel
from mixres import train
from mixres.data import pipeline
from mixres.evaluation import interpolation
from mixres.objectives import vae


def lines_config(method, **overrides):
  """configs/lines.py:METHOD,local at test size: depth 4, one scale, 2 code channels, 2 steps."""
  config = lines.get_config(f'{method},local')
  config.update_from_flattened_dict(overrides)
  config.model.depth, config.model.latent_width, config.model.latent = 4, 16, 2
  config.batch_size = 8
  config.data.num_examples = 256
  config.num_train_steps = 2
  config.log_every = config.eval_every = config.checkpoint_every = 2
  config.eval.batch_size = config.eval.max_examples = 16
  config.eval.figure_pairs = 2
  return config


def changed(before, after) -> dict:
  return {name: any(jax.tree.leaves(jax.tree.map(lambda a, b: bool(jnp.any(a != b)),
                                                 before[name], after[name])))
          for name in before}


class Run:
  """The loop's first step on a lines batch, through the loop's own init and compiled step.

  The end-to-end runs below use the same configs, so they take both executables from the
  compilation cache instead of compiling them again.
  """

  def __init__(self, method, workdir, **overrides):
    config = lines_config(method, **overrides)
    config.eval.evaluators = ()  # Only the end-to-end runs evaluate; init and step are the same.
    exp = train.Experiment(config, workdir)  # Writes nothing until it trains.
    self.obj, self.state = exp.objective, exp.init_state()
    batches = pipeline.train_batches(exp.train_source, config.batch_size, 0)
    self.data = parallel.to_global(exp.mesh, batches[0])
    self.key = jax.random.fold_in(self.state.rng, self.state.step)  # The step's key.
    copy = jax.tree.map(jnp.copy, self.state)  # The loop's step donates its input.
    self.new, self.metrics = exp.train_step(0)(copy, self.data)


def probe_loss(obj, params, codes, labels):
  logits = obj.probe_logits(params, codes)
  return float(np.mean(optax.softmax_cross_entropy_with_integer_labels(logits, labels)))


# VAE -------------------------------------------------------------------------------------------


def test_kl_and_likelihoods_on_hand_cases():
  # KL(N(1, 1) || N(0, 1)) = 1/2; KL(N(0, 4) || N(0, 1)) = (4 - 1 - log 4) / 2.
  mean, log_var = jnp.array([[1.0, 0.0]]), jnp.array([[0.0, math.log(4.0)]])
  expected = 0.5 + (3.0 - math.log(4.0)) / 2
  np.testing.assert_allclose(vae.gaussian_kl(mean, log_var), [expected], rtol=1e-6)
  np.testing.assert_allclose(vae.gaussian_kl(mean, log_var, 'mean'), [expected / 2], rtol=1e-6)
  # Bernoulli: logits 0 give log 2 per pixel whatever the target; a pixel x = 1 under logit 2
  # costs log(1 + e^-2). Two pixels per example here.
  x = jnp.array([[-1.0, 1.0]])
  np.testing.assert_allclose(vae.negative_log_likelihood(x, jnp.zeros((1, 2)), 'bernoulli'),
                             [2 * math.log(2)], rtol=1e-6)
  np.testing.assert_allclose(vae.negative_log_likelihood(x, jnp.array([[-2.0, 2.0]]), 'bernoulli'),
                             [2 * math.log1p(math.exp(-2))], rtol=1e-6)
  # Gaussian, std 0.5: per pixel 0.5 ((x - mu) / 0.5)^2 + log 0.5 + 0.5 log(2 pi).
  nll = vae.negative_log_likelihood(x, jnp.array([[0.0, 1.0]]), 'gaussian', 0.5)
  constant = math.log(0.5) + 0.5 * math.log(2 * math.pi)
  np.testing.assert_allclose(nll, [0.5 * 4.0 + 2 * constant], rtol=1e-6)
  # 'bernoulli_mean' (the authors' tanh decoder): the output 0 is p = 1/2, log 2 a pixel; an
  # output of exactly -1 for a pixel that is on costs torch's floor, 100.
  np.testing.assert_allclose(vae.negative_log_likelihood(x, jnp.array([[0.0, -1.0]]),
                                                         'bernoulli_mean'),
                             [math.log(2) + 100.0], rtol=1e-6)


@pytest.mark.parametrize('posterior', ['log_var', 'std'])
def test_kl_of_both_heads_and_both_reductions(posterior):
  """KL(N(1, 1)) = 1/2 and KL(N(0, 2^2)) = (4 - 1 - log 4) / 2 from either head; a negative std
  head means the same Gaussian (torch's Normal(mu, head) as the AMR authors used it)."""
  mean = jnp.array([[1.0, 0.0], [1.0, 0.0]])
  if posterior == 'log_var':
    scale = jnp.array([[0.0, math.log(4.0)], [0.0, math.log(4.0)]])
  else:
    scale = jnp.array([[1.0, 2.0], [-1.0, -2.0]])
  log_var = vae.log_variance(scale, posterior)
  np.testing.assert_allclose(vae.standard_deviation(scale, posterior)[0], [1.0, 2.0], rtol=1e-6)
  per_dim = [0.5, (3.0 - math.log(4.0)) / 2]
  np.testing.assert_allclose(vae.gaussian_kl(mean, log_var, 'sum'), [sum(per_dim)] * 2,
                             rtol=1e-6)
  # 'mean': theirs is kl_divergence(q, prior).mean() over batch and dimensions (vae.py:75).
  np.testing.assert_allclose(jnp.mean(vae.gaussian_kl(mean, log_var, 'mean')),
                             np.mean(per_dim), rtol=1e-6)


@pytest.fixture(scope='module')
def vae_run(tmp_path_factory):
  """configs/lines.py:vae, ACAI's: the dense head and posterior samples as codes."""
  return Run('vae', str(tmp_path_factory.mktemp('vae')))


@pytest.fixture(scope='module')
def split_run(tmp_path_factory):
  """The same with the split-conv head and mean codes (the defaults)."""
  return Run('vae', str(tmp_path_factory.mktemp('vae_split')),
             **{'vae.head': 'conv_split', 'vae.encode': 'mean'})


def hand_elbo(run, mean, log_var):
  """(NLL, KL) of the run's first step from the posterior, by hand in float64."""
  obj, state, data = run.obj, run.state, run.data
  z = mean + np.exp(0.5 * log_var) * np.asarray(jax.random.normal(run.key, mean.shape))
  logits = np.asarray(obj.networks['decoder'].apply({'params': state.params['decoder']}, z),
                      np.float64)
  t = (np.asarray(data['image']) + 1) / 2
  bce = np.maximum(logits, 0) - logits * t + np.log1p(np.exp(-np.abs(logits)))
  nll = bce.reshape(len(t), -1).sum(-1).mean()
  kl = (0.5 * (mean**2 + np.exp(log_var) - 1 - log_var)).reshape(len(t), -1).sum(-1).mean()
  return nll, kl


def test_split_head_loss_hand_computed(split_run):
  """-ELBO = sum BCE(logits, (x+1)/2) + KL on the reparameterised sample, mean over batch."""
  obj, state, data, metrics = split_run.obj, split_run.state, split_run.data, split_run.metrics
  stats = np.asarray(obj.networks['encoder'].apply({'params': state.params['encoder']},
                                                   data['image']))
  assert stats.shape[-1] == 2 * obj.config.model.latent  # Mean and log-variance channels.
  mean, log_var = stats[..., :2], stats[..., 2:]
  nll, kl = hand_elbo(split_run, mean, log_var)
  assert obj.config.vae.beta == 1.0  # ACAI's lines VAE.
  np.testing.assert_allclose(metrics['gen/recon'], nll, rtol=1e-4)
  np.testing.assert_allclose(metrics['gen/kl'], kl, rtol=1e-4)
  np.testing.assert_allclose(metrics['gen/loss'], nll + kl, rtol=1e-4)
  # The probe learns from the posterior mean, which is what `encode` returns.
  np.testing.assert_allclose(obj.encode(state.params, data['image']), mean, rtol=1e-5)
  np.testing.assert_allclose(metrics['probe/train_loss'],
                             probe_loss(obj, state.params, mean, data['label']), rtol=1e-4)


def test_dense_head_loss_and_probe_hand_computed(vae_run):
  """ACAI vae.py:51-78: mu, log sigma^2 = two dense layers on the flattened encoder output,
  reshaped to its shape; the same -ELBO on them; the probe on the output before the dense."""
  obj, state, data, metrics = vae_run.obj, vae_run.state, vae_run.data, vae_run.metrics
  assert (obj.config.vae.head, obj.config.vae.encode) == ('dense', 'sample')
  params = state.params['encoder']
  features = np.asarray(obj.networks['encoder'].encoder.apply({'params': params['encoder']},
                                                              data['image']), np.float64)
  assert features.shape == (8, 16, 16, 2)  # Test size: a 16 x 16 x 2 code, 512 values.
  flat = features.reshape(8, -1)
  dense = lambda name: (flat @ np.asarray(params[name]['kernel'], np.float64)
                        + np.asarray(params[name]['bias'])).reshape(features.shape)
  mean, log_var = dense('mean'), dense('scale')
  nll, kl = hand_elbo(vae_run, mean, log_var)
  np.testing.assert_allclose(metrics['gen/recon'], nll, rtol=1e-4)
  np.testing.assert_allclose(metrics['gen/kl'], kl, rtol=1e-4)
  np.testing.assert_allclose(metrics['gen/loss'], nll + kl, rtol=1e-4)
  # The probe trains on, and the evaluator feeds it, the pre-dense features, not mu.
  np.testing.assert_allclose(metrics['probe/train_loss'],
                             probe_loss(obj, state.params, features, data['label']), rtol=1e-4)
  assert abs(float(metrics['probe/train_loss'])
             - probe_loss(obj, state.params, mean, data['label'])) > 1e-3
  inference = obj.inference_params(state)
  np.testing.assert_allclose(obj.probe_inputs(inference, data['image']), features, rtol=1e-5,
                             atol=1e-6)


def test_dense_head_shapes_and_parameter_count():
  """On ACAI's lines code (16 x 2 x 2 = 64): two 64 x 64 dense layers, 2 (64 * 64 + 64) = 8,320
  parameters beyond the plain AE's encoder; mu and log sigma^2 come back as (B, 2, 2, 16)."""
  count = lambda obj: sum(a.size for a in jax.tree.leaves(
      jax.eval_shape(obj.init, jax.random.PRNGKey(0)).params['encoder']))
  obj = objectives.get_objective(lines.get_config('vae'), (32, 32, 1))
  plain = objectives.get_objective(lines.get_config('ae'), (32, 32, 1))
  assert count(obj) - count(plain) == 2 * (64 * 64 + 64) == 8320
  state = jax.eval_shape(obj.init, jax.random.PRNGKey(0))
  for name in ('mean', 'scale'):
    assert state.params['encoder'][name]['kernel'].shape == (64, 64)
  images = jax.ShapeDtypeStruct((3, 32, 32, 1), jnp.float32)
  mean, scale, features = jax.eval_shape(obj.posterior, state.params, images)
  assert mean.shape == scale.shape == features.shape == (3, 2, 2, 16)
  # The split head instead widens the last conv to 32 channels: 3 * 3 * 256 * 16 + 16 more.
  split = lines.get_config('vae')
  split.vae.head = 'conv_split'
  assert count(objectives.get_objective(split, (32, 32, 1))) - count(plain) == 36880


def test_sample_codes_are_draws_fixed_by_the_state(vae_run):
  """encode: mu + sigma eps, eps from inference_params' key folded with the input; the same
  state draws the same codes, another batch other noise, and interpolations differ from the
  mean's."""
  obj, state, data = vae_run.obj, vae_run.state, vae_run.data
  x = data['image']
  inference = obj.inference_params(state)
  mean, log_var, _ = obj.posterior(state.params, x)
  key = jax.random.fold_in(jax.random.fold_in(jax.random.fold_in(state.rng, state.step), 1),
                           vae.content_seed(x))
  expected = mean + jnp.exp(0.5 * log_var) * jax.random.normal(key, mean.shape)
  codes = obj.encode(inference, x)
  np.testing.assert_allclose(codes, expected, rtol=1e-5, atol=1e-6)
  np.testing.assert_array_equal(codes, obj.encode(obj.inference_params(state), x))
  assert float(jnp.max(jnp.abs(codes - mean))) > 0.1
  # Two batches of one shape (the lines evaluator's x_a, x_b) get independent noise.
  other = -x
  mean_o, log_var_o, _ = obj.posterior(state.params, other)
  noise = lambda c, m, lv: (c - m) / jnp.exp(0.5 * lv)
  assert float(jnp.max(jnp.abs(noise(codes, mean, log_var)
                               - noise(obj.encode(inference, other), mean_o, log_var_o)))) > 0.1
  # The interpolation figure decodes the samples' path, not the means'.
  as_mean = objectives.get_objective(lines_config('vae', **{'vae.encode': 'mean'}), (32, 32, 1))
  figure = lambda o: interpolation.InterpolationFigure(o, o.config, None, source)(state)[1]
  obj.config.eval.figure_pairs = as_mean.config.eval.figure_pairs = 2
  rng = np.random.default_rng(0)
  source = [{'image': rng.integers(0, 256, (32, 32, 1), np.uint8)} for _ in range(4)]
  sampled, meaned = figure(obj), figure(as_mean)
  (name,) = sampled
  np.testing.assert_array_equal(sampled[name], figure(obj)[name])
  assert np.max(np.abs(sampled[name] - meaned[name])) > 0
  with pytest.raises(ValueError, match=r"^config.vae.encode='sample' draws with the key"):
    obj.encode(state.params, x)


def test_vae_moves_encoder_and_decoder_and_decodes_to_images(vae_run):
  obj, state, data = vae_run.obj, vae_run.state, vae_run.data
  moved = changed(state.params, vae_run.new.params)
  assert moved == {'encoder': True, 'decoder': True, 'probe': True}
  params = obj.inference_params(state)
  images = obj.decode(params, obj.encode(params, data['image']))
  assert images.shape == data['image'].shape
  assert float(images.min()) >= -1.0 and float(images.max()) <= 1.0  # 2 sigmoid - 1.


def test_table4_row_is_the_authors_beta100_vae():
  """bvae_beta100.sh: their models/vae.py on BetaVAE_B(vae=True), Adam (1e-4, 0.9, 0.99)."""
  config = amr_dsprites.get_config('vae_beta100')
  assert (config.objective, config.vae.beta, config.vae.likelihood, config.vae.posterior,
          config.vae.kl_reduction, config.model.arch, config.lam, config.setting) == (
              'vae', 100.0, 'bernoulli_mean', 'std', 'mean', 'dsprites_amr', 1.0,
              'dsprites:vae_beta100')
  assert (config.optim.lr, config.optim.b1, config.optim.b2, config.optim.weight_decay,
          config.batch_size) == (1e-4, 0.9, 0.99, 0.0, 64)
  obj = objectives.get_objective(config, (64, 64, 1))
  state = jax.eval_shape(obj.init, jax.random.PRNGKey(0))
  assert state.params['encoder']['Dense_2']['kernel'].shape == (256, 20)  # 2 x code_size.
  images = jax.ShapeDtypeStruct((2, 64, 64, 1), jnp.float32)
  codes = jax.eval_shape(obj.encode, state.params, images)
  assert codes.shape == (2, 10)
  assert jax.eval_shape(obj.decode, state.params, codes).shape == (2, 64, 64, 1)
  config.vae.likelihood = 'bernoulli'  # Logits cannot come out of a tanh.
  with pytest.raises(ValueError, match=r"^config.vae.likelihood='bernoulli' does not fit "
                                       r"config.model.arch='dsprites_amr'"):
    objectives.get_objective(config, (64, 64, 1))


def test_the_authors_vae_step_hand_computed():
  """Their loss: BCE of the tanh decoder summed / batch + 100 * KL.mean() over batch and dims,
  on z = mu + head * eps with the encoder's second half as the std (models/vae.py:51-79)."""
  config = amr_dsprites.get_config('vae_beta100')
  obj = objectives.get_objective(config, (64, 64, 1))
  with jax.threefry_partitionable(False):
    state = jax.jit(obj.init)(jax.random.PRNGKey(0))
  rng = np.random.default_rng(0)
  x = jnp.asarray(2.0 * rng.integers(0, 2, (3, 64, 64, 1)) - 1.0, jnp.float32)
  data = {'image': x, 'label': jnp.zeros(3, jnp.int32)}
  _, metrics = jax.jit(obj.train_step)(state, data)
  stats = np.asarray(obj.networks['encoder'].apply({'params': state.params['encoder']}, x),
                     np.float64)
  mean, std = stats[:, :10], stats[:, 10:]
  assert (std < 0).any()  # Unconstrained: used as it comes, negative or not.
  key = jax.random.fold_in(state.rng, state.step)  # The step's key.
  z = mean + std * np.asarray(jax.random.normal(key, (3, 10)))
  y = np.asarray(obj.networks['decoder'].apply({'params': state.params['decoder']}, z),
                 np.float64)
  p, t = (y + 1) / 2, (np.asarray(x) + 1) / 2
  nll = -(t * np.log(p) + (1 - t) * np.log(1 - p)).sum() / 3
  kl = np.mean(0.5 * (mean**2 + std**2 - 1 - np.log(std**2)))
  np.testing.assert_allclose(metrics['gen/recon'], nll, rtol=1e-4)
  np.testing.assert_allclose(metrics['gen/kl'], kl, rtol=1e-4)
  np.testing.assert_allclose(metrics['gen/loss'], nll + 100.0 * kl, rtol=1e-4)


def test_vae_on_flat_codes_of_2d_points():
  """The 'mlp' family (2-D toys): a (B, 2 code_size) posterior, a Gaussian likelihood."""
  config = lines_config('vae', **{'vae.head': 'conv_split', 'vae.encode': 'mean'})
  config.model.arch, config.model.code_size, config.vae.likelihood = 'mlp', 2, 'gaussian'
  obj = objectives.get_objective(config, (2,))
  state = jax.eval_shape(obj.init, jax.random.PRNGKey(0))
  points = jax.ShapeDtypeStruct((4, 2), jnp.float32)
  assert jax.eval_shape(obj.posterior, state.params, points)[1].shape == (4, 2)
  assert jax.eval_shape(obj.encode, state.params, points).shape == (4, 2)
  _, metrics = jax.eval_shape(obj.train_step, state, {'image': points, 'label': jnp.zeros(4, int)})
  assert {'gen/loss', 'gen/recon', 'gen/kl'} <= set(metrics)


# Plain AE, dropout AE, denoising AE ------------------------------------------------------------


@pytest.fixture(scope='module')
def ae_runs(tmp_path_factory):
  return {method: Run(method, str(tmp_path_factory.mktemp(method)))
          for method in ('ae', 'dropout', 'denoising')}


def test_plain_ae_is_the_mse_of_the_reconstruction(ae_runs):
  run = ae_runs['ae']
  x, params = run.data['image'], run.state.params
  recon = np.mean((x - run.obj.decode(params, run.obj.encode(params, x)))**2)
  np.testing.assert_allclose(run.metrics['gen/recon'], recon, rtol=1e-4)
  assert changed(params, run.new.params) == {'encoder': True, 'decoder': True, 'probe': True}


def test_dropout_drops_code_elements_in_training_only(ae_runs):
  run = ae_runs['dropout']
  obj, key, metrics = run.obj, run.key, run.metrics
  x, params = run.data['image'], run.state.params
  codes = obj.encode(params, x)
  keep = jax.random.bernoulli(jax.random.split(key)[1], 0.5, codes.shape)
  assert 0 < float(keep.mean()) < 1
  dropped = jnp.where(keep, codes / 0.5, 0.0)  # Inverted dropout: the kept are scaled by 2.
  np.testing.assert_allclose(metrics['gen/recon'], np.mean((x - obj.decode(params, dropped))**2),
                             rtol=1e-4)
  clean = np.mean((x - obj.decode(params, codes))**2)
  assert abs(float(metrics['gen/recon']) - clean) > 1e-3 * clean
  # Evaluation sees the deterministic network: `encode` is the plain AE's.
  plain = ae_runs['ae'].obj
  np.testing.assert_array_equal(obj.encode(params, x), plain.encode(params, x))
  assert changed(params, run.new.params) == {'encoder': True, 'decoder': True, 'probe': True}


def test_denoising_reconstructs_the_clean_image_from_a_noisy_one(ae_runs):
  run = ae_runs['denoising']
  obj, key, metrics = run.obj, run.key, run.metrics
  x, params, data = run.data['image'], run.state.params, run.data
  noisy = x + 1.0 * jax.random.normal(jax.random.split(key)[0], x.shape)
  expected = np.mean((x - obj.decode(params, obj.encode(params, noisy)))**2)
  np.testing.assert_allclose(metrics['gen/recon'], expected, rtol=1e-4)
  # The probe reads the clean input's code, as evaluation will.
  np.testing.assert_allclose(metrics['probe/train_loss'],
                             probe_loss(obj, params, obj.encode(params, x), data['label']),
                             rtol=1e-4)


@pytest.mark.parametrize('field,value,message', [
    ('vae.likelihood', 'poisson', r"config.vae.likelihood='poisson' is not a likelihood; choose "
                                  'one of: bernoulli, bernoulli_mean, gaussian'),
    ('vae.kl_reduction', 'max', r"config.vae.kl_reduction='max' is not a reduction"),
    ('vae.posterior', 'sigma', r"^config.vae.posterior='sigma' is not a posterior head; choose "
                               'one of: log_var, std$'),
    ('vae.likelihood', 'bernoulli_mean', r"^config.vae.likelihood='bernoulli_mean' does not fit "
                                         r"config.model.arch='acai': 'bernoulli_mean' needs a "
                                         r"tanh decoder \('dsprites_amr'\)"),
    ('vae.head', 'mlp', r"^config.vae.head='mlp' must be one of: conv_split, dense$"),
    ('vae.encode', 'mode', r"^config.vae.encode='mode' must be one of: mean, sample$"),
    ('vae.beta', -1.0, r'config.vae.beta=-1.0 must be >= 0'),
    ('vae.gaussian_std', 0.0, r'config.vae.gaussian_std=0.0 must be > 0'),
    ('ae.dropout', 1.0, r'config.ae.dropout=1.0 must be in \[0, 1\)'),
    ('ae.noise', -0.1, r'config.ae.noise=-0.1 must be >= 0'),
])
def test_bad_values_name_the_field(field, value, message):
  config = lines_config('vae' if field.startswith('vae') else 'ae')
  config.update_from_flattened_dict({field: value})
  with pytest.raises(ValueError, match=message):
    objectives.get_objective(config, (32, 32, 1))


# configs/lines.py end to end ---------------------------------------------------------------------


@pytest.mark.parametrize('method', ['vae', 'ae', 'dropout', 'denoising'])
def test_lines_end_to_end(method, vae_run, ae_runs, tmp_path):
  """configs/lines.py:METHOD,local for two steps (init and step compiled above, from the cache)."""
  config = lines_config(method)
  assert config.objective == ('vae' if method == 'vae' else 'ae')
  assert config.eval.evaluators == ('probe', 'interpolation', 'lines')
  config.eval.evaluators = ('probe', 'interpolation')  # test_acai.py runs 'lines' end to end.
  summary = train.train_and_evaluate(config, str(tmp_path))
  assert np.isfinite(summary['gen/recon']) and 0.0 <= summary['probe/val_accuracy'] <= 1.0
  if method == 'vae':
    assert np.isfinite(summary['gen/kl'])
