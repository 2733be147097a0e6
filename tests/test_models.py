"""Shapes and parameter counts of the 32x32 encoder, decoder and spectral-norm discriminator."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import linen as nn

from configs import base
from mixres import models
from mixres.models import convnets
from mixres.models import infogan


def count(tree) -> int:
  return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(tree))


def test_parameter_counts_match_reference():
  """docs/architectures.md#acai-style-networks: 3 channels, d_h=32: G ~227k, D ~150k (2%)."""
  x = jnp.zeros((1, 32, 32, 3))
  encoder, decoder, disc = convnets.Encoder(), convnets.Decoder(), convnets.Discriminator()
  enc = encoder.init(jax.random.key(0), x)['params']
  h = encoder.apply({'params': enc}, x)
  dec = decoder.init(jax.random.key(1), h)['params']
  d = disc.init(jax.random.key(2), x)['params']
  g_count, d_count = count(enc) + count(dec), count(d)
  print(f'G: {g_count} parameters (encoder {count(enc)}, decoder {count(dec)}); D: {d_count}')
  assert abs(g_count - 227_000) / 227_000 < 0.02
  assert abs(d_count - 150_000) / 150_000 < 0.02


@pytest.mark.parametrize('width,latent_width,latent', [(32, 4, 2), (32, 4, 16), (32, 2, 16),
                                                       (64, 4, 4)])
def test_shapes(width, latent_width, latent):
  x = jnp.ones((2, width, width, 1))
  encoder = convnets.Encoder(width=width, latent_width=latent_width, latent=latent, depth=4)
  decoder = convnets.Decoder(width=width, latent_width=latent_width, channels=1, depth=4)
  h, _ = encoder.init_with_output(jax.random.key(0), x)
  assert h.shape == (2, latent_width, latent_width, latent)
  y, _ = decoder.init_with_output(jax.random.key(0), h)
  assert y.shape == x.shape
  logits, _ = convnets.Discriminator(width=width, latent_width=latent_width, depth=4,
                                     latent=latent).init_with_output(jax.random.key(0), x)
  assert logits.shape == (2,)


def test_spectral_state_is_explicit_and_bounds_the_weights():
  """Power iteration lives in 'spectral'; it only moves when asked, and sigma -> ||W||_2."""
  disc = convnets.Discriminator(depth=4)
  x = jax.random.normal(jax.random.key(0), (4, 32, 32, 3))
  variables = disc.init(jax.random.key(1), x)
  assert set(variables) == {'params', 'spectral'}
  same = disc.apply(variables, x)  # update_stats=False: no mutation possible.
  _, updated = disc.apply(variables, x, update_stats=True, mutable=['spectral'])
  changed = jax.tree.map(lambda a, b: bool(jnp.any(a != b)), variables['spectral'],
                         updated['spectral'])
  assert any(jax.tree.leaves(changed))
  assert same.shape == (4,)
  # After many power iterations sigma equals the largest singular value of the reshaped kernel.
  state = updated
  for _ in range(50):
    _, state = disc.apply({**variables, **state}, x, update_stats=True, mutable=['spectral'])
  layer = 'SpectralNorm_2'  # The third spectrally normalised conv.
  (sigma_name,) = [k for k in state['spectral'][layer] if k.endswith('sigma')]
  conv = sigma_name.split('/')[0]
  kernel = variables['params'][conv]['kernel']
  top = np.linalg.svd(np.asarray(kernel).reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
  np.testing.assert_allclose(state['spectral'][layer][sigma_name], top, rtol=1e-3)


@pytest.mark.parametrize('width,latent_width', [(32, 3), (30, 4), (32, 32), (32, 0)])
def test_sizes_the_architecture_cannot_take(width, latent_width):
  with pytest.raises(ValueError, match=r'config.data.image_size=.*config.model.latent_width'):
    convnets.num_scales(width, latent_width)


def _reference_nets(depth=16, width=32, channels=3):
  kwargs = dict(init_scheme='reference', depth=depth, width=width)
  return (convnets.Encoder(entry_padding=1, **kwargs),
          convnets.Decoder(channels=channels, **kwargs),
          convnets.Discriminator(entry_padding=1, **kwargs))


def test_reference_entry_padding_frames_the_image_and_keeps_the_parameter_counts():
  """docs/faithfulness.md#a8: padding=1 on the 1x1 entry conv, 34 -> 17 -> 8 -> 4;
  G 226,917 / D 150,178."""
  x = jnp.zeros((2, 32, 32, 3))
  encoder, decoder, disc = _reference_nets()
  enc_vars = encoder.init(jax.random.key(0), x)
  _, inter = encoder.apply(enc_vars, x, capture_intermediates=True)
  sides = {leaf.shape[1] for leaf in jax.tree.leaves(inter['intermediates']) if leaf.ndim == 4}
  assert sorted(sides, reverse=True) == [34, 17, 8, 4]
  h = encoder.apply(enc_vars, x)
  assert h.shape == (2, 4, 4, 2)
  dec_vars = decoder.init(jax.random.key(1), h)
  assert decoder.apply(dec_vars, h).shape == x.shape
  d_vars = disc.init(jax.random.key(2), x)
  assert disc.apply(d_vars, x).shape == (2,)
  assert count(enc_vars['params']) + count(dec_vars['params']) == 226_917
  assert count(d_vars['params']) == 150_178
  # The frame is bias only: the entry conv's output on the border does not depend on the image.
  entry = lambda v, img: nn.Conv(16, (1, 1), padding=((1, 1), (1, 1))).apply(
      {'params': v['params']['Conv_0']}, img)
  a, b = entry(enc_vars, x), entry(enc_vars, jnp.ones_like(x))
  np.testing.assert_array_equal(a[:, 0], b[:, 0])
  assert not np.allclose(a[:, 1:-1, 1:-1], b[:, 1:-1, 1:-1])


def test_flax_default_has_no_frame():
  x = jnp.zeros((1, 32, 32, 1))
  encoder = convnets.Encoder()
  _, inter = encoder.init_with_output(jax.random.key(0), x, capture_intermediates=True)
  assert inter['intermediates']['Conv_0']['__call__'][0].shape[1] == 32


def _kernels(tree, path=()):
  """(path, kernel or scale) leaves of a params tree."""
  for key, value in tree.items():
    if isinstance(value, dict):
      yield from _kernels(value, path + (key,))
    else:
      yield path + (key,), np.asarray(value)


def test_reference_init_statistics():
  """docs/faithfulness.md#a7: conv std 1/sqrt(1.04 C_out C_in k), instance-norm scale
  ~ N(0, 0.98^2), zero biases; D's spectral-norm convs torch's U(+-1/sqrt(fan_in)) for weight
  and bias; D's entry conv the reference formula. Flax's defaults (lecun_normal: std
  1/sqrt(k k C_in); scale 1; D's kernels stored normalised, zero biases) fail it."""
  x = jnp.zeros((1, 32, 32, 3))
  encoder, decoder, disc = _reference_nets(depth=64)
  params = {'enc': encoder.init(jax.random.key(0), x)['params']}
  params['dec'] = decoder.init(jax.random.key(1), encoder.apply({'params': params['enc']}, x)
                               )['params']
  d_vars = disc.init(jax.random.key(2), x)
  # flax's SpectralNorm stores W / sigma at init; Objective.init redraws the raw torch kernel.
  config = base.get_config()
  config.model.init = 'reference'
  d_params = models.redraw_spectral_kernels(config, jax.random.key(3), d_vars['params'],
                                            d_vars['spectral'])
  scales = []
  for path, leaf in _kernels(params):
    if path[-1] == 'kernel':
      k, _, c_in, c_out = leaf.shape
      expected = 1 / np.sqrt(1.04 * c_out * c_in * k)
      if leaf.size > 5000:  # Enough draws for a 5% check of the std.
        assert abs(leaf.std() / expected - 1) < 0.05, (path, leaf.std(), expected)
    elif path[-1] == 'bias':
      assert not leaf.any(), path
    elif path[-1] == 'scale':
      scales.append(leaf)
  scales = np.concatenate(scales)
  assert scales.size > 1000 and (scales < 0).mean() > 0.4  # Centred at 0, not at 1.
  assert abs(scales.std() - 1 / np.sqrt(1.04)) < 0.05
  entry = d_params['Conv_0']['kernel']
  np.testing.assert_allclose(entry.std(), 1 / np.sqrt(1.04 * 64 * 3), rtol=0.15)
  assert not np.asarray(d_params['Conv_0']['bias']).any()
  spectral_convs = [name for name in d_params if name != 'Conv_0']
  assert len(spectral_convs) == 8
  for name in spectral_convs:
    kernel, bias = np.asarray(d_params[name]['kernel']), np.asarray(d_params[name]['bias'])
    bound = 1 / np.sqrt(9 * kernel.shape[2])  # fan_in = C_in * 3 * 3.
    for leaf in (kernel, bias):
      assert np.abs(leaf).max() <= bound + 1e-7, name
      if leaf.size > 5000:  # U(-b, b) has std b / sqrt(3).
        assert abs(leaf.std() * np.sqrt(3) / bound - 1) < 0.05, name
    assert np.abs(bias).max() > bound / 4, name  # Not zeroed like the generator's.


def test_objective_init_gives_d_the_raw_torch_kernels():
  """Through Objective.init: 'reference' D kernels are U(+-1/sqrt(fan_in)), not W / sigma; the
  probe torch's nn.Linear default."""
  from mixres import objectives
  stds = {}
  for scheme in ('flax', 'reference'):
    config = base.get_config()
    config.model.init = scheme
    params = objectives.get_objective(config, (32, 32, 3)).init(jax.random.key(0)).params
    kernel = np.asarray(params['disc']['Conv_4']['kernel'])  # (3, 3, 32, 32), fan_in 288.
    stds[scheme] = kernel.std()
    probe = params['probe']['Dense_0']  # 32 inputs: bound 1/sqrt(32) for weight and bias.
    if scheme == 'reference':
      for leaf in (probe['kernel'], probe['bias']):
        assert np.abs(leaf).max() <= 32**-0.5 and np.abs(leaf).max() > 0.5 * 32**-0.5
    else:
      assert not np.asarray(probe['bias']).any()
  np.testing.assert_allclose(stds['reference'], 1 / np.sqrt(288) / np.sqrt(3), rtol=0.05)
  assert abs(stds['flax'] / stds['reference'] - 1) > 0.1


def test_infogan_batchnorm_uses_running_averages_in_evaluation_and_moves_them_in_training():
  """The report's BatchNorm2d (Table 2) after the encoder's second conv: train=False is
  (u - mean) / sqrt(var + 1e-5) * scale + bias with the stored averages; train=True normalises by
  the batch and moves the averages with torch's momentum 0.1 (flax's 0.9), biased variance."""
  encoder = infogan.Encoder(image_size=8, code_size=3, depth=2, norm='batch')
  x = jax.random.normal(jax.random.key(0), (5, 8, 8, 1)) + 3.0  # Far from the stored stats.
  variables = encoder.init(jax.random.key(1), x)
  stored = {'mean': jnp.linspace(-1.0, 1.0, 4), 'var': jnp.linspace(0.5, 2.0, 4)}
  scale, bias = jnp.linspace(0.5, 1.5, 4), jnp.linspace(-0.2, 0.2, 4)
  params = {**variables['params'], 'BatchNorm_0': {'scale': scale, 'bias': bias}}
  variables = {'params': params, 'batch_stats': {'BatchNorm_0': stored}}
  _, inter = encoder.apply(variables, x, capture_intermediates=True, mutable=['intermediates'])
  inter = inter['intermediates']
  u = np.asarray(nn.leaky_relu(inter['Conv_1']['__call__'][0], 0.01), np.float64)  # BN input.
  by_hand = ((u - np.asarray(stored['mean'])) / np.sqrt(np.asarray(stored['var']) + 1e-5)
             * np.asarray(scale) + np.asarray(bias))
  np.testing.assert_allclose(inter['BatchNorm_0']['__call__'][0], by_hand, rtol=1e-5, atol=1e-5)
  out_train, updated = encoder.apply(variables, x, train=True, mutable=['batch_stats'])
  mean, var = u.mean((0, 1, 2)), u.var((0, 1, 2))
  np.testing.assert_allclose(updated['batch_stats']['BatchNorm_0']['mean'],
                             0.9 * np.asarray(stored['mean']) + 0.1 * mean, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(updated['batch_stats']['BatchNorm_0']['var'],
                             0.9 * np.asarray(stored['var']) + 0.1 * var, rtol=1e-5, atol=1e-6)
  out_eval = encoder.apply(variables, x)
  assert float(jnp.max(jnp.abs(out_train - out_eval))) > 1e-2
  # The decoder's three: BatchNorm1d after each dense layer, BatchNorm2d after the deconv.
  decoder = infogan.Decoder(image_size=8, depth=2, norm='batch')
  stats = decoder.init(jax.random.key(2), jnp.zeros((1, 3)))['batch_stats']
  assert {k: v['mean'].shape for k, v in stats.items()} == {
      'BatchNorm_0': (2 * 2 * 2,), 'BatchNorm_1': (2 * 2 * 2 * 2,), 'BatchNorm_2': (2,)}
