"""Frechet distance between image sets, on the features of our own small classifier.

The Frechet distance between Gaussians fitted to two feature sets (Heusel et al. 2017's FID,
which the AugIntAE report uses) is

  d^2 = |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^{1/2}).

FID takes Inception-v3 features, which need a download. Here the features are the penultimate
layer of a small convolutional classifier trained on the fly on the labelled dataset the images
belong to (`config.eval.frechet_steps` Adam steps, a few seconds on a CPU), its parameters cached
per dataset (`feature_extractor`). Distances are comparable between runs scored on the same
dataset and cache key, never with published FIDs.
"""

import functools
import hashlib
import json
import os
from typing import Callable

import flax.linen as nn
import flax.serialization
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from mixres.data import pipeline
from mixres.data import sources

VERSION = 2  # Part of the cache key: bump when FeatureNet, its training or its data change
# (2: the lines are drawn as ACAI draws them).
TRAIN_BATCH = 64
TRAIN_LR = 1e-3
ACCURACY_EXAMPLES = 1024  # Validation examples the cached classifier's accuracy is measured on.


# -------------------------------------------------------------------------------------------------
# The distance.

def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
  values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
  return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def gaussian_frechet(mu_a: np.ndarray, cov_a: np.ndarray, mu_b: np.ndarray, cov_b: np.ndarray
                     ) -> float:
  """Squared Frechet distance between N(mu_a, cov_a) and N(mu_b, cov_b)."""
  # tr((S_a S_b)^{1/2}) = tr((R S_b R)^{1/2}) with R = S_a^{1/2}: the inner matrix is symmetric
  # PSD, so its square root comes from real eigenvalues (no complex sqrtm, none of its rounding).
  root_a = _psd_sqrt(np.asarray(cov_a, np.float64))
  middle = root_a @ np.asarray(cov_b, np.float64) @ root_a
  trace_sqrt = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0.0, None)))
  diff = np.asarray(mu_a, np.float64) - np.asarray(mu_b, np.float64)
  distance = diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * trace_sqrt
  return float(max(distance, 0.0))  # Rounding can leave -1e-12 for equal Gaussians.


def mean_and_covariance(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Mean (D,) and unbiased covariance (D, D) of rows (N, ...), in float64."""
  features = np.asarray(features, np.float64).reshape(len(features), -1)
  if len(features) < 2:
    raise ValueError(f'a covariance needs at least 2 examples, got {len(features)}')
  return features.mean(0), np.cov(features, rowvar=False).reshape(
      features.shape[1], features.shape[1])


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
  """Frechet distance between Gaussians fitted to two feature sets (N_a, D) and (N_b, D)."""
  return gaussian_frechet(*mean_and_covariance(features_a), *mean_and_covariance(features_b))


def map_batches(fn: Callable[..., jax.Array], *arrays: np.ndarray, batch_size: int
                ) -> np.ndarray:
  """fn over the rows of `arrays` in batches of one size (the last one padded): one compile."""
  n = len(arrays[0])
  size = min(batch_size, n)
  outputs = []
  for start in range(0, n, size):
    chunk = [a[start:start + size] for a in arrays]
    real = len(chunk[0])
    chunk = [np.concatenate([c, np.repeat(c[-1:], size - real, 0)]) for c in chunk]
    outputs.append(np.asarray(fn(*chunk))[:real])
  return np.concatenate(outputs)


# -------------------------------------------------------------------------------------------------
# The feature extractor.

class FeatureNet(nn.Module):
  """Three 3x3 stride-2 convs (32, 64, 64), dense 128 (the features), dense num_classes."""
  num_classes: int
  width: int = 128

  @nn.compact
  def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    for features in (32, 64, 64):
      x = nn.relu(nn.Conv(features, (3, 3), strides=(2, 2))(x))
    features = nn.relu(nn.Dense(self.width)(x.reshape(x.shape[0], -1)))
    return features, nn.Dense(self.num_classes)(features)


class FeatureExtractor:
  """images (N, H, W, C) in [-1, 1] -> features (N, 128) of a trained FeatureNet."""

  def __init__(self, net: FeatureNet, params, valid_accuracy: float):
    self.net, self.params, self.valid_accuracy = net, params, valid_accuracy
    self._features = jax.jit(lambda p, x: net.apply({'params': p}, x)[0])

  def __call__(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    return map_batches(functools.partial(self._features, self.params),
                       np.asarray(images, np.float32), batch_size=batch_size)


def cache_key(data: ml_collections.ConfigDict, steps: int, seed: int) -> str:
  """A file name that changes with anything that changes the classifier's data or training."""
  fields = ('name', 'path', 'labels_path', 'train_split', 'valid_fraction', 'split_seed',
            'image_size', 'fit', 'num_classes', 'num_examples', 'procedural_seed')
  spec = {f: data[f] for f in fields}
  if data.name == 'celeb_a':
    spec['attributes'] = list(data.attributes)
  spec.update(steps=int(steps), seed=int(seed), version=VERSION)
  digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
  return f'{data.name.replace("/", "_")}_{digest}.msgpack'


def default_cache_dir() -> str:
  root = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
  return os.path.join(root, 'mixres', 'frechet')


def _train(net: FeatureNet, train: sources.Source, valid: sources.Source, steps: int, seed: int):
  """(params, validation accuracy) after `steps` Adam steps on random batches of `train`."""
  rng = np.random.default_rng(seed)
  params = jax.jit(net.init)(jax.random.PRNGKey(seed), pipeline.read(train, [0])['image'])['params']
  optimizer = optax.adam(TRAIN_LR)

  @jax.jit
  def step(params, opt_state, images, labels):
    def loss_fn(p):
      logits = net.apply({'params': p}, images)[1]
      return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, labels))
    grads = jax.grad(loss_fn)(params)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state

  opt_state = optimizer.init(params)
  for _ in range(steps):
    batch = pipeline.read(train, rng.integers(0, len(train), TRAIN_BATCH))
    params, opt_state = step(params, opt_state, batch['image'], batch['label'])
  held_out = pipeline.read(valid, range(min(ACCURACY_EXAMPLES, len(valid))))
  logits = map_batches(lambda x: net.apply({'params': params}, x)[1], held_out['image'],
                       batch_size=256)
  return params, float(np.mean(np.argmax(logits, -1) == held_out['label']))


def feature_extractor(data: ml_collections.ConfigDict, steps: int, cache_dir: str = '',
                      seed: int = 0) -> FeatureExtractor:
  """The classifier of dataset `data` (a config.data): loaded from the cache or trained.

  It trains on the whole training split of `data` (train_subset ignored, so that runs on subsets
  are scored alike) and needs labels: data.num_classes > 0.
  """
  if data.num_classes < 1:
    raise ValueError(f'the Frechet features need labels, but config.data.num_classes='
                     f'{data.num_classes} for {data.name!r}')
  if int(steps) < 1:
    raise ValueError(f'config.eval.frechet_steps={steps} must be an integer >= 1')
  data = ml_collections.ConfigDict(data.to_dict())
  data.train_subset = 0
  net = FeatureNet(num_classes=data.num_classes)
  path = os.path.join(cache_dir or default_cache_dir(), cache_key(data, steps, seed))
  if os.path.isfile(path):
    train, _ = sources.build(ml_collections.ConfigDict({'data': data}))
    template = jax.eval_shape(net.init, jax.random.PRNGKey(0),
                              pipeline.read(train, [0])['image'])['params']  # Shapes only.
    with open(path, 'rb') as f:
      saved = flax.serialization.from_bytes({'params': template, 'accuracy': np.zeros(())},
                                            f.read())
    return FeatureExtractor(net, saved['params'], float(saved['accuracy']))
  train, valid = sources.build(ml_collections.ConfigDict({'data': data}))
  params, accuracy = _train(net, train, valid, int(steps), seed)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  partial = f'{path}.{os.getpid()}.tmp'  # Written whole, then renamed: readers never see half.
  with open(partial, 'wb') as f:
    f.write(flax.serialization.to_bytes({'params': jax.device_get(params),
                                         'accuracy': np.asarray(accuracy)}))
  os.replace(partial, path)
  return FeatureExtractor(net, params, accuracy)


def labelled_data(data: ml_collections.ConfigDict, name: str | None = None
                  ) -> ml_collections.ConfigDict:
  """config.data for dataset `name` (default data.name) with its registry's class count.

  Local files (data.path) keep their own labels and data.num_classes.
  """
  data = ml_collections.ConfigDict(data.to_dict())
  if name is not None and name != data.name:
    data.name, data.path, data.labels_path = name, '', ''
    # What the run set for its own data does not carry over to another dataset.
    data.train_subset, data.derived_attributes = 0, ()
  if not data.path:
    registry = sources.PROCEDURAL.get(data.name) or sources.TFDS_DATASETS.get(data.name)
    if registry is not None:
      data.num_classes = registry[1](data)
  return data
