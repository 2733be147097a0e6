"""A logistic regression fitted to convergence on frozen codes (docs/metrics.md#frozen-probe).

The second reading of a representation beside the jointly trained probe (issue 17): at each
evaluation the current encoder encodes `eval.frozen_probe_train_examples` training examples and
the validation split, the flattened codes are standardised by the training codes' mean and std,
and scikit-learn's multinomial LogisticRegression (lbfgs) is fitted on the training codes. Unlike
the joint probe it is not limited by a learning rate or by codes that moved under it. Also
reports `codes/relative_spread`, the collapse diagnostic of the validation codes.
"""

from absl import logging
import jax
import numpy as np

from mixres.data import sources
from mixres.evaluation import clustering

# lbfgs iterations allowed. Convergence is lbfgs meeting scikit-learn's tolerance (tol=1e-4 on
# the projected gradient of the mean loss) before this cap: standardised raw MNIST pixels (8k
# examples, 784 dimensions, one CPU core) take 96 iterations, 2.3 s; 10k codes of 64 or 256
# dimensions under 30. tol=1e-6 took 5x the iterations and moved no accuracy by over 0.001. Each
# fit is checked: `fit_logistic` warns when the cap is hit and reports frozen_probe/iterations,
# so such a read is visible in metrics.jsonl.
MAX_ITER = 2000
# Keeps relative_spread finite for all-zero codes (then 0: nothing varies).
SPREAD_EPS = 1e-8


def relative_spread(codes: np.ndarray) -> float:
  """mean_d std_n z[n, d] / (mean_{n,d} |z[n, d]| + 1e-8) of codes flattened to z, (N, D).

  The std is over examples (ddof 0), per code dimension d, then averaged over dimensions; the
  scale is the mean absolute code value over examples and dimensions. 0 when every example has
  the same code (a collapsed encoder); the issue's collapsed MNIST runs read about 0.04.
  """
  z = np.asarray(codes, np.float64).reshape(len(codes), -1)
  return float(z.std(0).mean() / (np.abs(z).mean() + SPREAD_EPS))


def fit_logistic(train_codes: np.ndarray, train_labels: np.ndarray, val_codes: np.ndarray,
                 val_labels: np.ndarray, max_iter: int = MAX_ITER) -> dict[str, float]:
  """Train and validation accuracy of a logistic regression fitted on standardised train codes.

  Codes are flattened and standardised by the training codes' mean and std (a dimension constant
  in training is only centred). Also returns the lbfgs iteration count.
  """
  from sklearn import linear_model  # Imported here: only this metric needs it.
  x = np.asarray(train_codes, np.float64).reshape(len(train_codes), -1)
  v = np.asarray(val_codes, np.float64).reshape(len(val_codes), -1)
  mean, std = x.mean(0), x.std(0)
  std = np.where(std > 0, std, 1.0)
  x, v = (x - mean) / std, (v - mean) / std
  # lbfgs fits the multinomial (softmax) loss whenever there are 3 or more classes (scikit-learn
  # >= 1.5 has no multi_class argument); L2 with C=1 keeps separable codes' weights finite.
  model = linear_model.LogisticRegression(solver='lbfgs', C=1.0, max_iter=max_iter)
  model.fit(x, train_labels)
  iterations = int(np.max(model.n_iter_))
  if iterations >= max_iter:
    logging.warning('frozen_probe: lbfgs stopped at max_iter=%d before converging; its '
                    'accuracies are a lower bound', max_iter)
  return {'frozen_probe/train_accuracy': float(model.score(x, train_labels)),
          'frozen_probe/val_accuracy': float(model.score(v, val_labels)),
          'frozen_probe/iterations': float(iterations)}


class FrozenProbe:
  """Evaluator: frozen_probe/{val,train}_accuracy, /iterations, codes/relative_spread."""

  maximize = ('frozen_probe/val_accuracy',)

  def __init__(self, objective, config, mesh, valid_source):
    del mesh  # Encodes in eval batches, replicated, as clustering; the fit runs on the host.
    if not config.data.num_classes:
      raise ValueError('config.eval.evaluators lists "frozen_probe" but config.data.num_classes=0 '
                       '(unlabelled data); remove "frozen_probe" or set num_classes')
    self.objective, self.config, self.source = objective, config, valid_source
    self.train_source = sources.build(config)[0]  # Loads lazily, by index.
    self._encode = jax.jit(objective.encode)

  def __call__(self, state):
    params = self.objective.inference_params(state)
    batch_size = self.config.eval.batch_size
    codes, labels = clustering.codes_and_labels(self._encode, params, self.source, batch_size,
                                                self.config.eval.max_examples)
    train_codes, train_labels = clustering.codes_and_labels(
        self._encode, params, self.train_source, batch_size,
        self.config.eval.frozen_probe_train_examples)
    scalars = fit_logistic(train_codes, train_labels, codes, labels)
    scalars['codes/relative_spread'] = relative_spread(codes)
    return scalars, {}
