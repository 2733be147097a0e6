"""Compiled calls of several train steps, and the host-side reading of their metrics.

The loop (mixres/train.py) runs a run as calls of `steps_per_call` steps (`jit_steps`); each
step's metrics carry FINITE_STATE, which `first_divergence` reads when the loop checks them.
"""

import functools
from typing import Any

import jax
import numpy as np

from mixres import faults
from mixres import parallel

FINITE_STATE = 'finite_state'  # Not a logged metric: read by the divergence check.


def jit_steps(objective, mesh, flags: tuple[Any, ...], stacked: bool):
  """The steps of `flags` (one schedule flag set per step, as Experiment.schedule_flags) as one
  jitted function of (state, batches), unrolled: XLA:CPU runs backward convolutions inside a
  rolled loop (lax.scan) about 40x slower (docs/faithfulness.md#xla-on-cpu). `stacked`: batches
  (n, B, ...), metrics a list, one dict per step; else one batch and its metrics. Each step's
  metrics carry FINITE_STATE, whether every float in the new state is finite, computed in the
  same executable: divergence is caught without a device sync per step. The state is donated."""
  # One inner jit per flag set: JAX traces and lowers each kind of step once, however many
  # the call holds, and XLA inlines them into one executable.
  steps = {f: jax.jit(functools.partial(objective.train_step, **dict(f))) for f in set(flags)}

  def call(state, batches):
    metrics = []
    for i, step_flags in enumerate(flags):
      batch = jax.tree.map(lambda x, i=i: x[i], batches) if stacked else batches
      state, step_metrics = steps[step_flags](state, batch)
      metrics.append({**step_metrics, FINITE_STATE: faults.state_is_finite(state)})
    return state, metrics if stacked else metrics[0]

  replicated = parallel.replicated(mesh)
  data = (parallel.stacked_data_sharded if stacked else parallel.data_sharded)(mesh)
  return jax.jit(call, in_shardings=(replicated, data), out_shardings=(replicated, replicated),
                 donate_argnums=0)


def schedule_period(objective, horizon: int = 64) -> int:
  """The smallest p <= horizon with schedule(s + p) == schedule(s) for s < horizon (1 if none):
  one period (AE+GAN's G every 5th step: 5) is what a call runs by default."""
  flags = [objective.schedule(s) for s in range(2 * horizon)]
  return next((p for p in range(1, horizon + 1)
               if all(flags[s] == flags[s + p] for s in range(horizon))), 1)


def mean_metrics(history: list[dict[str, Any]]) -> dict[str, float]:
  """Averages each metric over the steps that reported it (G metrics only exist on G steps)."""
  names = sorted({k for metrics in history for k in metrics} - {FINITE_STATE})
  return {k: float(np.mean([m[k] for m in history if k in m])) for k in names}


def first_divergence(history: list[tuple[int, dict[str, Any]]]
                     ) -> tuple[int, list[str]] | None:
  """(step index, what went non-finite) of the first bad step in host-side `history`."""
  for index, metrics in history:
    bad = [k for k, v in metrics.items() if k != FINITE_STATE and not np.all(np.isfinite(v))]
    if not metrics.get(FINITE_STATE, True):
      bad.append('parameters')
    if bad:
      return index, bad
  return None
