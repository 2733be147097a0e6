"""TrainState: everything a run carries from step to step, as one pytree."""

from typing import Any

import flax
import jax


@flax.struct.dataclass
class TrainState:
  """Params and optimiser state per network group, mutable collections, step and base rng.

  Attributes:
    step: scalar int32, the number of completed train steps.
    params: group name -> params, e.g. {'generator': {'encoder', 'decoder'}, 'disc', 'probe'}.
    opt_state: group name -> optax state, same keys as `params`.
    collections: network name -> mutable Flax collections, e.g. {'disc': {'spectral': ...}}.
    rng: raw uint32 PRNG key; step keys are `fold_in(rng, step)`, so a resumed run draws the
      same randomness as an uninterrupted one.
  """
  step: jax.Array
  params: dict[str, Any]
  opt_state: dict[str, Any]
  collections: dict[str, Any]
  rng: jax.Array
