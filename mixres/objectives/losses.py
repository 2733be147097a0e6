"""Loss terms shared by the objectives."""

import jax
import jax.numpy as jnp
import optax

RECONSTRUCTIONS = ('l1', 'l2', 'bce_sum')


def gan_loss(logits: jax.Array, target: float) -> jax.Array:
  """JS-GAN loss: mean sigmoid binary cross-entropy of logits against a constant 0/1 label."""
  return jnp.mean(optax.sigmoid_binary_cross_entropy(logits, jnp.full_like(logits, target)))


def check_reconstruction(kind: str) -> None:
  """Raises ValueError unless `kind` names a reconstruction loss (config.recon)."""
  if kind not in RECONSTRUCTIONS:
    raise ValueError(f'config.recon={kind!r} is not a reconstruction loss; choose one of: '
                     f'{", ".join(RECONSTRUCTIONS)}')


def reconstruction(x: jax.Array, y: jax.Array, kind: str) -> jax.Array:
  """The loss of reconstruction y against the target x, both in [-1, 1].

  'l1' mean absolute error (the reference code's default), 'l2' mean squared error, 'bce_sum'
  the AMR authors' dSprites loss (`bce_sum`, below): BCE summed over pixels, over the batch.
  """
  if kind == 'l1':
    return jnp.mean(jnp.abs(x - y))
  if kind == 'l2':
    return jnp.mean(jnp.square(x - y))
  check_reconstruction(kind)
  return bce_sum(x, y)


def _clamped_log(p: jax.Array) -> jax.Array:
  """log p floored at -100, as torch's BCELoss floors each log term (finite at p = 0).

  The inner `where` keeps the gradient finite too: log(0) would give 0 * inf = NaN through the
  outer one. A floored term has zero gradient, as in torch where the saturated tanh has too.
  """
  positive = p > 0
  return jnp.where(positive, jnp.maximum(jnp.log(jnp.where(positive, p, 1.0)), -100.0), -100.0)


def clamped_bce(prediction: jax.Array, target: jax.Array) -> jax.Array:
  """Elementwise -(t log p + (1 - t) log(1 - p)) for probabilities p, t in [0, 1], torch-style."""
  return -(target * _clamped_log(prediction) + (1.0 - target) * _clamped_log(1.0 - prediction))


def bce_sum(x: jax.Array, y: jax.Array) -> jax.Array:
  """BCE of p = (y + 1) / 2 against (x + 1) / 2, summed over every element, divided by the batch.

  The AMR authors' `--recon_loss=bce_sum` (models/swapgan.py:138-140; their models/vae.py:21-22
  for the VAE): `recon_loss(dec, x)` puts the reconstruction (a tanh output) first as the
  prediction, the image second as the target. The decoder's output is used as it is, not its
  pre-tanh logits: p = sigmoid(2a) would give the same value away from saturation, but a tanh that
  rounds to +-1 costs exactly what torch charges (100 a pixel, log floored) with its zero gradient,
  and the loss needs nothing from the decoder but its image.
  """
  per_element = clamped_bce((y + 1.0) / 2.0, (x + 1.0) / 2.0)
  return jnp.sum(per_element) / per_element.shape[0]


def softmax_cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
  return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, labels))


def accuracy(logits: jax.Array, labels: jax.Array) -> jax.Array:
  return jnp.mean(jnp.argmax(logits, -1) == labels)


CLASSIFIERS = ('sigmoid', 'softmax')


def attribute_loss(logits: jax.Array, targets: jax.Array, kind: str) -> jax.Array:
  """An auxiliary classifier's loss against soft targets (B, A), e.g. mixed labels y_mix.

  'sigmoid': binary cross-entropy per attribute, mean over examples and attributes (binary
  attributes, CelebA's). 'softmax': cross-entropy against the target distribution, mean over
  examples (classes; a mixed one-hot label is a two-class distribution).
  """
  if kind == 'sigmoid':
    return jnp.mean(optax.sigmoid_binary_cross_entropy(logits, targets))
  if kind == 'softmax':
    return jnp.mean(optax.softmax_cross_entropy(logits, targets))
  raise ValueError(f'config.supervised.classifier={kind!r} is not a classifier loss; choose one '
                   f'of: {", ".join(CLASSIFIERS)}')


def attribute_accuracy(logits: jax.Array, targets: jax.Array, kind: str) -> jax.Array:
  """'sigmoid': share of attribute bits right (logit > 0 vs target > 0.5); 'softmax': argmax."""
  if kind == 'sigmoid':
    return jnp.mean((logits > 0) == (targets > 0.5))
  return jnp.mean(jnp.argmax(logits, -1) == jnp.argmax(targets, -1))
