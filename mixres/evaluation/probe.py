"""Validation accuracy of the jointly trained linear probe (the AMR paper's Tables 1 to 3)."""

import jax.numpy as jnp

from mixres.evaluation.split_mean import SplitMean


class ProbeAccuracy:
  """probe/val_accuracy over the validation split (or its first eval.max_examples)."""

  maximize = ('probe/val_accuracy',)

  def __init__(self, objective, config, mesh, valid_source):
    if not objective.num_classes:
      raise ValueError('config.eval.evaluators lists "probe" but config.data.num_classes=0 '
                       '(unlabelled data); remove "probe" or set num_classes')
    self.objective = objective

    def hits(params, batch):
      logits = objective.probe_logits(params, objective.probe_inputs(params, batch['image']))
      return {'probe/val_accuracy':
              (jnp.argmax(logits, -1) == batch['label']).astype(jnp.float32)}

    self._accuracy = SplitMean(hits, config, mesh, valid_source)

  def __call__(self, state):
    return self._accuracy(self.objective.inference_params(state)), {}
