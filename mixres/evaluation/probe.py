"""Validation accuracy of the jointly trained linear probe (the AMR paper's Tables 1 to 3)."""

import jax
import jax.numpy as jnp

from mixres import parallel
from mixres.data import pipeline


class ProbeAccuracy:
  """probe/val_accuracy over the validation split (or its first eval.max_examples)."""

  maximize = ('probe/val_accuracy',)

  def __init__(self, objective, config, mesh, valid_source):
    if not objective.num_classes:
      raise ValueError('config.eval.evaluators lists "probe" but config.data.num_classes=0 '
                       '(unlabelled data); remove "probe" or set num_classes')
    parallel.check_batch_size(config.eval.batch_size, mesh, 'config.eval.batch_size')
    self.objective, self.config, self.mesh, self.source = objective, config, mesh, valid_source

    def correct(params, batch):
      logits = objective.probe_logits(params, objective.probe_inputs(params, batch['image']))
      hits = (jnp.argmax(logits, -1) == batch['label']).astype(jnp.float32)
      return jnp.sum(hits * batch['mask']), jnp.sum(batch['mask'])

    self._correct = jax.jit(correct, out_shardings=parallel.replicated(mesh))

  def __call__(self, state):
    hits = total = 0.0
    for batch in pipeline.eval_batches(self.source, self.config.eval.batch_size,
                                       self.config.eval.max_examples):
      batch = parallel.to_global(self.mesh, parallel.process_rows(batch))
      h, n = self._correct(self.objective.inference_params(state), batch)
      hits, total = hits + float(h), total + float(n)
    return {'probe/val_accuracy': hits / total}, {}
