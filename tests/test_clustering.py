"""Clustering accuracy: whitening, Hungarian matching on hand cases, K-means on separable codes."""

import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from mixres.data import sources
from mixres.evaluation import clustering


def test_whiten_gives_unit_covariance_and_drops_dead_directions():
  rng = np.random.default_rng(0)
  codes = rng.standard_normal((500, 3)) @ np.array([[5.0, 1.0, 0.0], [0.0, 0.1, 0.0],
                                                    [0.0, 0.0, 2.0]])
  codes = np.concatenate([codes, np.full((500, 1), 7.0)], 1)  # A constant dimension.
  white = clustering.whiten(codes)
  assert white.shape == (500, 3)
  np.testing.assert_allclose(white.mean(0), 0.0, atol=1e-10)
  np.testing.assert_allclose(white.T @ white / 500, np.eye(3), atol=1e-10)


def test_matched_accuracy_hand_computed():
  # Clusters 0,1,2 are labels 2,0,1 except one mistake: best matching gets 5 of 6.
  clusters = np.array([0, 0, 1, 1, 2, 2])
  labels = np.array([2, 2, 0, 0, 1, 0])
  assert clustering.matched_accuracy(clusters, labels) == 5 / 6
  # One-to-one: two clusters cannot both take label 0; the larger one does (3 of 4, not 4).
  assert clustering.matched_accuracy(np.array([0, 1, 1, 1]), np.array([0, 0, 0, 0])) == 0.75


def test_separable_codes_cluster_perfectly_and_random_ones_do_not():
  rng = np.random.default_rng(1)
  labels = rng.integers(0, 4, 400)
  centres = rng.standard_normal((4, 8)) * 10
  codes = centres[labels] + rng.standard_normal((400, 8))
  assert clustering.clustering_accuracy(codes, labels, 4, num_inits=5) == 1.0
  noise = rng.standard_normal((400, 8))
  assert clustering.clustering_accuracy(noise, labels, 4, num_inits=5) < 0.45


def test_acai_protocol_fits_on_training_codes_and_scores_validation_codes():
  """1-D codes. Training: class 0 near 0, class 1 near 10. Validation: 50 of class 0 near 0, 10
  of class 1 near 10 and 50 of class 1 near 30. K-means fitted on the validation codes splits
  {0, 10} from {30} and misses the ten (100/110); fitted on the training codes it puts 30 with
  10 and is right everywhere."""
  rng = np.random.default_rng(2)
  near = lambda centre, n: centre + 0.1 * rng.standard_normal((n, 1))
  train = np.concatenate([near(0, 200), near(10, 200)])
  codes = np.concatenate([near(0, 50), near(10, 10), near(30, 50)])
  labels = np.repeat([0, 1, 1], [50, 10, 50])
  assert clustering.clustering_accuracy(codes, labels, 2, num_inits=5) == 100 / 110
  assert clustering.clustering_accuracy(codes, labels, 2, num_inits=5, fit_codes=train,
                                        init='random', max_iter=1000) == 1.0


def test_whitening_is_fitted_on_the_reference_codes():
  rng = np.random.default_rng(3)
  reference = rng.standard_normal((400, 2)) * [4.0, 0.5] + [10.0, -3.0]
  white = clustering.whitening(reference)
  np.testing.assert_allclose(white(reference).T @ white(reference) / 400, np.eye(2), atol=1e-10)
  # Other codes: centred on the reference mean and scaled by its spread, not their own.
  shifted = white(reference[:100] + [4.0, 0.0])
  np.testing.assert_allclose(shifted.mean(0) - white(reference[:100]).mean(0),
                             white(np.array([[14.0, -3.0]]))[0] - white(np.array([[10.0, -3.0]]))[0])
  assert np.linalg.norm(white(np.array([[14.0, -3.0]])) - white(np.array([[10.0, -3.0]]))) == (
      pytest.approx(1.0, abs=0.1))  # 4 units along an axis of std 4.


class _Flatten:
  def inference_params(self, state):
    return state

  def encode(self, params, images):
    return jnp.reshape(images, (len(images), -1))


def test_evaluator_on_digits():
  config = ml_collections.ConfigDict({
      'seed': 0,
      'data': {'name': 'digits', 'image_size': 8, 'num_classes': 10, 'fit': 'resize',
               'valid_fraction': 0.2, 'valid_size': 0, 'split_method': 'default',
               'split_seed': 0, 'train_subset': 0, 'path': '', 'labels_path': ''},
      'eval': {'batch_size': 100, 'max_examples': 250, 'clustering_inits': 3,
               'clustering_protocol': 'validation', 'clustering_train_examples': 500}})
  _, valid = sources.build(config)
  scalars, images = clustering.ClusteringAccuracy(_Flatten(), config, None, valid)({})
  # K-means on whitened raw 8x8 digits: well above chance (0.1), far from perfect.
  assert 0.3 < scalars['clustering/accuracy'] < 0.95 and not images
  config.eval.clustering_protocol = 'acai'
  evaluator = clustering.ClusteringAccuracy(_Flatten(), config, None, valid)
  assert len(evaluator.train_source) == 1797 - 359 and (evaluator.init, evaluator.max_iter) == (
      'random', 1000)
  assert 0.3 < evaluator({})[0]['clustering/accuracy'] < 0.95
  config.eval.clustering_protocol = 'train'
  with pytest.raises(ValueError, match=r"^config.eval.clustering_protocol='train' must be one of: "
                                       r"validation, acai$"):
    clustering.ClusteringAccuracy(_Flatten(), config, None, valid)
  config.eval.clustering_protocol = 'validation'
  config.data.num_classes = 0
  with pytest.raises(ValueError, match='lists "clustering" but config.data.num_classes=0'):
    clustering.ClusteringAccuracy(_Flatten(), config, None, valid)
