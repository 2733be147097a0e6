"""The one generic loop: build data, init or restore, run steps, evaluate, checkpoint, log.

It knows nothing about any objective: an objective supplies `init`, `train_step` and `schedule`
(static flags per step, e.g. whether G updates), and evaluators supply numbers and figures.
"""

import contextlib
import json
import os
import sys
import time
from typing import Any, NamedTuple

import jax
import ml_collections
import numpy as np
from absl import logging
from etils import epath

from mixres import checkpoint
from mixres import config_checks as cc
from mixres import evaluation
from mixres import faults
from mixres import metric_writers
from mixres import objectives
from mixres import parallel
from mixres import steps
from mixres import validation
from mixres.data import pipeline
from mixres.data import sources
from mixres.evaluation import cadence


def shuffle_seed(config: ml_collections.ConfigDict) -> int:
  """The data order's seed: data.shuffle_seed, or the run's seed where it is -1 (AMR code)."""
  return int(config.seed) if int(config.data.shuffle_seed) < 0 else int(config.data.shuffle_seed)


def train_length(config: ml_collections.ConfigDict, clock: pipeline.EpochClock) -> int:
  """Steps to train: num_train_steps if set, else num_epochs over this training set."""
  if config.num_train_steps:
    return int(config.num_train_steps)
  return clock.train_steps(float(config.num_epochs))


MODEL_SIZES = ('latent', 'latent_width', 'depth', 'code_size', 'mlp_layers', 'mlp_width',
               'disc_channels')


def _abstract_state(objective, config: ml_collections.ConfigDict) -> Any:
  """The state's shapes (jax.eval_shape of init): a model the config cannot build says so here.

  Each family checks the sizes it knows of; this catches the rest (e.g. a depth that halves the
  image below one pixel) in one line naming the model's fields, before any work.
  """
  try:
    return jax.eval_shape(objective.init, jax.random.PRNGKey(config.seed))
  except ValueError as error:
    if str(error).startswith('config.'):  # Already one line naming its field.
      raise
    failure = error
  except (TypeError, ZeroDivisionError, IndexError) as error:  # Shapes that do not compose.
    failure = error
  m = config.model
  sizes = ', '.join(f'{k}={m[k]!r}' for k in MODEL_SIZES if k in m)
  raise ValueError(f'config.model (arch={m.arch!r}, {sizes}) cannot build a network for inputs '
                   f'of shape {tuple(objective.image_shape)}: {faults.first_line(failure)}')


class Due(NamedTuple):
  """What falls after a number of steps (Experiment.due_after); a call of steps ends there."""
  log: bool
  checkpoint: bool
  evaluators: list[str]  # Their names.
  profile_start: bool  # config.profile_steps's window begins with the next step.
  profile_stop: bool  # ... and ends with this one.


class Experiment:
  """Everything built from a config before any work is done; every check happens here."""

  def __init__(self, config: ml_collections.ConfigDict, workdir: str):
    validation.validate(config)
    self.config, self.workdir = config, workdir
    self.train_source, self.valid_source = sources.build(config)
    self.image_shape = sources.image_shape(self.train_source)
    pipeline.check_augment(config.data.augment)
    self.objective = objectives.get_objective(config, self.image_shape)
    self.abstract_state = _abstract_state(self.objective, config)  # Shapes only: no compilation.
    self.mesh = parallel.make_mesh(config.num_devices)
    parallel.check_batch_size(config.batch_size, self.mesh)
    self.clock = pipeline.EpochClock(len(self.train_source), config.batch_size,
                                     config.data.batching)
    self.num_train_steps = train_length(config, self.clock)
    self.profile_window = cc.check_step_window(config, 'profile_steps', self.num_train_steps)
    if self.clock.last_batch_size() % self.mesh.size:
      raise ValueError(
          f"config.data.batching='epoch' ends each epoch with a batch of "
          f'{self.clock.last_batch_size()}, which {self.mesh.size} devices cannot share '
          "evenly; use config.data.batching='stream' (or fewer devices)")
    self.cadences = cadence.build(config, config.eval.evaluators)  # Before any evaluator's work.
    evaluation.check_names(config)
    # After the config's checks, before the checkpointer's first barrier (Orbax's: collectives).
    parallel.connect_processes(self.mesh)
    self.checkpointer = checkpoint.Checkpointer(os.path.join(workdir, 'checkpoints'),
                                                config.keep_checkpoints)
    self.checkpointer.check_compatible(config, len(self.train_source))
    # Last: some evaluators train a classifier of their own (minutes), so every refusal above
    # comes first.
    self.evaluators = evaluation.build(config, self.objective, self.mesh, self.valid_source)
    self.steps_per_call = int(config.steps_per_call) or steps.schedule_period(self.objective)
    self._calls, self._steps = {}, {}

  def init_state(self):
    replicated = parallel.replicated(self.mesh)
    rng = jax.random.PRNGKey(self.config.seed)
    return jax.jit(self.objective.init, out_shardings=replicated)(rng)

  def restore_or_init(self) -> tuple[Any, dict[str, Any]]:
    """The newest readable checkpoint's (state, meta), or a fresh state."""
    restored = None
    if self.checkpointer.latest_step() is not None:
      replicated = parallel.replicated(self.mesh)
      abstract = jax.tree.map(
          lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=replicated),
          self.abstract_state)
      restored = self.checkpointer.restore(abstract)
    return restored if restored is not None else (self.init_state(), {})

  def schedule_flags(self, step: int) -> tuple[tuple[str, bool], ...]:
    """The objective's static flags for the step numbered `step`, as a hashable key."""
    return tuple(sorted(self.objective.schedule(self.clock.schedule_step(step)).items()))

  def steps_in_call(self, step: int) -> int:
    """How many steps the call starting at `step` runs: up to the next multiple of
    steps_per_call, or fewer where the run ends or a log, evaluation or checkpoint is due."""
    n = 1
    while (step + n < self.num_train_steps and (step + n) % self.steps_per_call
           and not self._call_ends_at(step + n)):
      n += 1
    return n

  def due_after(self, step: int) -> Due:
    """What falls after `step` steps: a log, a checkpoint and every evaluator at the last."""
    last = step == self.num_train_steps
    start, end = self.profile_window or (None, None)
    return Due(log=step % self.config.log_every == 0 or last,
               checkpoint=step % self.config.checkpoint_every == 0 or last,
               evaluators=self.due_evaluators(step, last=last),
               profile_start=start is not None and step == start - 1,
               profile_stop=step == end)

  def _call_ends_at(self, step: int) -> bool:
    config, clock = self.config, self.clock
    if any(self.due_after(step)):
      return True
    if config.data.batching != 'epoch':
      return False
    # An epoch's smaller last batch cannot be stacked with full ones: it runs in a call alone.
    in_epoch = clock.schedule_step(step)
    return in_epoch == 0 or (in_epoch == clock.batches_per_epoch - 1
                             and clock.last_batch_size() != config.batch_size)

  def train_step(self, step: int):
    """The jitted single step for `step` on one batch (for tests and tools; the loop runs
    `train_call`s), one per set of schedule flags. Its metrics carry steps.FINITE_STATE
    (mixres/steps.py)."""
    flags = (self.schedule_flags(step),)
    if flags not in self._steps:
      self._steps[flags] = steps.jit_steps(self.objective, self.mesh, flags, stacked=False)
    return self._steps[flags]

  def train_call(self, first: int, batches: Any, state: Any) -> tuple[Any, float | None]:
    """(the compiled call of steps first, first + 1, ... on `batches` stacked (n, B, ...),
    seconds its compilation took, or None when it was compiled before).

    One executable per distinct sequence of schedule flags and batch shapes: a run compiles a
    few and reuses them.
    """
    n = jax.tree.leaves(batches)[0].shape[0]
    flags = tuple(self.schedule_flags(s) for s in range(first, first + n))
    key = (flags, tuple(x.shape for x in jax.tree.leaves(batches)))
    if key in self._calls:
      return self._calls[key], None
    start = time.perf_counter()
    call = steps.jit_steps(self.objective, self.mesh, flags, stacked=True)
    self._calls[key] = call.lower(state, batches).compile()
    return self._calls[key], time.perf_counter() - start

  def due_evaluators(self, step: int, last: bool = False) -> list[str]:
    """Evaluators whose cadence falls after `step` steps (all of them at the last step)."""
    return [name for name, c in self.cadences.items() if last or c.due(step, self.clock)]

  def evaluate(self, state, names=None) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Scalars and images of the evaluators `names` (default: all of them)."""
    scalars, images = {}, {}
    for name in self.evaluators if names is None else names:
      s, i = self.evaluators[name](state)
      scalars.update(s)
      images.update(i)
    return scalars, images


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, float]:
  """Trains (or resumes) to the config's length; returns the last logged and eval scalars.

  Raises faults.Preempted after saving on SIGTERM/SIGINT, faults.Diverged on a non-finite loss or
  parameter (after `divergence_rollbacks` rollbacks), faults.CheckpointFailed when a save fails.
  """
  experiment = Experiment(config, workdir)  # Raises on bad input before anything is written.
  num_steps = experiment.num_train_steps
  ckpt = experiment.checkpointer
  state, meta = experiment.restore_or_init()
  step = int(state.step)
  best = dict(meta.get('best', {}))
  # Batch i feeds step i, except batches skipped after a divergence: the data position (the
  # next batch's index) is saved beside the step (mixres/data/pipeline.py).
  position = int(meta.get('data', {}).get('position', step))
  skipped = set(meta.get('data', {}).get('skipped', []))
  rollbacks = int(meta.get('rollbacks', 0))
  logging.info('%s at step %d on %d devices (%d processes)', config.objective, step,
               experiment.mesh.size, jax.process_count())
  logging.info('%s', sources.describe(config, experiment.train_source, experiment.valid_source))

  writer = metric_writers.MetricWriter(workdir)
  writer.write_hparams(cc.flatten(config))
  if jax.process_index() == 0:
    (epath.Path(workdir) / 'config.json').write_text(config.to_json_best_effort(indent=2))
    print(metric_writers.parameter_table(experiment.abstract_state.params,
                                         experiment.objective.groups), flush=True)

  batches = pipeline.train_batches(experiment.train_source, config.batch_size,
                                   shuffle_seed(config), config.data.augment,
                                   batching=config.data.batching)

  def calls(step: int, position: int):
    """(first step, the batches' positions, the batches stacked on the mesh) of each call from
    `step`, read from data position `position` on; batches that made the run diverge once
    (`skipped`) are passed over."""
    host = pipeline.iterate(batches, start=position)
    while step < num_steps:
      n = experiment.steps_in_call(step)
      positions, items = [], []
      while len(items) < n:
        batch = next(host)
        if position not in skipped:
          positions.append(position)
          items.append(batch)
        position += 1
      stacked = jax.tree.map(lambda *xs: np.stack(xs), *items)
      yield step, positions, parallel.to_global(experiment.mesh, stacked, stacked=True)
      step += n

  call_iter = parallel.read_ahead(calls(step, position))
  progress = metric_writers.ProgressReporter(num_steps, config.batch_size, step)
  history, summary = [], {}  # history: (step index, batch position, metrics) since last check.

  def save(force: bool = False):
    meta = {'config': json.loads(config.to_json()), 'best': best, 'step': step,
            'rollbacks': rollbacks,
            'data': {'position': position, 'skipped': sorted(skipped),
                     'train_examples': len(experiment.train_source)}}
    ckpt.save(step, state, meta, force=force)

  def evaluate(names=None):
    scalars, images = experiment.evaluate(state, names)
    for name in experiment.evaluators if names is None else names:
      for metric in experiment.evaluators[name].maximize:
        best[metric] = max(best.get(metric, -np.inf), scalars[metric])
    scalars.update({f'best/{k}': v for k, v in best.items()})
    writer.write_scalars(step, scalars)
    writer.write_images(step, images)
    summary.update(scalars)
    progress.report_evaluation(step, scalars)

  def check_finite(logged: bool) -> dict[str, float] | None:
    """Mean metrics since the last log (which `logged` starts anew), or None after a rollback;
    Diverged when out of rollbacks."""
    nonlocal history, state, step, position, rollbacks, call_iter, best
    fetched = jax.device_get(history)  # Host copies: a later check reads them again for free.
    history = [] if logged else fetched
    divergence = steps.first_divergence([(i, m) for i, _, m in fetched])
    if divergence is None:
      return steps.mean_metrics([m for _, _, m in fetched])
    history = []
    bad_step, terms = divergence
    bad_position = next(p for i, p, _ in fetched if i == bad_step)
    good = ckpt.latest_step()
    where = f'non-finite {", ".join(terms)} at step {bad_step + 1}'
    if good is None or rollbacks >= int(config.divergence_rollbacks):
      kept = f'the last good checkpoint is step {good}' if good is not None else (
          'no checkpoint was written before it')
      tried = f' after {rollbacks} rollback(s)' if rollbacks else ''
      raise faults.Diverged(f'{where}{tried}; {kept}; lower the learning rate, or set '
                            'config.divergence_rollbacks to roll back and skip the batch')
    state, good_meta = experiment.restore_or_init()
    rollbacks += 1
    step, position = int(state.step), int(good_meta['data']['position'])
    best = dict(good_meta['best'])
    skipped.update(set(good_meta['data'].get('skipped', [])) | {bad_position})
    call_iter = parallel.read_ahead(calls(step, position))
    print(f'warning: {where}: rolled back to step {step}, batch {bad_position} skipped '
          f'(rollback {rollbacks} of {config.divergence_rollbacks})', file=sys.stderr, flush=True)
    return None

  start = time.perf_counter()
  preempted = None
  try:
    with (faults.StopRequest(multihost=jax.process_count() > 1) as stop,
          metric_writers.Profiler(workdir) as profiler):
      while step < num_steps:
        first, positions, stacked = next(call_iter)
        run_call, compile_seconds = experiment.train_call(first, stacked, state)
        if compile_seconds is not None and jax.process_index() == 0:
          print(f'compiled steps {first + 1}-{first + len(positions)}: {compile_seconds:.1f} s',
                flush=True)
        if experiment.due_after(first).profile_start:  # After the compilation: steps only.
          profiler.start()
        state, metrics = run_call(state, stacked)  # Metrics stay on the devices until a log.
        history.extend(zip(range(first, first + len(positions)), positions, metrics))
        step, position = first + len(positions), positions[-1] + 1
        due = experiment.due_after(step)
        if due.profile_stop:
          profiler.stop(state, config.profile_steps)
        if due.log or due.checkpoint or due.evaluators:
          # Never a non-finite state in a checkpoint or an evaluation.
          scalars = check_finite(logged=due.log)
          if scalars is None:
            continue  # Rolled back.
          if due.log:
            writer.write_scalars(step, scalars)
            progress.report(step, scalars)
            summary.update(scalars)
        if due.evaluators:
          evaluate(due.evaluators)
        if due.checkpoint:
          save()
        # Orbax's sync point is one step number: every step of the call is asked.
        notices = [ckpt.reached_preemption(s) for s in range(first + 1, step + 1)]
        preempted = stop.signal_name or ('preemption notice' if any(notices) else None)
        if preempted:
          if not due.checkpoint:
            if check_finite(logged=False) is None:
              continue  # Diverged just before the signal: rolled back, stop at the next step.
            save(force=True)
          break
    if not summary and not preempted:  # Resumed a finished run: report its evaluation again.
      evaluate()
    ckpt.wait()
  except BaseException:
    ckpt.close()
    with contextlib.suppress(OSError):  # E.g. the same full disk: the first error is the one.
      writer.close()
    raise
  ckpt.close()
  writer.close()
  if preempted:
    raise faults.Preempted(f'{preempted}: checkpoint saved at step {step} of {num_steps}; run the '
                           'same command to resume from it')
  summary['train/wall_seconds'] = time.perf_counter() - start
  return summary
