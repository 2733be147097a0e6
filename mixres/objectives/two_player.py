"""The one update every objective's step goes through: a generator and, optionally, its judge.

An objective writes its losses; `TwoPlayer.update` does the rest:

- `generator_loss(params, state, batch, key, **flags) -> (loss, Played)`: G's loss in its
  optimiser group's `params`. Every other network reads `state.params`, so D's parameters are
  constants here. The `Played` aux is what the rest of the step reads of this forward pass.
- `discriminator_loss(params, state, batch, played, key) -> (loss, (collections, metrics))`: D's
  loss in its group's `params`. `played` arrives behind stop_gradient: D judges G's outputs as
  constants, so its loss never reaches G. Objectives without D's group (ae, vae, augint, DIM
  without its prior term) have no D half.

Both groups step from the parameters before the step, as in the reference codes (G's step,
then D's on the detached outputs of the same forward pass); the collections each player wrote
(BatchNorm averages, D's spectral-norm vectors) go back into the state and the metrics merge.
On steps where the schedule says G does not update (`update_generator=False`) G's half still
runs, without a gradient, so D judges exactly what it would have judged; XLA drops what only
G's loss needed. GAIA, whose two losses both read one forward pass of both networks, overrides
`gradients` with `shared_forward_gradients`: one forward, two pullbacks.
"""

from typing import Any, Callable, NamedTuple

import jax

Metrics = dict[str, jax.Array]


class Played(NamedTuple):
  """What G's half of a step hands on to D's half and to the loop."""
  codes: jax.Array  # f(x) as the linear probe reads it (base.Objective.update_probe)
  disc_inputs: Any = ()  # what D's loss reads of this forward pass: its fakes, say
  metrics: Metrics = {}  # G's loss terms; reported on the steps where G updates
  collections: dict[str, Any] = {}  # network -> the collections G's forward wrote
  disc_state: Any = None  # D's collection after G's half (spectral vectors that advanced)
  lr_scales: dict[str, Any] = {}  # group -> learning-rate multiplier (GAIA); default 1


def shared_forward_gradients(forward: Callable, gen_params, disc_params,
                             gen_loss: Callable, disc_loss: Callable):
  """Both players' gradients from one forward pass whose outputs both losses read.

  forward(gen_params, disc_params) -> (outputs, aux); gen_loss and disc_loss map the outputs to
  each player's loss. G's loss is pulled back to gen_params only and D's to disc_params only:
  the gradients of two forwards, each holding the other player's parameters constant, from one.
  Returns (outputs, aux, gen_grads, disc_grads).
  """
  outputs, pullback, aux = jax.vjp(forward, gen_params, disc_params, has_aux=True)
  gen_grads = pullback(jax.grad(gen_loss)(outputs))[0]
  disc_grads = pullback(jax.grad(disc_loss)(outputs))[1]
  return outputs, aux, gen_grads, disc_grads


class TwoPlayer:
  """The update of base.Objective (module docstring); subclasses write the losses."""

  players: tuple[str, str] = ('generator', 'disc')  # (G's optimiser group, D's)

  def generator_loss(self, params, state, batch, key, **flags) -> tuple[jax.Array, Played]:
    raise NotImplementedError

  def discriminator_loss(self, params, state, batch, played: Played, key
                         ) -> tuple[jax.Array, tuple[dict[str, Any], Metrics]]:
    raise NotImplementedError

  def gradients(self, state, batch, key, update_generator: bool = True, **flags
                ) -> tuple[dict[str, Any], Played]:
    """(group -> gradients, Played with both players' metrics and collections), both players
    from the parameters before the step. flags: the schedule's, passed to generator_loss."""
    gen_group, disc_group = self.players
    params = self.group_params(state.params, gen_group)
    grads = {}
    if update_generator:
      (_, played), grads[gen_group] = jax.value_and_grad(self.generator_loss, has_aux=True)(
          params, state, batch, key, **flags)
    else:
      played = self.generator_loss(params, state, batch, key, **flags)[1]._replace(metrics={})
    played = jax.lax.stop_gradient(played)
    if disc_group in self.groups:
      (_, (collections, metrics)), grads[disc_group] = jax.value_and_grad(
          self.discriminator_loss, has_aux=True)(self.group_params(state.params, disc_group),
                                                 state, batch, played, key)
      played = played._replace(metrics={**played.metrics, **metrics},
                               collections={**played.collections, **collections})
    return grads, played

  def update(self, state, batch, key, **flags):
    """One optimiser step per player; returns (state, metrics, the probe's codes)."""
    grads, played = self.gradients(state, batch, key, **flags)
    metrics = dict(played.metrics)
    for group, group_grads in grads.items():
      state, opt_metrics = self.apply_gradients(state, group, group_grads,
                                                played.lr_scales.get(group, 1.0))
      metrics.update(opt_metrics)
    state = state.replace(collections={**state.collections, **played.collections})
    return state, metrics, played.codes
