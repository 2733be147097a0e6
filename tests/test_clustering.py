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
      'eval': {'batch_size': 100, 'max_examples': 250, 'clustering_inits': 3}})
  _, valid = sources.build(config)
  scalars, images = clustering.ClusteringAccuracy(_Flatten(), config, None, valid)({})
  # K-means on whitened raw 8x8 digits: well above chance (0.1), far from perfect.
  assert 0.3 < scalars['clustering/accuracy'] < 0.95 and not images
  config.data.num_classes = 0
  with pytest.raises(ValueError, match='lists "clustering" but config.data.num_classes=0'):
    clustering.ClusteringAccuracy(_Flatten(), config, None, valid)
