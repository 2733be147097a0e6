"""Evaluators, registered by name and listed in config.eval.evaluators.

An evaluator is built once per run as `cls(objective, config, mesh, valid_source)` and called as
`evaluator(state) -> (scalars, images)`. Names in its `maximize` tuple are tracked by the loop
as `best/<name>` (e.g. the paper's "best validation accuracy over training"). Each runs on its
own cadence, `config.eval.every.<name>` (mixres/evaluation/cadence.py).
"""

from mixres.evaluation.attributes import AttributeConsistency
from mixres.evaluation.clustering import ClusteringAccuracy
from mixres.evaluation.dependency import NeuralDependency
from mixres.evaluation.disentanglement import Disentanglement
from mixres.evaluation.few_shot import FewShot
from mixres.evaluation.frozen_probe import FrozenProbe
from mixres.evaluation.interpolation import InterpolationFigure
from mixres.evaluation.lines import LinesInterpolation
from mixres.evaluation.probe import ProbeAccuracy
from mixres.evaluation.reconstruction import Reconstruction
from mixres.evaluation.sampling import GaussianSamples
from mixres.evaluation.toys import ToyMixes

EVALUATORS = {
    'attribute_consistency': AttributeConsistency,
    'clustering': ClusteringAccuracy,
    'disentanglement': Disentanglement,
    'few_shot': FewShot,
    'frozen_probe': FrozenProbe,
    'gaussian_samples': GaussianSamples,
    'interpolation': InterpolationFigure,
    'lines': LinesInterpolation,
    'ndm': NeuralDependency,
    'probe': ProbeAccuracy,
    'reconstruction': Reconstruction,
    'toy_mixes': ToyMixes,
}


def check_names(config) -> None:
  """ValueError for an unknown name in config.eval.evaluators or config.eval.every."""
  unknown = [name for name in config.eval.evaluators if name not in EVALUATORS]
  if unknown:
    raise ValueError(f'config.eval.evaluators has unknown {unknown}; choose from: '
                     f'{", ".join(sorted(EVALUATORS))}')
  unknown = [name for name in config.eval.every if name not in EVALUATORS]
  if unknown:
    raise ValueError(f'config.eval.every has unknown {unknown}; choose from: '
                     f'{", ".join(sorted(EVALUATORS))}')


# Built last: these train (or load) a Frechet classifier of their own when built (minutes), so
# the other evaluators' refusals (their data checks) come before that work.
TRAIN_ON_BUILD = ('attribute_consistency', 'few_shot', 'gaussian_samples')


def build(config, objective, mesh, valid_source) -> dict:
  """Evaluator name -> evaluator, in the order config.eval.evaluators lists them."""
  check_names(config)
  cheap_first = sorted(config.eval.evaluators, key=lambda name: name in TRAIN_ON_BUILD)
  built = {name: EVALUATORS[name](objective, config, mesh, valid_source) for name in cheap_first}
  return {name: built[name] for name in config.eval.evaluators}
