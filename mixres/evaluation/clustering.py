"""Clustering accuracy of the codes (the ACAI paper's protocol; docs/metrics.md#clustering).

K-means with k = number of classes on SVD-whitened codes; the accuracy is that of the best
one-to-one matching of clusters to classes (Hungarian algorithm), scored on the validation codes.
`config.eval.clustering_protocol` says where the whitening and the K-means are fitted:

- 'validation' (default): on the validation codes themselves, k-means++ starts, 300 iterations.
- 'acai': as ACAI's cluster.py (:64-81, :141-148): the mean, the SVD and K-means are fitted on
  training codes (`eval.clustering_train_examples` of the training split; ACAI takes the whole
  60k), random starts, at most 1000 iterations, and the validation codes are scored.
"""

from typing import Callable

import jax
import numpy as np

from mixres import config_checks as cc
from mixres.data import pipeline
from mixres.data import sources

# Protocol -> (where whitening and K-means are fitted, K-means init, its max iterations).
PROTOCOLS = {'validation': ('validation', 'k-means++', 300), 'acai': ('train', 'random', 1000)}


def whitening(reference: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
  """The map centring codes on `reference`'s mean and whitening them with its SVD, (N, r) out.

  Directions of (numerically) zero variance in `reference` are dropped: they carry nothing to
  cluster on (ACAI divides by s + 1e-5 instead, which blows such a direction up in test codes).
  """
  x = np.asarray(reference, np.float64).reshape(len(reference), -1)
  mean = x.mean(0)
  _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
  keep = s > s.max() * 1e-10 if s.size and s.max() > 0 else np.zeros_like(s, bool)
  # x V S^-1 sqrt(N): the reference gets unit variance along every kept direction.
  rotation = vt[keep].T / s[keep] * np.sqrt(len(x))
  return lambda codes: (np.asarray(codes, np.float64).reshape(len(codes), -1) - mean) @ rotation


def whiten(codes: np.ndarray) -> np.ndarray:
  """Codes whitened by their own mean and SVD, (N, r)."""
  return whitening(codes)(codes)


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
                        num_inits: int = 1000, seed: int = 0, fit_codes: np.ndarray | None = None,
                        init: str = 'k-means++', max_iter: int = 300) -> float:
  """Hungarian-matched accuracy on `codes` of K-means (best of `num_inits` starts).

  Whitening and K-means are fitted on `fit_codes` when given (ACAI: training codes), else on
  `codes` themselves.
  """
  from sklearn import cluster  # Imported here: only this metric needs it.
  fit_codes = codes if fit_codes is None else fit_codes
  white = whitening(fit_codes)
  kmeans = cluster.KMeans(num_clusters, init=init, n_init=num_inits, max_iter=max_iter,
                          random_state=seed)
  kmeans.fit(white(fit_codes))
  return matched_accuracy(kmeans.predict(white(codes)), labels)


def codes_and_labels(encode: Callable, params, source, batch_size: int, max_examples: int
                     ) -> tuple[np.ndarray, np.ndarray]:
  """The codes (N, ...) and labels (N,) of `source`'s first `max_examples` (0: all), in order.

  `encode` is the jitted `objective.encode`; the evaluators that read training codes (clustering's
  'acai' protocol, frozen_probe) read them here, from `sources.build(config)[0]`.
  """
  codes, labels = [], []
  for batch in pipeline.eval_batches(source, batch_size, max_examples):
    real = batch['mask'] > 0  # The last batch is padded to full size.
    codes.append(np.asarray(encode(params, batch['image']))[real])
    labels.append(np.asarray(batch['label'])[real])
  return np.concatenate(codes), np.concatenate(labels)


class ClusteringAccuracy:
  """Evaluator: clustering/accuracy on (the first eval.max_examples of) the validation split."""

  maximize = ('clustering/accuracy',)

  def __init__(self, objective, config, mesh, valid_source):
    del mesh  # Encodes in eval batches, replicated; K-means runs on the host.
    if not config.data.num_classes:
      raise ValueError('config.eval.evaluators lists "clustering" but config.data.num_classes=0 '
                       '(unlabelled data); remove "clustering" or set num_classes')
    cc.check_choice(config, 'eval.clustering_protocol', PROTOCOLS)
    self.fit_on, self.init, self.max_iter = PROTOCOLS[config.eval.clustering_protocol]
    self.objective, self.config, self.source = objective, config, valid_source
    # Only the 'acai' protocol reads training codes; the sources load lazily, by index.
    self.train_source = sources.build(config)[0] if self.fit_on == 'train' else None
    self._encode = jax.jit(objective.encode)

  def __call__(self, state):
    params = self.objective.inference_params(state)
    batch_size = self.config.eval.batch_size
    codes, labels = codes_and_labels(self._encode, params, self.source, batch_size,
                                     self.config.eval.max_examples)
    fit_codes = None
    if self.train_source is not None:
      fit_codes, _ = codes_and_labels(self._encode, params, self.train_source, batch_size,
                                      self.config.eval.clustering_train_examples)
    accuracy = clustering_accuracy(codes, labels, int(self.config.data.num_classes),
                                   int(self.config.eval.clustering_inits), int(self.config.seed),
                                   fit_codes, self.init, self.max_iter)
    return {'clustering/accuracy': accuracy}, {}
