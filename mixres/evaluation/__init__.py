"""Evaluators, registered by name and listed in config.eval.evaluators.

An evaluator is built once per run as `cls(objective, config, mesh, valid_source)` and called as
`evaluator(state) -> (scalars, images)`. Names in its `maximize` tuple are tracked by the loop
as `best/<name>` (e.g. the paper's "best validation accuracy over training").
"""

from mixres.evaluation.attributes import AttributeConsistency
from mixres.evaluation.clustering import ClusteringAccuracy
from mixres.evaluation.dependency import NeuralDependency
from mixres.evaluation.disentanglement import Disentanglement
from mixres.evaluation.few_shot import FewShot
from mixres.evaluation.interpolation import InterpolationFigure
from mixres.evaluation.lines import LinesInterpolation
from mixres.evaluation.probe import ProbeAccuracy
from mixres.evaluation.sampling import GaussianSamples
from mixres.evaluation.toys import ToyMixes

EVALUATORS = {
    'attribute_consistency': AttributeConsistency,
    'clustering': ClusteringAccuracy,
    'disentanglement': Disentanglement,
    'few_shot': FewShot,
    'gaussian_samples': GaussianSamples,
    'interpolation': InterpolationFigure,
    'lines': LinesInterpolation,
    'ndm': NeuralDependency,
    'probe': ProbeAccuracy,
    'toy_mixes': ToyMixes,
}


def build(config, objective, mesh, valid_source) -> list:
  unknown = [name for name in config.eval.evaluators if name not in EVALUATORS]
  if unknown:
    raise ValueError(f'config.eval.evaluators has unknown {unknown}; choose from: '
                     f'{", ".join(sorted(EVALUATORS))}')
  return [EVALUATORS[name](objective, config, mesh, valid_source)
          for name in config.eval.evaluators]
