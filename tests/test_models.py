"""Shapes and parameter counts of the 32x32 encoder, decoder and spectral-norm discriminator."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mixres.models import convnets


def count(tree) -> int:
  return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(tree))


def test_parameter_counts_match_reference():
  """REFERENCE.md section 1: 3 channels, d_h=32 -> G ~227k, D ~150k (within 2%)."""
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
