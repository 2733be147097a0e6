"""Evaluators, registered by name and listed in config.eval.evaluators.

An evaluator is built once per run as `cls(objective, config, mesh, valid_source)` and called as
`evaluator(state) -> (scalars, images)`. Names in its `maximize` tuple are tracked by the loop
as `best/<name>` (e.g. the paper's "best validation accuracy over training").
"""

from mixres.evaluation.interpolation import InterpolationFigure
from mixres.evaluation.probe import ProbeAccuracy

EVALUATORS = {
    'interpolation': InterpolationFigure,
    'probe': ProbeAccuracy,
}


def build(config, objective, mesh, valid_source) -> list:
  unknown = [name for name in config.eval.evaluators if name not in EVALUATORS]
  if unknown:
    raise ValueError(f'config.eval.evaluators has unknown {unknown}; choose from: '
                     f'{", ".join(sorted(EVALUATORS))}')
  return [EVALUATORS[name](objective, config, mesh, valid_source)
          for name in config.eval.evaluators]
