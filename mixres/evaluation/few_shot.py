"""Few-shot generation in a domain the model never saw (AugIntAE report, sections 4.4 and 5.3).

A handful of seed images (config.eval.few_shot_seeds) of another dataset
(config.eval.few_shot_dataset; the report seeds an MNIST model with EMNIST letters, which needs
TFDS, so the default is the offline 'lines') make eval.num_samples new images, as the report's
AugIntAE does: pick two seeds at random (possibly the same one twice), augment each with the
training augmentation (config.data.augment's ranges), encode both, decode
alpha f(x1) + (1 - alpha) f(x2) with alpha ~ U(0, 1). Seeds, pairs, augmentations and alphas
are drawn once from config.seed, so every evaluation and every model sees the same ones.

Reports, on the features of our classifier of that domain (mixres/evaluation/frechet.py), the
Frechet distance to its held-out validation images (few_shot/frechet), and as a reference
that needs no model the distance of the augmented seeds themselves
(few_shot/frechet_augmented_seeds); plus a figure: the seeds, then rows of generations. Works
for any objective with encode/decode, codes of any shape.
"""

import functools

import jax
import ml_collections
import numpy as np

from mixres import config_checks as cc
from mixres import mixers
from mixres.data import pipeline
from mixres.data import procedural
from mixres.data import sources
from mixres.data import transforms
from mixres.evaluation import figures
from mixres.evaluation import frechet
from mixres.evaluation import sampling

FIGURE_ROWS = 4  # Rows of generations under the seeds.
MIN_COLUMNS = 8


def augmented_pairs(seeds: np.ndarray, num: int, rng: np.random.Generator,
                    augment: ml_collections.ConfigDict) -> tuple[np.ndarray, np.ndarray]:
  """(views (num, 2, H, W, C) uint8, alpha (num,)): random seed pairs, each view augmented."""
  picks = rng.integers(0, len(seeds), (num, 2))
  views = np.stack([[transforms.random_affine(seeds[i], rng, augment.rotation,
                                              augment.translation, tuple(augment.scale))
                     for i in pair] for pair in picks])
  return views, rng.uniform(0.0, 1.0, num)


def check_dataset(config) -> None:
  """ValueError unless config.eval.few_shot_dataset names a dataset of images."""
  image_sets = [d for d in sources.DATASETS if d not in procedural.TOYS]
  cc.check_choice(config, 'eval.few_shot_dataset', image_sets, what='an image dataset')


class FewShot:
  """Generations from augmented, interpolated seeds of config.eval.few_shot_dataset."""

  maximize = ()

  def __init__(self, objective, config, mesh, valid_source):
    del mesh, valid_source  # The seeds' domain has its own sources.
    e = config.eval
    self.objective, self.batch_size = objective, e.batch_size
    self.name, num_seeds, num = e.few_shot_dataset, e.few_shot_seeds, int(e.num_samples)
    check_dataset(config)
    cc.check_integer(config, 'eval.few_shot_seeds', 1)
    sampling.check_num_samples(config)
    domain = frechet.labelled_data(config.data, self.name)
    train, valid = sources.build(ml_collections.ConfigDict({'data': domain}))
    shape = sources.image_shape(train)
    if shape != tuple(objective.image_shape):
      raise ValueError(f'config.eval.few_shot_dataset={self.name!r} gives images of shape '
                       f'{shape}, the model takes {tuple(objective.image_shape)}; choose a '
                       'dataset with as many channels')
    if num_seeds > len(train):
      raise ValueError(f'config.eval.few_shot_seeds={num_seeds} exceeds the {len(train)} '
                       f'training images of {self.name!r}')

    rng = np.random.default_rng(config.seed)
    picked = rng.choice(len(train), num_seeds, replace=False)
    seeds = np.stack([train[int(i)]['image'] for i in picked])
    views, alpha = augmented_pairs(seeds, num, rng, config.data.augment)
    self.seeds = pipeline.to_model_input(seeds)
    self.views, self.alpha = pipeline.to_model_input(views), alpha.astype(np.float32)
    real = sampling.validation_images(valid, e.max_examples)
    self.features = frechet.feature_extractor(domain, e.frechet_steps, e.frechet_cache_dir,
                                              config.seed)
    self.real_features = self.features(real)
    self.baseline = frechet.frechet_distance(self.features(self.views[:, 0]),
                                             self.real_features)
    self._encode = jax.jit(objective.encode)
    self._decode = jax.jit(objective.decode)

  def generate(self, params) -> np.ndarray:
    """The generations (num_samples, H, W, C): g(alpha f(v1) + (1 - alpha) f(v2))."""
    encode = functools.partial(self._encode, params)
    first = frechet.map_batches(encode, self.views[:, 0], batch_size=self.batch_size)
    second = frechet.map_batches(encode, self.views[:, 1], batch_size=self.batch_size)
    codes = mixers.convex_mix(self.alpha, first, second)
    return frechet.map_batches(functools.partial(self._decode, params), codes,
                               batch_size=self.batch_size)

  def figure(self, generated: np.ndarray) -> np.ndarray:
    """Row 0: the seeds (blank-padded); then FIGURE_ROWS rows of generations."""
    columns = max(MIN_COLUMNS, len(self.seeds))
    rows = min(FIGURE_ROWS, len(generated) // columns)
    seeds_row = np.ones((columns, *self.seeds.shape[1:]), np.float32)  # +1 draws white.
    seeds_row[:len(self.seeds)] = self.seeds
    tiles = generated[:rows * columns].reshape(rows, columns, *generated.shape[1:])
    return figures.grid(np.concatenate([seeds_row[None], tiles]))

  def __call__(self, state):
    generated = self.generate(self.objective.inference_params(state))
    scalars = {
        'few_shot/frechet': frechet.frechet_distance(self.features(generated),
                                                     self.real_features),
        'few_shot/frechet_augmented_seeds': self.baseline,
        'few_shot/feature_accuracy': self.features.valid_accuracy,
    }
    return scalars, {f'few_shot/{self.name}': self.figure(generated)}
