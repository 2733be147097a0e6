"""When each evaluator runs: `config.eval.every.<name>`, in steps or in epochs.

A probe read costs one encoder pass over the validation split; K-means with 1000 restarts or
the disentanglement votes cost minutes. So each evaluator has its own cadence: '' (the run's
`config.eval_every` steps), 'N' or 'N steps', or 'N epochs' (after every N-th pass over the
training set, which is when the AMR code reads its probe: models/base.py:71-97 validates at
every epoch's end, and the paper reports the best of those reads). Every evaluator also runs at
the last step.
"""

import dataclasses
import re

import ml_collections

from mixres.data import pipeline

_PATTERN = re.compile(r'^\s*(\d+)\s*(steps?|epochs?)?\s*$')


@dataclasses.dataclass(frozen=True)
class Cadence:
  count: int
  unit: str  # 'steps' or 'epochs'

  def due(self, step: int, clock: pipeline.EpochClock) -> bool:
    """Whether to run after `step` steps (step >= 1)."""
    if self.unit == 'steps':
      return step % self.count == 0
    epochs = clock.epochs_done(step)
    return epochs > clock.epochs_done(step - 1) and epochs % self.count == 0


def parse(name: str, value: str, default_steps: int) -> Cadence:
  """config.eval.every.<name> -> Cadence; ValueError naming the field and the valid forms."""
  if value in ('', None):
    return Cadence(int(default_steps), 'steps')
  match = _PATTERN.match(str(value))
  if not match or int(match.group(1)) < 1:
    raise ValueError(f'config.eval.every.{name}={value!r} is not a cadence; use \'\' (every '
                     "config.eval_every steps), 'N steps' or 'N epochs' with N >= 1")
  unit = 'epochs' if (match.group(2) or '').startswith('epoch') else 'steps'
  return Cadence(int(match.group(1)), unit)


def build(config: ml_collections.ConfigDict, names) -> dict[str, Cadence]:
  """The cadence of each evaluator in `names`; also refuses fields for unknown evaluators."""
  every = config.eval.every
  return {name: parse(name, every.get(name, ''), config.eval_every) for name in names}
