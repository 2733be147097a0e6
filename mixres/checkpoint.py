"""Orbax checkpoints of (TrainState, meta): save every N steps, resume from the latest.

`meta` is JSON: the run's config (to refuse resuming a different experiment), the best metrics
so far, the step, and the data iterator's state: the index of the next batch, the batches skipped
after a divergence, and the size of the training set it indexes (batch i is `batches[i]`,
mixres/data/pipeline.py).

Faults: a checkpoint that cannot be read (truncated or corrupt files) is moved aside to
`unreadable_checkpoints/` beside the checkpoints, said in one line, and the next older one is
used; a save that cannot be written (full disk) raises `faults.CheckpointFailed`, whose message
names the last complete checkpoint. Orbax's temporary directories of interrupted or failed
saves are removed when the manager next starts.
"""

import json
import sys
from typing import Any

import jax
import ml_collections
import orbax.checkpoint as ocp

from mixres import config_checks as cc
from mixres import defaults
from mixres import faults
from mixres import parallel
from mixres import paths

# Fields that may change between a run and its resumption: how long and how often, not what;
# also anything under config.eval (how the run is measured, not what it trains).
RESUMABLE_FIELDS = ('num_train_steps', 'num_epochs', 'log_every', 'eval_every',
                    'checkpoint_every', 'keep_checkpoints', 'divergence_rollbacks',
                    'profile_steps', 'eval.*')


def config_differences(saved: dict[str, Any], config: ml_collections.ConfigDict) -> list[str]:
  """Fields whose values differ, ignoring RESUMABLE_FIELDS."""
  old, new = cc.flatten(saved), cc.flatten(json.loads(config.to_json()))
  return sorted(k for k in set(old) | set(new)
                if not _resumable(k) and old.get(k, '<unset>') != new.get(k, '<unset>'))


def _resumable(field: str) -> bool:
  return any(field == f or (f.endswith('.*') and field.startswith(f[:-1]))
             for f in RESUMABLE_FIELDS)


class Checkpointer:
  """CheckpointManager over `directory`; nothing is created until the first save."""

  def __init__(self, directory: str, keep: int = 3):
    self.directory = paths.absolute(directory)
    self._manager = None
    self._keep = keep

  @property
  def manager(self) -> ocp.CheckpointManager:
    if self._manager is None:
      self._manager = ocp.CheckpointManager(
          self.directory, item_names=('state', 'meta'),
          # Saves block until written: a run killed right after a checkpoint step then loses
          # at most `checkpoint_every` steps (a background write lost the interval before it
          # too: 11 of 10 steps in benchmarks/fault_trials.py). These states write in well
          # under a second.
          options=ocp.CheckpointManagerOptions(max_to_keep=self._keep, create=True,
                                               cleanup_tmp_directories=True,
                                               enable_async_checkpointing=False))
    return self._manager

  def latest_step(self) -> int | None:
    if not self.directory.is_dir():
      return None
    return self.manager.latest_step()

  def _newest_complete_step(self) -> int | None:
    """The newest finished save, read from the directory: no manager, so no collective (after
    a failed save the other processes may not be at the same point). Orbax's own test of
    "finished": a step directory renamed from its temporary name, or on gs:// (no renames)
    one holding commit_success.txt."""
    return max(ocp.utils.checkpoint_steps(self.directory), default=None)

  def _restore_newest(self, args_of) -> tuple[int, Any] | None:
    """(step, restored) of the newest checkpoint that reads; unreadable ones are moved aside."""
    while (step := self.latest_step()) is not None:
      try:
        return step, self.manager.restore(step, args=args_of())
      except Exception as error:  # Orbax and TensorStore raise many types for a broken file.
        self._set_aside(step, error)
    return None

  def _set_aside(self, step: int, error: Exception) -> None:
    """Moves an unreadable checkpoint out of the manager's sight (never deletes it)."""
    aside = self.directory.parent / 'unreadable_checkpoints'
    target = aside / str(step)
    suffix = 1
    while target.exists():
      target, suffix = aside / f'{step}.{suffix}', suffix + 1
    if jax.process_index() == 0:
      aside.mkdir(parents=True, exist_ok=True)
      paths.move_tree(self.directory / str(step), target)
      print(f'warning: checkpoint step {step} is unreadable ({faults.first_line(error)}); moved '
            f'to {target}, trying the one before', file=sys.stderr, flush=True)
    parallel.barrier(f'set aside checkpoint {step}')
    self.close()
    self._manager = None  # Rescans the directory.

  def check_compatible(self, config: ml_collections.ConfigDict, train_examples: int) -> None:
    """Raises ValueError, before any work, if the latest checkpoint is another experiment's.

    Also if the training set changed size (e.g. other local files): the saved data position
    would index different batches.
    """
    newest = self._restore_newest(lambda: ocp.args.Composite(meta=ocp.args.JsonRestore()))
    if newest is None:
      return
    step, saved = newest
    # Fields added since the save read as their defaults (mixres/defaults.py).
    saved_config = defaults.fill_missing(saved.meta['config'])
    differences = config_differences(saved_config, config)
    if differences:
      old, new = cc.flatten(saved_config), cc.flatten(json.loads(config.to_json()))
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

  def restore(self, abstract_state: Any) -> tuple[Any, dict[str, Any]] | None:
    """(state, meta) of the newest readable checkpoint, or None if there is none.

    `abstract_state` gives shapes, dtypes and shardings.
    """
    newest = self._restore_newest(lambda: ocp.args.Composite(
        state=ocp.args.StandardRestore(abstract_state), meta=ocp.args.JsonRestore()))
    if newest is None:
      return None
    _, restored = newest
    return restored.state, restored.meta

  def save(self, step: int, state: Any, meta: dict[str, Any], force: bool = False) -> bool:
    """Writes `step` (saves are synchronous); a failure raises faults.CheckpointFailed."""
    held_back = faults.HeldBackOutput()
    try:
      with held_back:
        return self.manager.save(step, args=ocp.args.Composite(
            state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)), force=force)
    except Exception as error:
      # The partial save's temporary directory stays until the next start removes it: writer
      # threads of the failed save may still be running, and would make it again. The manager
      # is dropped, not closed: closing its event loop under those threads makes each of them
      # print a traceback of its own.
      self._manager = None
      latest = self._newest_complete_step()
      kept = (f'step {latest} is the last complete one' if latest is not None
              else 'none is complete')
      report = held_back.write_report(f'mixres-checkpoint-{step}-')
      details = f'; Orbax\'s own report: {report}' if report else ''
      raise faults.CheckpointFailed(
          f'checkpoint at step {step} could not be written ({faults.first_line(error)}); '
          f'{kept}; the run stops here: free space (or fix the workdir) and run the same command '
          f'to resume{details}') from error

  def reached_preemption(self, step: int) -> bool:
    return self.manager.reached_preemption(step)

  def wait(self) -> None:
    if self._manager is not None:
      self._manager.wait_until_finished()

  def close(self) -> None:
    if self._manager is not None:
      self._manager.close()

