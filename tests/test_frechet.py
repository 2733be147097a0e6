"""Frechet distance: closed forms by hand, an independent matrix square root, the sample version,
batching, and the feature classifier's cache."""

import ml_collections
import numpy as np
import pytest
import scipy.linalg

from configs import base
from mixres.evaluation import frechet


def random_spd(rng, d):
  a = rng.normal(size=(d, d))
  return a @ a.T + 0.1 * np.eye(d)


def test_one_dimension_and_diagonal_closed_forms():
  # 1-D: (m1 - m2)^2 + (s1 - s2)^2.
  np.testing.assert_allclose(frechet.gaussian_frechet([1.0], [[4.0]], [-2.0], [[9.0]]),
                             9.0 + 1.0, rtol=1e-12)
  # Commuting (diagonal) covariances: |m1 - m2|^2 + sum (sqrt a - sqrt b)^2.
  a, b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 4.0, 1.0])
  m1, m2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
  expected = 1.0 + 0.0 + 4.0 + (1 - 3) ** 2 + 0.0 + (0.5 - 1) ** 2
  np.testing.assert_allclose(frechet.gaussian_frechet(m1, np.diag(a), m2, np.diag(b)),
                             expected, rtol=1e-12)


def test_general_covariances_match_scipy_sqrtm_and_are_symmetric():
  rng = np.random.default_rng(0)
  s1, s2 = random_spd(rng, 5), random_spd(rng, 5)
  m1, m2 = rng.normal(size=5), rng.normal(size=5)
  reference = (np.sum((m1 - m2) ** 2) + np.trace(s1) + np.trace(s2)
               - 2 * np.trace(scipy.linalg.sqrtm(s1 @ s2).real))
  ours = frechet.gaussian_frechet(m1, s1, m2, s2)
  np.testing.assert_allclose(ours, reference, rtol=1e-8)
  np.testing.assert_allclose(frechet.gaussian_frechet(m2, s2, m1, s1), ours, rtol=1e-8)
  # Rank-deficient covariances (fewer samples than dimensions) stay finite and >= 0.
  low = np.outer(m1, m1)
  assert 0 <= frechet.gaussian_frechet(m1, low, m2, s2) < np.inf


def test_sample_distances():
  rng = np.random.default_rng(1)
  x = rng.normal(size=(500, 4))
  assert frechet.frechet_distance(x, x) == pytest.approx(0.0, abs=1e-9)
  shift = np.array([1.0, -2.0, 0.0, 0.5])
  np.testing.assert_allclose(frechet.frechet_distance(x, x + shift), shift @ shift, rtol=1e-9)
  # Large samples of two known Gaussians approach the closed form.
  s1, s2 = np.diag([1.0, 2.0, 0.5]), random_spd(rng, 3)
  a = rng.multivariate_normal(np.zeros(3), s1, 200_000)
  b = rng.multivariate_normal(np.ones(3), s2, 200_000)
  exact = frechet.gaussian_frechet(np.zeros(3), s1, np.ones(3), s2)
  np.testing.assert_allclose(frechet.frechet_distance(a, b), exact, rtol=0.02)
  with pytest.raises(ValueError, match='at least 2 examples'):
    frechet.frechet_distance(x[:1], x)


def test_map_batches_pads_to_one_size_and_crops():
  sizes = []

  def fn(a, b):
    sizes.append(len(a))
    return a + b

  out = frechet.map_batches(fn, np.arange(10.0), np.ones(10), batch_size=4)
  np.testing.assert_array_equal(out, np.arange(10.0) + 1)
  assert sizes == [4, 4, 4]


def digits_data():
  data = base.get_config().data
  data.name, data.image_size, data.valid_fraction = 'digits', 16, 0.2
  return frechet.labelled_data(data)


def test_feature_classifier_trains_caches_and_loads(tmp_path, monkeypatch):
  data = digits_data()
  extractor = frechet.feature_extractor(data, steps=40, cache_dir=str(tmp_path))
  files = list(tmp_path.iterdir())
  assert len(files) == 1 and files[0].name.startswith('digits_')
  images = np.random.default_rng(0).uniform(-1, 1, (5, 16, 16, 1)).astype(np.float32)
  features = extractor(images)
  assert features.shape == (5, 128) and np.all(np.isfinite(features))
  assert extractor.valid_accuracy > 0.3  # 10 classes: chance is 0.1.
  # A second call loads the file: no training, the same features.
  monkeypatch.setattr(frechet, '_train', lambda *a: pytest.fail('retrained a cached net'))
  loaded = frechet.feature_extractor(data, steps=40, cache_dir=str(tmp_path))
  np.testing.assert_array_equal(loaded(images), features)
  assert loaded.valid_accuracy == extractor.valid_accuracy
  # Anything that changes the classifier's data or training changes the file.
  other = ml_collections.ConfigDict(data.to_dict())
  other.image_size = 32
  keys = {frechet.cache_key(data, 40, 0), frechet.cache_key(data, 41, 0),
          frechet.cache_key(data, 40, 1), frechet.cache_key(other, 40, 0)}
  assert len(keys) == 4


def test_unlabelled_data_and_bad_steps_are_refused(tmp_path):
  data = digits_data()
  data.num_classes = 0
  with pytest.raises(ValueError, match='need labels.*num_classes=0'):
    frechet.feature_extractor(data, 10, str(tmp_path))
  with pytest.raises(ValueError, match='config.eval.frechet_steps=0 must be'):
    frechet.feature_extractor(digits_data(), 0, str(tmp_path))
  lines = frechet.labelled_data(digits_data(), 'lines')
  assert (lines.name, lines.num_classes, lines.path) == ('lines', 10, '')
