"""Orbax checkpoints of (TrainState, meta): save every N steps, resume from the latest.

`meta` is JSON: the run's config (to refuse resuming a different experiment), the best metrics
so far, the step, and the data iterator's state: the index of the next batch and the size of the
training set it indexes (batch i is `batches[i]`, mixres/data/pipeline.py).
"""

import json
import os
from typing import Any

import ml_collections
import orbax.checkpoint as ocp

# Fields that may change between a run and its resumption: how long and how often, not what;
# also anything under config.eval (how the run is measured, not what it trains).
RESUMABLE_FIELDS = ('num_train_steps', 'num_epochs', 'log_every', 'eval_every',
                    'checkpoint_every', 'keep_checkpoints', 'eval.*')


def _flatten(tree: dict[str, Any], prefix: str = '') -> dict[str, Any]:
  flat = {}
  for key, value in tree.items():
    if isinstance(value, dict):
      flat.update(_flatten(value, f'{prefix}{key}.'))
    else:
      flat[f'{prefix}{key}'] = value
  return flat


def config_differences(saved: dict[str, Any], config: ml_collections.ConfigDict) -> list[str]:
  """Fields whose values differ, ignoring RESUMABLE_FIELDS."""
  old, new = _flatten(saved), _flatten(json.loads(config.to_json()))
  return sorted(k for k in set(old) | set(new)
                if not _resumable(k) and old.get(k, '<unset>') != new.get(k, '<unset>'))


def _resumable(field: str) -> bool:
  return any(field == f or (f.endswith('.*') and field.startswith(f[:-1]))
             for f in RESUMABLE_FIELDS)


class Checkpointer:
  """CheckpointManager over `directory`; nothing is created until the first save."""

  def __init__(self, directory: str, keep: int = 3):
    self.directory = os.path.abspath(directory)
    self._manager = None
    self._keep = keep

  @property
  def manager(self) -> ocp.CheckpointManager:
    if self._manager is None:
      self._manager = ocp.CheckpointManager(
          self.directory, item_names=('state', 'meta'),
          options=ocp.CheckpointManagerOptions(max_to_keep=self._keep, create=True))
    return self._manager

  def latest_step(self) -> int | None:
    if not os.path.isdir(self.directory):
      return None
    return self.manager.latest_step()

  def check_compatible(self, config: ml_collections.ConfigDict, train_examples: int) -> None:
    """Raises ValueError, before any work, if the latest checkpoint is another experiment's.

    Also if the training set changed size (e.g. other local files): the saved data position
    would index different batches.
    """
    step = self.latest_step()
    if step is None:
      return
    saved = self.manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))
    differences = config_differences(saved.meta['config'], config)
    if differences:
      old, new = _flatten(saved.meta['config']), _flatten(json.loads(config.to_json()))
      shown = ', '.join(f'{k}: {old.get(k, "<unset>")!r} -> {new.get(k, "<unset>")!r}'
                        for k in differences[:5])
      raise ValueError(
          f'workdir holds a checkpoint (step {step}) of a different config ({shown}); use '
          f'another --workdir, or the same config (only {", ".join(RESUMABLE_FIELDS)} may '
          'change on resume)')
    saved_examples = saved.meta.get('data', {}).get('train_examples', train_examples)
    if saved_examples != train_examples:
      raise ValueError(
          f'workdir holds a checkpoint (step {step}) trained on {saved_examples} examples; '
          f'config.data now gives {train_examples}; use another --workdir or the same data')

  def restore(self, abstract_state: Any) -> tuple[Any, dict[str, Any]]:
    """(state, meta) of the latest step; `abstract_state` gives shapes, dtypes and shardings."""
    step = self.latest_step()
    restored = self.manager.restore(step, args=ocp.args.Composite(
        state=ocp.args.StandardRestore(abstract_state), meta=ocp.args.JsonRestore()))
    return restored.state, restored.meta

  def save(self, step: int, state: Any, meta: dict[str, Any], force: bool = False) -> bool:
    saved = self.manager.save(step, args=ocp.args.Composite(
        state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)), force=force)
    return saved

  def reached_preemption(self, step: int) -> bool:
    return self.manager.reached_preemption(step)

  def wait(self) -> None:
    if self._manager is not None:
      self._manager.wait_until_finished()

  def close(self) -> None:
    if self._manager is not None:
      self._manager.close()

