"""Loss terms shared by the objectives."""

import jax
import jax.numpy as jnp
import optax

RECONSTRUCTIONS = ('l1', 'l2')


def gan_loss(logits: jax.Array, target: float) -> jax.Array:
  """JS-GAN loss: mean sigmoid binary cross-entropy of logits against a constant 0/1 label."""
  return jnp.mean(optax.sigmoid_binary_cross_entropy(logits, jnp.full_like(logits, target)))


def reconstruction(x: jax.Array, y: jax.Array, kind: str) -> jax.Array:
  """Mean absolute ('l1', the reference code) or mean squared ('l2') error."""
  if kind == 'l1':
    return jnp.mean(jnp.abs(x - y))
  if kind == 'l2':
    return jnp.mean(jnp.square(x - y))
  raise ValueError(f'config.recon={kind!r} is not a reconstruction loss; choose one of: '
                   f'{", ".join(RECONSTRUCTIONS)}')


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
