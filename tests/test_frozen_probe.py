"""mixres/evaluation/frozen_probe.py: the logistic regression on frozen codes, the codes' spread."""

import json
import os

import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from mixres import train
from mixres.data import pipeline
from mixres.data import sources
from mixres.evaluation import frozen_probe


def test_codes_that_are_the_label_read_perfectly():
  rng = np.random.default_rng(0)
  labels = rng.integers(0, 10, 600)
  # One-hot labels beside a constant dimension (std 0: only centred, never divided by 0).
  codes = np.concatenate([np.eye(10)[labels], np.full((600, 1), 3.0)], 1).reshape(600, 1, 11)
  scalars = frozen_probe.fit_logistic(codes[:400], labels[:400], codes[400:], labels[400:])
  assert scalars['frozen_probe/val_accuracy'] == 1.0
  assert scalars['frozen_probe/train_accuracy'] == 1.0
  assert 0 < scalars['frozen_probe/iterations'] < frozen_probe.MAX_ITER  # Converged.


def test_noise_codes_read_chance():
  rng = np.random.default_rng(0)
  codes, labels = rng.normal(size=(8000, 16)), rng.integers(0, 10, 8000)
  scalars = frozen_probe.fit_logistic(codes[:4000], labels[:4000], codes[4000:], labels[4000:])
  # Chance is 0.1; the std of an accuracy over 4000 examples is 0.005.
  assert abs(scalars['frozen_probe/val_accuracy'] - 0.1) < 0.03
  assert scalars['frozen_probe/iterations'] < frozen_probe.MAX_ITER


def test_fit_that_hits_the_cap_says_so(caplog):
  from sklearn import exceptions
  rng = np.random.default_rng(0)
  codes, labels = rng.normal(size=(200, 16)), rng.integers(0, 10, 200)
  with pytest.warns(exceptions.ConvergenceWarning):
    scalars = frozen_probe.fit_logistic(codes, labels, codes, labels, max_iter=2)
  assert scalars['frozen_probe/iterations'] == 2
  assert 'frozen_probe: lbfgs stopped at max_iter=2 before converging' in caplog.text


def test_relative_spread():
  assert frozen_probe.relative_spread(np.full((5, 2, 3), 0.7)) == 0.0
  assert frozen_probe.relative_spread(np.zeros((5, 4))) == 0.0
  # Dimension 0: -1, 3 (std 2); dimension 1: 2, -6 (std 4); mean std 3; mean |z| (1+2+3+6)/4 = 3.
  codes = np.array([[[-1.0, 2.0]], [[3.0, -6.0]]])  # (2, 1, 2): flattened to (2, 2).
  assert frozen_probe.relative_spread(codes) == pytest.approx(1.0, rel=1e-7)


class _Flatten:
  def inference_params(self, state):
    return state

  def encode(self, params, images):
    return jnp.reshape(images, (len(images), -1))


def test_evaluator_reads_training_and_validation_codes_of_digits():
  config = ml_collections.ConfigDict({
      'seed': 0,
      'data': {'name': 'digits', 'image_size': 8, 'num_classes': 10, 'fit': 'resize',
               'valid_fraction': 0.2, 'valid_size': 0, 'split_method': 'default',
               'split_seed': 0, 'train_subset': 0, 'path': '', 'labels_path': ''},
      'eval': {'batch_size': 100, 'max_examples': 250, 'frozen_probe_train_examples': 500}})
  train_source, valid = sources.build(config)
  scalars, images = frozen_probe.FrozenProbe(_Flatten(), config, None, valid)({})
  # The same numbers as the functions on the first 500 training and 250 validation images.
  fit = pipeline.stack([train_source[i] for i in range(500)])
  val = pipeline.stack([valid[i] for i in range(250)])
  flat = lambda batch: np.asarray(batch['image'], np.float32).reshape(len(batch['image']), -1)
  expected = frozen_probe.fit_logistic(flat(fit), fit['label'], flat(val), val['label'])
  assert scalars == {**expected, 'codes/relative_spread': frozen_probe.relative_spread(flat(val))}
  assert not images
  # A logistic regression on raw 8x8 digits: far above chance (0.1).
  assert scalars['frozen_probe/val_accuracy'] > 0.8
  config.data.num_classes = 0
  with pytest.raises(ValueError, match='lists "frozen_probe" but config.data.num_classes=0'):
    frozen_probe.FrozenProbe(_Flatten(), config, None, valid)


def test_training_run_logs_the_frozen_probe(tiny_config, tmp_path):
  tiny_config.eval.evaluators = ('probe', 'frozen_probe')
  tiny_config.eval.frozen_probe_train_examples = 256
  summary = train.train_and_evaluate(tiny_config, str(tmp_path))
  with open(os.path.join(tmp_path, 'metrics.jsonl')) as f:
    logged = {}
    for line in f:
      logged.update(json.loads(line))
  for name in ('frozen_probe/val_accuracy', 'frozen_probe/train_accuracy',
               'frozen_probe/iterations', 'codes/relative_spread',
               'best/frozen_probe/val_accuracy'):
    assert np.isfinite(logged[name]), name
  assert 0.0 <= summary['frozen_probe/val_accuracy'] <= 1.0
  assert summary['codes/relative_spread'] > 0.0  # An untrained encoder does not collapse.


def test_codes_are_standardised_by_the_training_codes():
  from sklearn import datasets
  images, labels = datasets.load_digits(return_X_y=True)
  x, y, v, w = images[:1000], labels[:1000], images[1000:], labels[1000:]
  scalars = frozen_probe.fit_logistic(x, y, v, w)
  # Each dimension rescaled and shifted, training and validation alike: the same fit.
  scale = np.random.default_rng(0).uniform(1e-3, 1e3, 64)
  assert frozen_probe.fit_logistic(x * scale + 7, y, v * scale + 7, w) == pytest.approx(scalars)
  # The validation codes take the training codes' statistics, not their own.
  shifted = frozen_probe.fit_logistic(x, y, v + 8, w)['frozen_probe/val_accuracy']
  assert shifted < scalars['frozen_probe/val_accuracy'] - 0.3
