"""Random images from N(mu, Sigma) fitted to the codes (AugIntAE report, sections 4.4 and 5.2).

The evaluator 'gaussian_samples' encodes the validation split (its first eval.max_examples, all
if 0), fits the mean and full covariance of the flattened codes, decodes eval.num_samples draws
(the same standard-normal draws at every evaluation, from config.seed) and reports:
- gaussian_samples/frechet: Frechet distance of the samples to the encoded validation images,
  on the features of our classifier of config.data (mixres/evaluation/frechet.py);
- gaussian_samples/recon_mse: mean squared error of g(f(x)) on the same images (the report's
  Table 4), in [-1, 1] pixel units (4x the [0, 1] value);
- gaussian_samples/feature_accuracy: the feature classifier's validation accuracy (a check that
  its features mean something; constant over a run);
and an 8 x 8 grid of the first samples. Works for any objective with encode/decode.
"""

import functools

import jax
import numpy as np

from mixres import config_checks as cc
from mixres.data import pipeline
from mixres.evaluation import figures
from mixres.evaluation import frechet

GRID_SIDE = 8


def fit_gaussian(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Mean (D,) and full covariance (D, D) of codes (N, ...) flattened per example, float64."""
  return frechet.mean_and_covariance(codes)


def sample_gaussian(mean: np.ndarray, cov: np.ndarray, num: int, seed: int) -> np.ndarray:
  """num draws (num, D) from N(mean, cov); a fixed seed gives the same draws for any fit."""
  values, vectors = np.linalg.eigh((cov + cov.T) / 2)
  # A square root through eigenvalues clipped at 0: a rank-deficient covariance (fewer examples
  # than code dimensions, or dead units) samples in its support instead of failing Cholesky.
  root = vectors * np.sqrt(np.clip(values, 0.0, None))
  noise = np.random.default_rng(seed).standard_normal((num, len(mean)))
  return mean + noise @ root.T


def validation_images(source, max_examples: int) -> np.ndarray:
  """The first max_examples (all if 0) validation images as model inputs (N, H, W, C)."""
  n = len(source) if not max_examples else min(max_examples, len(source))
  return pipeline.read(source, range(n))['image']


def check_num_samples(config) -> None:
  cc.check_integer(config, 'eval.num_samples', 2, why='a Frechet distance needs a covariance')


class GaussianSamples:
  """Decoded samples of a Gaussian fitted to f(x) over the validation split."""

  maximize = ()

  def __init__(self, objective, config, mesh, valid_source):
    del mesh  # Decoding a few thousand small images: runs replicated, as the figures do.
    self.objective, self.seed = objective, config.seed
    self.num_samples, self.batch_size = int(config.eval.num_samples), config.eval.batch_size
    check_num_samples(config)
    if len(objective.image_shape) != 3:
      raise ValueError('config.eval.evaluators lists "gaussian_samples", which needs images; '
                       f'config.data.name={config.data.name!r} gives points')
    self.images = validation_images(valid_source, config.eval.max_examples)
    if len(self.images) < 2:
      raise ValueError('config.eval.max_examples must leave at least 2 validation images for '
                       '"gaussian_samples"')
    self.features = frechet.feature_extractor(
        frechet.labelled_data(config.data), config.eval.frechet_steps,
        config.eval.frechet_cache_dir, config.seed)
    self.real_features = self.features(self.images)
    self._encode = jax.jit(objective.encode)
    self._decode = jax.jit(objective.decode)

  def encode(self, params) -> np.ndarray:
    return frechet.map_batches(functools.partial(self._encode, params), self.images,
                               batch_size=self.batch_size)

  def fit(self, params) -> tuple[np.ndarray, np.ndarray]:
    """(mean, covariance) of the flattened codes of the validation images."""
    return fit_gaussian(self.encode(params))

  def __call__(self, state):
    params = self.objective.inference_params(state)
    codes = self.encode(params)
    mean, cov = fit_gaussian(codes)
    draws = sample_gaussian(mean, cov, self.num_samples, self.seed)
    draws = draws.reshape(self.num_samples, *codes.shape[1:]).astype(codes.dtype)
    decode = functools.partial(self._decode, params)
    samples = frechet.map_batches(decode, draws, batch_size=self.batch_size)
    recon = frechet.map_batches(decode, codes, batch_size=self.batch_size)
    side = min(GRID_SIDE, int(np.sqrt(self.num_samples)))
    grid = samples[:side * side].reshape(side, side, *samples.shape[1:])
    scalars = {
        'gaussian_samples/frechet': frechet.frechet_distance(self.features(samples),
                                                             self.real_features),
        'gaussian_samples/recon_mse': float(np.mean(np.square(recon - self.images))),
        'gaussian_samples/feature_accuracy': self.features.valid_accuracy,
    }
    return scalars, {'gaussian_samples/grid': figures.grid(grid)}
