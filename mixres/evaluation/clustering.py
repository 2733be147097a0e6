"""Clustering accuracy of the codes (the ACAI paper's protocol; REFERENCE.md section 2).

K-means with k = number of classes on the SVD-whitened codes of the validation split; the
accuracy is that of the best one-to-one matching of clusters to classes (Hungarian algorithm).
"""

import jax
import numpy as np

from mixres.data import pipeline


def whiten(codes: np.ndarray) -> np.ndarray:
  """Centred codes rotated onto their principal axes and scaled to unit variance, (N, r).

  Directions with (numerically) zero variance are dropped: they carry nothing to cluster on.
  """
  x = np.asarray(codes, np.float64).reshape(len(codes), -1)
  x = x - x.mean(0)
  u, s, _ = np.linalg.svd(x, full_matrices=False)
  keep = s > s.max() * 1e-10 if s.size and s.max() > 0 else np.zeros_like(s, bool)
  return u[:, keep] * np.sqrt(len(x))  # = x V S^-1 sqrt(N): unit variance per direction.


def matched_accuracy(clusters: np.ndarray, labels: np.ndarray) -> float:
  """Accuracy of the best one-to-one map from cluster ids to labels."""
  from scipy import optimize  # Imported here: only this metric needs it.
  clusters, labels = np.asarray(clusters), np.asarray(labels)
  size = max(clusters.max(), labels.max()) + 1
  counts = np.zeros((size, size), np.int64)
  np.add.at(counts, (clusters, labels), 1)
  rows, cols = optimize.linear_sum_assignment(counts, maximize=True)
  return float(counts[rows, cols].sum() / len(labels))


def clustering_accuracy(codes: np.ndarray, labels: np.ndarray, num_clusters: int,
                        num_inits: int = 1000, seed: int = 0) -> float:
  """K-means (best of `num_inits` k-means++ starts) on whitened codes, Hungarian-matched."""
  from sklearn import cluster  # Imported here: only this metric needs it.
  kmeans = cluster.KMeans(num_clusters, n_init=num_inits, random_state=seed)
  return matched_accuracy(kmeans.fit_predict(whiten(codes)), labels)


class ClusteringAccuracy:
  """Evaluator: clustering/accuracy on (the first eval.max_examples of) the validation split."""

  maximize = ('clustering/accuracy',)

  def __init__(self, objective, config, mesh, valid_source):
    del mesh  # Encodes in eval batches, replicated; K-means runs on the host.
    if not config.data.num_classes:
      raise ValueError('config.eval.evaluators lists "clustering" but config.data.num_classes=0 '
                       '(unlabelled data); remove "clustering" or set num_classes')
    self.objective, self.config, self.source = objective, config, valid_source
    self._encode = jax.jit(objective.encode)

  def __call__(self, state):
    params = self.objective.inference_params(state)
    codes, labels = [], []
    for batch in pipeline.eval_batches(self.source, self.config.eval.batch_size,
                                       self.config.eval.max_examples):
      real = batch['mask'] > 0  # The last batch is padded to full size.
      codes.append(np.asarray(self._encode(params, batch['image']))[real])
      labels.append(np.asarray(batch['label'])[real])
    accuracy = clustering_accuracy(np.concatenate(codes), np.concatenate(labels),
                                   int(self.config.data.num_classes),
                                   int(self.config.eval.clustering_inits), int(self.config.seed))
    return {'clustering/accuracy': accuracy}, {}
