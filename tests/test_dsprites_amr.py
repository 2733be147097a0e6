"""The AMR authors' dSprites networks ('dsprites_amr'): shapes, parameter counts of the torch
modules, the tanh output, their initialisation, and one AMR step under config.recon='bce_sum'."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import base
from mixres import models
from mixres import objectives
from mixres.models import betavae
from mixres.models import dsprites_amr
from mixres.objectives import losses

IMAGE_SHAPE = (64, 64, 1)


def count(tree) -> int:
  return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(tree))


def conv(k: int, c_in: int, c_out: int) -> int:
  return k * k * c_in * c_out + c_out  # Kernel + bias (Conv2d and ConvTranspose2d alike).


def dense(d_in: int, d_out: int) -> int:
  return d_in * d_out + d_out


def dsprites_config(objective: str = 'amr', **overrides):
  config = base.get_config()
  config.objective = objective
  config.model.arch = 'dsprites_amr'
  config.data.image_size = 64
  config.recon = 'bce_sum'
  config.lam = 1.0
  config.optim.weight_decay = 0.0
  config.update(overrides)
  return config


def abstract_init(module, x):
  """(output, variables) as shapes only: no convolution runs, so counting is instant."""
  return jax.eval_shape(module.init_with_output, jax.random.key(0), x)


def test_shapes_and_the_torch_modules_parameter_counts():
  """konny/model.py's BetaVAE_B(nc=1, vae=False) and Discriminator(nc=1, ndf), by hand."""
  x = jax.ShapeDtypeStruct((3, *IMAGE_SHAPE), jnp.float32)
  h, enc = abstract_init(dsprites_amr.Encoder(code_size=10), x)
  y, dec = abstract_init(dsprites_amr.Decoder(channels=1), h)
  logits, disc = abstract_init(dsprites_amr.Discriminator(channels=32), x)
  _, wide_disc = abstract_init(dsprites_amr.Discriminator(channels=64), x)
  assert (h.shape, y.shape, logits.shape) == ((3, 10), (3, 64, 64, 1), (3,))

  # Encoder (model.py:82-95): convs 1->32->32->32->32 (4x4), 4*4*32 = 512 -> 256 -> 256 -> 10.
  trunk = conv(4, 1, 32) + 3 * conv(4, 32, 32)  # 544 + 3 x 16,416
  encoder = trunk + dense(512, 256) + dense(256, 256) + dense(256, 10)
  # Decoder (model.py:99-112): 10 -> 256 -> 256 -> 512, transposed convs 32->32->32->32->1.
  decoder = (dense(10, 256) + dense(256, 256) + dense(256, 512) + 3 * conv(4, 32, 32)
             + conv(4, 32, 1))
  # D (model.py:162-175): SN convs 1->ndf->ndf->ndf->ndf, ndf*16 -> 256 -> 256 -> 1.
  disc_of = lambda ndf: (conv(4, 1, ndf) + 3 * conv(4, ndf, ndf) + dense(16 * ndf, 256)
                         + dense(256, 256) + dense(256, 1))
  assert (encoder, decoder) == (249_482, 249_953) and encoder + decoder == 499_435
  assert (disc_of(32), disc_of(64)) == (247_169, 526_337)
  assert count(enc['params']) == encoder
  assert count(dec['params']) == decoder
  assert count(disc['params']) == disc_of(32)
  assert count(wide_disc['params']) == disc_of(64)
  # Every D layer is spectrally normalised: 4 convs + 3 dense.
  assert len(disc['spectral']) == 7


def test_decoder_ends_in_tanh_and_the_init_is_theirs():
  """Images within [-1, 1] even for huge codes; He-normal convs/dense, torch-uniform deconvs."""
  decoder = dsprites_amr.Decoder(channels=1)
  codes = 1e4 * jax.random.normal(jax.random.key(1), (4, 10))
  with jax.threefry_partitionable(False):
    variables = decoder.init(jax.random.key(0), codes)
  images = decoder.apply(variables, codes)
  assert images.shape == (4, 64, 64, 1)
  assert float(jnp.min(images)) >= -1.0 and float(jnp.max(images)) <= 1.0
  assert float(jnp.max(jnp.abs(images))) > 0.99  # Saturated: the tanh, not a clip, bounds it.
  params = variables['params']
  # He normal: std sqrt(2 / fan_in), untruncated (values past 2 std exist), zero bias.
  kernel = np.asarray(params['Dense_1']['kernel'])  # 256 -> 256
  assert abs(kernel.std() / math.sqrt(2 / 256) - 1) < 0.02
  assert np.abs(kernel).max() > 2.5 * math.sqrt(2 / 256)
  assert not np.any(np.asarray(params['Dense_1']['bias']))
  # torch's ConvTranspose2d default: U(+-1/sqrt(C_out * 16)) on kernel and bias.
  last = params['ConvTranspose_3']  # 32 -> 1 channel: bound 1/4.
  for leaf in (last['kernel'], last['bias']):
    assert float(jnp.max(jnp.abs(leaf))) <= 0.25
  assert float(jnp.max(jnp.abs(last['kernel']))) > 0.2


def test_arch_selects_the_family_and_bad_values_fail():
  config = dsprites_config()
  encoder, decoder = models.build_autoencoder(config, IMAGE_SHAPE)
  assert isinstance(encoder, dsprites_amr.Encoder) and isinstance(decoder, dsprites_amr.Decoder)
  disc = models.build_discriminator(config, IMAGE_SHAPE)
  assert isinstance(disc, dsprites_amr.Discriminator) and disc.channels == 32
  assert models.tanh_output(config)
  config.model.arch = 'betavae'  # Unchanged, still selectable, and not a tanh decoder.
  assert isinstance(models.build_discriminator(config, IMAGE_SHAPE), betavae.Discriminator)
  assert not models.tanh_output(config)
  with pytest.raises(ValueError, match=r"^config.recon='bce_sum' reads the decoder's images as "
                                       r"probabilities: it needs a tanh decoder, "
                                       r"config.model.arch='dsprites_amr', not "
                                       r"config.model.arch='betavae'$"):
    objectives.get_objective(config, IMAGE_SHAPE)
  config = dsprites_config()
  config.model.disc_channels = 0
  with pytest.raises(ValueError, match=r'^config.model.disc_channels=0 must be an integer >= 1$'):
    objectives.get_objective(config, IMAGE_SHAPE)
  with pytest.raises(ValueError, match=r"config.data.image_size=40 does not fit "
                                       r"config.model.arch='dsprites_amr'.*multiple of 16"):
    objectives.get_objective(dsprites_config(), (40, 40, 1))
  with pytest.raises(ValueError, match=r"^config.beta=1.0 needs config.recon='l1' or 'l2'"):
    objectives.get_objective(dsprites_config(beta=1.0), IMAGE_SHAPE)


def test_one_amr_step_pays_the_summed_bce():
  """gen/recon = sum over pixels of BCE((x_hat+1)/2 vs (x+1)/2) / batch, recomputed here."""
  config = dsprites_config(mixer='mixup', k=2)
  obj = objectives.get_objective(config, IMAGE_SHAPE)
  with jax.threefry_partitionable(False):
    state = jax.jit(obj.init)(jax.random.key(0))
  rng = np.random.default_rng(0)
  x = jnp.asarray(2.0 * rng.integers(0, 2, (4, *IMAGE_SHAPE)) - 1.0, jnp.float32)  # Binary.
  data = {'image': x, 'label': jnp.asarray(rng.integers(0, 3, 4), jnp.int32)}
  step = jax.jit(obj.train_step, static_argnames=('update_generator',))
  new, metrics = step(state, data, update_generator=True)
  for name, value in metrics.items():
    assert np.isfinite(value), name
  x_hat = np.asarray(obj.decode(state.params, obj.encode(state.params, x)), np.float64)
  p, t = (x_hat + 1) / 2, (np.asarray(x, np.float64) + 1) / 2
  expected = -(t * np.log(p) + (1 - t) * np.log(1 - p)).sum() / 4
  np.testing.assert_allclose(metrics['gen/recon'], expected, rtol=1e-4)
  assert expected > 64 * 64 * 0.5  # Summed, not averaged: about log 2 a pixel at init.
  np.testing.assert_allclose(float(losses.reconstruction(x, x_hat, 'bce_sum')), expected,
                             rtol=1e-5)
  assert new.params['encoder']['Dense_2']['kernel'].shape == (256, 10)  # (B, 10) codes.


def test_discriminator_kernels_start_he_normal_not_normalised():
  """Their kaiming_init writes D's raw weights, which torch's spectral_norm divides on the fly;
  flax's SpectralNorm would store W / sigma (Conv_1 std ~0.042 instead of He's 0.0625)."""
  objective = objectives.get_objective(dsprites_config(), (64, 64, 1))
  params = objective.init(jax.random.key(0)).params['disc']
  for name, fan_in in (('Conv_1', 4 * 4 * 32), ('Conv_2', 4 * 4 * 32), ('Dense_0', 512),
                       ('Dense_1', 256)):
    kernel = np.asarray(params[name]['kernel'])
    assert abs(kernel.std() / math.sqrt(2 / fan_in) - 1) < 0.05, (name, kernel.std())
