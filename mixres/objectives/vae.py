"""VAE and beta-VAE (Kingma & Welling 2014; Higgins et al. 2017): minimise the negative ELBO.

The encoder emits the posterior's mean and a scale head (twice the code: channels for the 32x32
'acai' family, code_size for the flat ones), a reparameterised sample z = mu + sigma eps is decoded,
and the loss per image is

  -log p(x | z) + beta * KL(q(z | x) || N(0, I)),   KL = 1/2 sum(mu^2 + sigma^2 - 1 - log sigma^2)

averaged over the batch. `config.vae.posterior`: the second half is log sigma^2 ('log_var') or
sigma itself ('std': the AMR authors' models/vae.py:51-52, unconstrained, so it may be negative;
only sigma^2 enters the KL, and no floor keeps log sigma^2 finite, as in theirs).
`config.vae.likelihood`: 'bernoulli' (decoder logits against (x+1)/2, for binary images; the ACAI
code's lines VAE and the usual dSprites beta-VAE), 'bernoulli_mean' (a tanh decoder's image is the
mean, mapped (y+1)/2 and scored by torch's clamped BCE against (x+1)/2: the AMR authors' dSprites
VAE, models/vae.py:21-22) or 'gaussian' (decoder mean in [-1, 1], fixed std `gaussian_std`). The
NLL sums over pixels; the KL sums over code dimensions (`kl_reduction='mean'` averages them
instead, as the AMR authors' beta-VAE did, models/vae.py:75). `decode` gives images in [-1, 1].

`config.vae.head` says where the posterior comes from: 'conv_split' halves an encoder of twice
the width (for the 'acai' family, the last 3x3 conv's channels); 'dense' is ACAI's lines VAE
(its vae.py:51-56): the plain encoder's output is flattened (16x2x2 = 64 on lines) and two dense
layers of that width give mu and log sigma^2, reshaped to the code's shape, and the probe reads
the features before them (vae.py:77-78; 'conv_split' has none before the split: the mean).
`config.vae.encode` says what `encode` gives the evaluators (interpolations, lines, clustering,
the disentanglement metric): 'mean', or 'sample', a draw from q(z | x) as ACAI's `ops.encode`
(vae.py:59-60, 90; lib/train.py:220 interpolates it). A sample's key comes from
`inference_params(state)`, so an evaluation of one state always draws the same sample.
"""

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from mixres import config_checks as cc
from mixres import models
from mixres.objectives import base
from mixres.objectives import losses
from mixres.objectives import two_player

LIKELIHOODS = ('bernoulli', 'bernoulli_mean', 'gaussian')
KL_REDUCTIONS = ('sum', 'mean')
POSTERIORS = ('log_var', 'std')
HEADS = ('conv_split', 'dense')
ENCODES = ('mean', 'sample')
SAMPLE_KEY = 'vae_sample_key'  # inference_params' entry holding the key of encode's draws.


def gaussian_kl(mean: jax.Array, log_var: jax.Array, reduction: str = 'sum') -> jax.Array:
  """KL(N(mean, exp(log_var)) || N(0, I)) per example, over every axis but the batch: (B,)."""
  per_dim = 0.5 * (jnp.square(mean) + jnp.exp(log_var) - 1.0 - log_var)
  per_dim = per_dim.reshape(per_dim.shape[0], -1)
  return jnp.sum(per_dim, -1) if reduction == 'sum' else jnp.mean(per_dim, -1)


def log_variance(scale: jax.Array, posterior: str) -> jax.Array:
  """log sigma^2 from the encoder's scale head: itself ('log_var') or log(head^2) ('std')."""
  return scale if posterior == 'log_var' else jnp.log(jnp.square(scale))


def standard_deviation(scale: jax.Array, posterior: str) -> jax.Array:
  """The sigma that multiplies eps: exp(head / 2) ('log_var'), or the head as it is ('std').

  A negative 'std' head samples the same distribution (eps is symmetric); the authors' torch
  Normal(mu, head).rsample() computes mu + eps * head with it unchanged, and so do we.
  """
  return jnp.exp(0.5 * scale) if posterior == 'log_var' else scale


def negative_log_likelihood(x: jax.Array, output: jax.Array, likelihood: str,
                            gaussian_std: float = 1.0) -> jax.Array:
  """-log p(x | z) per example, summed over pixels: (B,). x in [-1, 1]; output = decoder's."""
  if likelihood == 'bernoulli':  # output: logits of p(pixel on), target (x + 1) / 2.
    per_pixel = optax.sigmoid_binary_cross_entropy(output, (x + 1.0) / 2.0)
  elif likelihood == 'bernoulli_mean':  # output: 2 p - 1 (tanh), scored as torch's BCELoss.
    per_pixel = losses.clamped_bce((output + 1.0) / 2.0, (x + 1.0) / 2.0)
  else:  # output: the mean, in pixel units.
    per_pixel = (0.5 * jnp.square((x - output) / gaussian_std)
                 + math.log(gaussian_std) + 0.5 * math.log(2.0 * math.pi))
  return jnp.sum(per_pixel.reshape(per_pixel.shape[0], -1), -1)


class DensePosterior(nn.Module):
  """An encoder, then two dense layers on its flattened code: (mean, scale head) concatenated
  on the last axis, each shaped like the code (ACAI vae.py:51-56). With `with_features` also
  the encoder's own output, which the probe reads (vae.py:78)."""
  encoder: nn.Module

  @nn.compact
  def __call__(self, x: jax.Array, with_features: bool = False):
    features = self.encoder(x)
    flat = features.reshape(features.shape[0], -1)
    # tf.layers.dense's defaults, as ACAI's: Glorot-uniform kernel, zero bias.
    dense = lambda name: nn.Dense(flat.shape[-1], kernel_init=nn.initializers.xavier_uniform(),
                                  name=name)
    mean = dense('mean')(flat).reshape(features.shape)
    scale = dense('scale')(flat).reshape(features.shape)
    stats = jnp.concatenate([mean, scale], axis=-1)
    return (stats, features) if with_features else stats


def content_seed(images: jax.Array) -> jax.Array:
  """A uint32 hash of a batch's values and their positions, to fold into a key.

  The lines evaluator encodes x_a and x_b in two calls of one shape; one key for both would
  give their samples the same noise. Each value's bits (xor its index, times the golden ratio)
  go through murmur3's 32-bit finaliser before the sum, so that no two-bit change cancels out
  (a plain sum of bits maps x and -x, an even number of sign flips, to one seed).
  """
  h = jax.lax.bitcast_convert_type(images.astype(jnp.float32), jnp.uint32).reshape(-1)
  h = h ^ (jnp.arange(h.size, dtype=jnp.uint32) * jnp.uint32(0x9E3779B9))
  for shift, factor in ((16, 0x85EBCA6B), (13, 0xC2B2AE35)):
    h = (h ^ (h >> shift)) * jnp.uint32(factor)
  return jnp.sum(h ^ (h >> 16), dtype=jnp.uint32)


class VAE(base.Objective):
  """Encoder -> (mean, scale head); decoder on a reparameterised sample; -ELBO with beta."""

  def __init__(self, config, image_shape):
    cfg = config.vae
    cc.check_choice(config, 'vae.likelihood', LIKELIHOODS, what='a likelihood')
    cc.check_choice(config, 'vae.posterior', POSTERIORS, what='a posterior head')
    if (cfg.likelihood == 'bernoulli_mean') != models.tanh_output(config) and (
        cfg.likelihood != 'gaussian'):
      raise ValueError(
          f'config.vae.likelihood={cfg.likelihood!r} does not fit config.model.arch='
          f"{config.model.arch!r}: 'bernoulli_mean' needs a tanh decoder ('dsprites_amr'), "
          "'bernoulli' a decoder of logits (any other)")
    cc.check_choice(config, 'vae.kl_reduction', KL_REDUCTIONS, what='a reduction')
    cc.check_choice(config, 'vae.head', HEADS)
    cc.check_choice(config, 'vae.encode', ENCODES)
    cc.check_nonnegative(config, 'vae.beta', why='the KL weight')
    cc.check_positive(config, 'vae.gaussian_std')
    super().__init__(config, image_shape)

  def build_networks(self):
    if self.config.vae.head == 'dense':
      encoder, decoder = models.build_autoencoder(self.config, self.image_shape)
      return {'encoder': DensePosterior(encoder), 'decoder': decoder}
    # The encoder of the same family with a code twice as wide: mean and scale-head halves.
    # Each family reads one of the two widths (channels for 'acai', code_size for flat codes).
    wide = self.config.copy_and_resolve_references()
    wide.model.latent = 2 * wide.model.latent
    wide.model.code_size = 2 * wide.model.code_size
    encoder, _ = models.build_autoencoder(wide, self.image_shape)
    _, decoder = models.build_autoencoder(self.config, self.image_shape)
    return {'encoder': encoder, 'decoder': decoder}

  def example_inputs(self):
    inputs = super().example_inputs()
    stats = inputs['decoder']  # Shaped like the encoder's output: (1, ..., 2 * code).
    inputs['decoder'] = jnp.zeros(stats.shape[:-1] + (stats.shape[-1] // 2,), stats.dtype)
    if 'probe' in inputs:
      inputs['probe'] = inputs['decoder']
    return inputs

  def posterior(self, params, images):
    """(mean, scale head, the probe's input) of q(z | x), each shaped like a code."""
    variables = {'params': params['encoder']}
    if self.config.vae.head == 'dense':
      stats, features = self.networks['encoder'].apply(variables, images, with_features=True)
    else:
      stats, features = self.networks['encoder'].apply(variables, images), None
    mean, scale = jnp.split(stats, 2, axis=-1)
    return mean, scale, mean if features is None else features

  def decoder_output(self, params, codes):
    """Logits ('bernoulli') or the mean ('gaussian') of p(x | z)."""
    return self.networks['decoder'].apply({'params': params['decoder']}, codes)

  def inference_params(self, state):
    params = super().inference_params(state)
    if self.config.vae.encode == 'mean':
      return params
    # A stream of its own (1), so that no train step's key is reused.
    key = jax.random.fold_in(jax.random.fold_in(state.rng, state.step), 1)
    return {**params, SAMPLE_KEY: key}

  def encode(self, params, images):
    mean, scale, _ = self.posterior(params, images)
    if self.config.vae.encode == 'mean':
      return mean
    if SAMPLE_KEY not in params:
      raise ValueError("config.vae.encode='sample' draws with the key of inference_params(state)"
                       ': pass that, not state.params')
    key = jax.random.fold_in(params[SAMPLE_KEY], content_seed(images))
    eps = jax.random.normal(key, mean.shape, mean.dtype)
    return mean + standard_deviation(scale, self.config.vae.posterior) * eps

  def probe_inputs(self, params, images):
    return self.posterior(params, images)[2]

  def decode(self, params, codes):
    output = self.decoder_output(params, codes)
    if self.config.vae.likelihood == 'bernoulli':
      return 2.0 * jax.nn.sigmoid(output) - 1.0  # The mean of p(x | z), back in [-1, 1].
    return output  # 'bernoulli_mean' (tanh) and 'gaussian' output the mean in [-1, 1].

  def generator_loss(self, params, state, batch, key):
    x, cfg = batch['image'], self.config.vae
    mean, scale, probe_inputs = self.posterior(params, x)
    eps = jax.random.normal(key, mean.shape, mean.dtype)
    z = mean + standard_deviation(scale, cfg.posterior) * eps
    nll = jnp.mean(negative_log_likelihood(x, self.decoder_output(params, z), cfg.likelihood,
                                           cfg.gaussian_std))
    log_var = log_variance(scale, cfg.posterior)
    kl = jnp.mean(gaussian_kl(mean, log_var, cfg.kl_reduction))
    loss = nll + cfg.beta * kl
    return loss, two_player.Played(codes=probe_inputs,
                                   metrics={'gen/loss': loss, 'gen/recon': nll, 'gen/kl': kl})
