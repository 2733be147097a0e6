"""The 64x64 beta-VAE-style networks: shapes, parameter counts, spectral state, selection by
config.model.arch, and one AMR step on flat codes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import base
from mixres import models
from mixres import objectives
from mixres.models import betavae
from mixres.models import convnets

IMAGE_SHAPE = (64, 64, 1)


def count(tree) -> int:
  return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(tree))


def betavae_config(objective: str = 'amr', **overrides):
  config = base.get_config()
  config.objective = objective
  config.model.arch = 'betavae'
  config.data.image_size = 64
  config.update(overrides)
  return config


def abstract_init(module, x):
  """(output, variables) as shapes only: no convolution runs, so counting is instant."""
  return jax.eval_shape(module.init_with_output, jax.random.key(0), x)


def conv(k: int, c_in: int, c_out: int) -> int:
  return k * k * c_in * c_out + c_out  # Kernel + bias.


def dense(d_in: int, d_out: int) -> int:
  return d_in * d_out + d_out


@pytest.fixture(scope='module')
def amr():
  """(objective, fresh state, batch): AMR at 64x64, lam = 1, no weight decay (Table 4).

  One state serves every mixer (mixers have no parameters). Compiling the initialisers is most
  of this file's cold time: XLA:CPU takes 0.5-1 s per rank-4 kernel shape with the default
  partitionable threefry and about a quarter of that with the flat one, which changes only the
  random values.
  """
  config = betavae_config(lam=1.0)
  config.optim.weight_decay = 0.0
  obj = objectives.get_objective(config, IMAGE_SHAPE)
  with jax.threefry_partitionable(False):
    state = jax.jit(obj.init)(jax.random.key(0))
  rng = np.random.default_rng(0)
  data = {'image': jnp.asarray(rng.uniform(-1, 1, (4, *IMAGE_SHAPE)), jnp.float32),
          'label': jnp.asarray(rng.integers(0, 10, 4), jnp.int32)}
  return obj, state, data


def test_shapes_and_parameter_counts():
  """Encoder (B, 10), decoder (B, 64, 64, 1), D (B,); counts by hand for 1 channel, z = 10."""
  x = jax.ShapeDtypeStruct((3, *IMAGE_SHAPE), jnp.float32)
  h, enc = abstract_init(betavae.Encoder(code_size=10), x)
  y, dec = abstract_init(betavae.Decoder(channels=1), h)
  logits, disc = abstract_init(betavae.Discriminator(), x)
  assert (h.shape, y.shape, logits.shape) == ((3, 10), (3, 64, 64, 1), (3,))

  # Convs 1->32->32->64->64 (4x4), then 4*4*64 = 1024 -> 256 -> 10.
  trunk = conv(4, 1, 32) + conv(4, 32, 32) + conv(4, 32, 64) + conv(4, 64, 64)  # 115,392
  assert trunk == 544 + 16_416 + 32_832 + 65_600
  encoder = trunk + dense(1024, 256) + dense(256, 10)  # 115,392 + 262,400 + 2,570
  # 10 -> 256 -> 1024, reshape (4, 4, 64), transposed convs 64->64->32->32->1 (4x4):
  # 2,816 + 263,168 + 65,600 + 32,800 + 16,416 + 513.
  decoder = (dense(10, 256) + dense(256, 1024) + conv(4, 64, 64) + conv(4, 64, 32)
             + conv(4, 32, 32) + conv(4, 32, 1))
  discriminator = trunk + dense(1024, 256) + dense(256, 1)  # The encoder with a 1-logit head.
  assert (encoder, decoder, discriminator) == (380_362, 381_313, 378_049)
  assert count(enc['params']) == encoder
  assert count(dec['params']) == decoder
  assert count(disc['params']) == discriminator
  assert encoder + decoder == 761_675  # G


def test_other_sizes_and_the_sizes_it_cannot_take():
  """Any multiple of 16 works (the four stride-2 stages); others fail naming the field."""
  x = jax.ShapeDtypeStruct((2, 32, 32, 3), jnp.float32)
  h, _ = abstract_init(betavae.Encoder(image_size=32, code_size=6), x)
  y, _ = abstract_init(betavae.Decoder(image_size=32, channels=3), h)
  assert (h.shape, y.shape) == ((2, 6), (2, 32, 32, 3))
  for size in (8, 24, 65):
    with pytest.raises(ValueError, match=rf"config.data.image_size={size} does not fit "
                                         r"config.model.arch='betavae'.*multiple of 16"):
      objectives.get_objective(betavae_config(), (size, size, 1))


def test_spectral_state_exists_and_moves_only_when_asked(amr):
  obj, state, data = amr
  disc = obj.networks['disc']
  variables = {'params': state.params['disc'], **state.collections['disc']}
  assert set(variables) == {'params', 'spectral'}
  # Every conv and dense layer is normalised: 4 convs + 2 dense.
  assert len(variables['spectral']) == 6
  # One compiled call for both: the step's read-only use and its power-iteration update.
  (logits, same), (_, updated) = jax.jit(lambda v: [
      disc.apply(v, data['image'], update_stats=update, mutable=['spectral'])
      for update in (False, True)])(variables)
  assert logits.shape == (4,)
  moved = lambda a, b: any(jax.tree.leaves(jax.tree.map(lambda u, v: bool(jnp.any(u != v)), a, b)))
  assert not moved(variables['spectral'], same['spectral'])
  assert moved(variables['spectral'], updated['spectral'])


def test_arch_selects_the_family_and_unknown_names_fail():
  config = betavae_config()
  encoder, decoder = models.build_autoencoder(config, IMAGE_SHAPE)
  assert isinstance(encoder, betavae.Encoder) and isinstance(decoder, betavae.Decoder)
  assert isinstance(models.build_discriminator(config, IMAGE_SHAPE), betavae.Discriminator)
  config.model.arch = 'acai'
  assert isinstance(models.build_discriminator(config, (32, 32, 3)), convnets.Discriminator)
  config.model.arch = 'resnet'
  with pytest.raises(ValueError, match=r"^config.model.arch='resnet' is not an architecture; "
                                       r'choose one of: acai, betavae, dsprites_amr, infogan, '
                                       r'mlp$'):
    objectives.get_objective(config, IMAGE_SHAPE)
  config.model.arch, config.model.code_size = 'betavae', 0
  with pytest.raises(ValueError, match=r'config.model.code_size=0 must be an integer >= 1'):
    objectives.get_objective(config, IMAGE_SHAPE)


def test_bernoulli_mixes_flat_codes_per_dimension():
  """On (B, 10) codes each dimension comes whole from one source, and rows do mix sources."""
  obj = objectives.get_objective(betavae_config(mixer='bernoulli'), IMAGE_SHAPE)
  batch_size = 16
  # Example b's code is b + d / 100 in dimension d: the integer part names the source example.
  codes = jnp.arange(batch_size)[:, None] + jnp.arange(10)[None, :] / 100.0  # (16, 10)
  mixed = jax.jit(obj.mix, static_argnames='k')(jax.random.key(3), codes, k=2)
  source = np.floor(np.asarray(mixed) + 1e-4).astype(int)  # (16, 10)
  np.testing.assert_allclose(np.asarray(mixed) - source, np.asarray(codes) % 1, atol=1e-5)
  # k=2: every row takes its dimensions from itself and one partner, and some rows use both.
  assert all(len(set(row) - {b}) <= 1 for b, row in enumerate(source))
  assert sum(len(set(row)) == 2 for row in source) >= batch_size // 4


@pytest.mark.parametrize('mixer', ['mixup', 'bernoulli'])
def test_one_amr_step_on_64x64(amr, mixer):
  _, state, data = amr
  config = betavae_config(mixer=mixer, k=2, lam=1.0)
  config.optim.weight_decay = 0.0
  obj = objectives.get_objective(config, IMAGE_SHAPE)
  step = jax.jit(obj.train_step, static_argnames=('update_generator',))
  new, metrics = step(state, data, update_generator=True)
  assert {'gen/loss', 'gen/recon', 'disc/loss', 'probe/train_loss'} <= set(metrics)
  for name, value in metrics.items():
    assert np.isfinite(value), name
  assert new.params['encoder']['Dense_1']['kernel'].shape == (256, 10)  # (B, 10) codes.
