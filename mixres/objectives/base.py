"""What every objective shares: an encoder/decoder pair, optimiser groups and the linear probe.

An objective owns its networks and losses; the train step here runs them. The generic loop
(mixres/train.py) only calls `init`, `train_step`, `encode`, `decode`, `probe_inputs` and
`probe_logits`.

Subclasses declare `groups` (optimiser group -> networks it updates), add networks in
`build_networks`, and write their losses, `generator_loss` and, with a discriminator,
`discriminator_loss`: the one update that steps them is two_player.TwoPlayer's.
"""

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from mixres import config_checks as cc
from mixres import models
from mixres import precision
from mixres.models import probe as probe_lib
from mixres.objectives import losses
from mixres.objectives import two_player
from mixres.state import TrainState

Metrics = two_player.Metrics
SPECTRAL_UPDATES = ('per_step', 'per_forward')
# BatchNorm's running averages: a network's collection in the state, and the entry of
# inference_params (network name -> statistics) that encode/decode read them from.
BATCH_STATS = 'batch_stats'


def adam_l2(optim: ml_collections.ConfigDict, lr: float | None = None
            ) -> optax.GradientTransformation:
  """Adam with *coupled* L2 weight decay, i.e. PyTorch's `Adam(weight_decay=...)`.

  The decay is added to the gradient before Adam's moments (not AdamW), as in the reference code.
  """
  return optax.chain(
      optax.add_decayed_weights(optim.weight_decay),
      optax.scale_by_adam(b1=optim.b1, b2=optim.b2),
      optax.scale(-(optim.lr if lr is None else lr)),
  )


class Objective(two_player.TwoPlayer):
  """Base class: encoder + decoder + linear probe; subclasses add losses and networks."""

  groups: dict[str, tuple[str, ...]] = {'generator': ('encoder', 'decoder')}
  # config.model.spectral_updates this objective implements (see `spectral_forwards`); without a
  # spectral-norm network either is vacuously right. Objectives with one narrow it.
  spectral_updates: tuple[str, ...] = SPECTRAL_UPDATES
  # Whether `update` carries BatchNorm running averages through the step (`forward` in
  # training); config.model.norm='batch' needs it. encode/decode read them in evaluation.
  batch_norm: bool = False

  def __init__(self, config: ml_collections.ConfigDict, image_shape: tuple[int, int, int]):
    self.config = config
    self.image_shape = tuple(image_shape)  # (H, W, C)
    losses.check_reconstruction(config.recon)
    if config.recon == 'bce_sum' and not models.tanh_output(config):
      raise ValueError("config.recon='bce_sum' reads the decoder's images as probabilities: it "
                       "needs a tanh decoder, config.model.arch='dsprites_amr', not "
                       f'config.model.arch={config.model.arch!r}')
    cc.check_choice(config, 'model.spectral_updates', SPECTRAL_UPDATES,
                    what='a power-iteration schedule')
    if config.model.spectral_updates not in self.spectral_updates:
      raise ValueError(f'config.model.spectral_updates={config.model.spectral_updates!r} is not '
                       f'implemented by config.objective={config.objective!r}; choose one of: '
                       f'{", ".join(self.spectral_updates)}')
    if config.model.get('norm') == 'batch' and not self.batch_norm:
      raise ValueError(f"config.model.norm='batch' needs BatchNorm statistics carried through "
                       f'the train step, which config.objective={config.objective!r} does not '
                       "do; use 'instance' or 'none'")
    self.networks = self.build_networks()
    self.optimizers = {group: adam_l2(config.optim) for group in self.groups}
    self.num_classes = config.data.num_classes
    if self.num_classes:
      # 'reference': torch's nn.Linear default, as the AMR code's probe (linear_legacy.py).
      self.networks['probe'] = probe_lib.LinearProbe(
          self.num_classes, torch_init=config.model.get('init', 'flax') == 'reference')
      self.optimizers['probe'] = adam_l2(config.optim, lr=config.probe_lr)
    # config.precision: every network computes in it and hands back float32 (precision.py).
    self.networks = precision.computing_in(self.networks, config)

  # ---------------------------------------------------------------------------------------------
  # Networks and state.

  def build_networks(self) -> dict[str, nn.Module]:
    encoder, decoder = models.build_autoencoder(self.config, self.image_shape)
    return {'encoder': encoder, 'decoder': decoder}

  def example_inputs(self) -> dict[str, jax.Array]:
    """One dummy input per network, for `init` (batch of 1)."""
    images = jnp.zeros((1, *self.image_shape), jnp.float32)
    codes = jax.eval_shape(self.networks['encoder'].init_with_output,
                           jax.random.key(0), images)[0]
    inputs = {'encoder': images, 'decoder': jnp.zeros(codes.shape, codes.dtype)}
    if 'probe' in self.networks:
      inputs['probe'] = inputs['decoder']
    return inputs

  def init(self, rng: jax.Array) -> TrainState:
    """Fresh state from a raw PRNG key."""
    init_rng, state_rng = jax.random.split(rng)
    params, collections = {}, {}
    inputs = self.example_inputs()
    for i, (name, module) in enumerate(sorted(self.networks.items())):
      variables = dict(module.init(jax.random.fold_in(init_rng, i), inputs[name]))
      params[name] = variables.pop('params')
      if 'spectral' in variables:  # Raw kernels where the family follows a torch reference.
        params[name] = models.redraw_spectral_kernels(
            self.config, jax.random.fold_in(init_rng, 1000 + i), params[name],
            variables['spectral'])
      if variables:
        collections[name] = variables
    opt_state = {group: opt.init(self.group_params(params, group))
                 for group, opt in self.optimizers.items()}
    return TrainState(step=jnp.zeros((), jnp.int32), params=params, opt_state=opt_state,
                      collections=collections, rng=state_rng)

  def group_networks(self, group: str) -> tuple[str, ...]:
    return self.groups.get(group, (group,))

  def group_params(self, params: dict[str, Any], group: str) -> dict[str, Any]:
    return {name: params[name] for name in self.group_networks(group)}

  def apply_gradients(self, state: TrainState, group: str, grads: dict[str, Any],
                      lr_scale: jax.Array | float = 1.0) -> tuple[TrainState, Metrics]:
    """One optimiser step of `group` on `grads` (a dict over the group's networks).

    lr_scale multiplies this step's learning rate (GAIA's balanced learning rates); Adam's
    update is linear in the learning rate, so scaling the update is exactly that.
    """
    old = self.group_params(state.params, group)
    updates, opt_state = self.optimizers[group].update(grads, state.opt_state[group], old)
    updates = jax.tree.map(lambda u: lr_scale * u, updates)
    new = optax.apply_updates(old, updates)
    state = state.replace(params={**state.params, **new},
                          opt_state={**state.opt_state, group: opt_state})
    return state, {f'{group}/grad_norm': optax.global_norm(grads),
                   f'{group}/param_norm': optax.global_norm(new)}

  def spectral_forwards(self, name: str, state: TrainState, batches: list[jax.Array],
                        params=None, collection=None, update: bool = False):
    """A spectral-norm network on each array of `batches`: (outputs, 'spectral' state after).

    config.model.spectral_updates says how its power iteration advances:
    - 'per_step': one call on the concatenated batches; the state takes one power iteration if
      `update` (the network's own update step) and otherwise stays as it was.
    - 'per_forward': as the AMR code, whose SpectralNorm runs one iteration in every forward
      (architectures/shared/spectral_normalization.py:66-68, called from `forward`): one call
      per batch, in order, each one iteration further, whatever `update` says.
    params: default state.params[name]; collection: default state.collections[name].
    """
    params = state.params[name] if params is None else params
    collection = state.collections[name] if collection is None else collection
    network = self.networks[name]
    if self.config.model.spectral_updates == 'per_forward':
      outputs = []
      for images in batches:
        out, collection = network.apply({'params': params, **collection}, images,
                                        update_stats=True, mutable=['spectral'])
        outputs.append(out)
      return outputs, collection
    ends = np.cumsum([b.shape[0] for b in batches])[:-1]
    variables = {'params': params, **collection}
    if update:
      out, collection = network.apply(variables, jnp.concatenate(batches), update_stats=True,
                                      mutable=['spectral'])
    else:
      out = network.apply(variables, jnp.concatenate(batches))
    pieces = jax.tree.map(lambda a: jnp.split(a, ends), out)  # Per leaf, a list of pieces.
    return [jax.tree.map(lambda _, p: p[i], out, pieces) for i in range(len(batches))], collection

  def advance_spectral(self, name: str, params, collection, forwards: int):
    """`collection` after `forwards` more power iterations ('per_forward' only; else as is).

    For the reference's forwards whose outputs nothing here uses (the AMR code runs D on the
    generator's outputs every step, also when G does not update): the iteration does not read
    the input, so a one-example dummy stands in for the batch.
    """
    if self.config.model.spectral_updates != 'per_forward' or forwards <= 0:
      return collection
    dummy = jnp.zeros(self.example_inputs()[name].shape, jnp.float32)
    for _ in range(forwards):
      _, collection = self.networks[name].apply({'params': params, **collection}, dummy,
                                                update_stats=True, mutable=['spectral'])
    return collection

  def forward(self, name: str, params: dict[str, Any], collections: dict[str, Any],
              x: jax.Array, train: bool = False) -> tuple[Any, dict[str, Any]]:
    """networks[name](x), and `collections` after. In training a network with BatchNorm
    normalises by the batch and its 'batch_stats' come back with the running averages moved;
    otherwise it uses the stored averages and `collections` come back as they were.
    params, collections: over networks, as state.params and state.collections."""
    stored = collections.get(name, {})
    variables = {'params': params[name], **stored}
    if BATCH_STATS not in stored:
      return self.networks[name].apply(variables, x), collections
    if not train:
      return self.networks[name].apply(variables, x, train=False), collections
    out, updated = self.networks[name].apply(variables, x, train=True, mutable=[BATCH_STATS])
    return out, {**collections, name: {**stored, **updated}}

  # ---------------------------------------------------------------------------------------------
  # The step.

  def schedule(self, step: int) -> dict[str, bool]:
    """Static flags for the step numbered `step`; the loop compiles one step per flag set.

    Update ratios (AE+GAN: G every 5th step) are static so that no gradient computation sits
    inside a `lax.cond`, whose nested convolutions XLA:CPU runs far slower
    (docs/faithfulness.md#xla-on-cpu).
    """
    del step
    return {}

  def train_step(self, state: TrainState, batch: dict[str, jax.Array], **flags: bool
                 ) -> tuple[TrainState, Metrics]:
    """(state, batch) -> (state, metrics); pure, jitted by the loop. flags: `schedule`."""
    key = jax.random.fold_in(state.rng, state.step)
    state, metrics, codes = self.update(state, batch, key, **flags)
    if self.num_classes:
      state, probe_metrics = self.update_probe(state, codes, batch['label'])
      metrics = {**metrics, **probe_metrics}
    return state.replace(step=state.step + 1), metrics

  def update_probe(self, state: TrainState, codes: jax.Array, labels: jax.Array
                   ) -> tuple[TrainState, Metrics]:
    """Trains the linear probe on stop_gradient(codes): it never changes the encoder."""
    codes = jax.lax.stop_gradient(codes)

    def loss_fn(params):
      logits = self.networks['probe'].apply({'params': params['probe']}, codes)
      return losses.softmax_cross_entropy(logits, labels), logits

    (loss, logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        self.group_params(state.params, 'probe'))
    state, _ = self.apply_gradients(state, 'probe', grads)
    return state, {'probe/train_loss': loss,
                   'probe/train_accuracy': losses.accuracy(logits, labels)}

  # ---------------------------------------------------------------------------------------------
  # Inference, for evaluators: they call encode/decode/probe_logits on inference_params(state).

  def inference_params(self, state: TrainState) -> dict[str, Any]:
    """What evaluators pass to encode/decode: the params, and BatchNorm's running averages."""
    stats = {name: c[BATCH_STATS] for name, c in state.collections.items() if BATCH_STATS in c}
    return {**state.params, BATCH_STATS: stats} if stats else state.params

  def inference_variables(self, params: dict[str, Any], name: str) -> dict[str, Any]:
    """networks[name]'s variables in evaluation: its params and any running averages."""
    stats = params.get(BATCH_STATS, {})
    return {'params': params[name], **({BATCH_STATS: stats[name]} if name in stats else {})}

  def encode(self, params: dict[str, Any], images: jax.Array) -> jax.Array:
    return self.networks['encoder'].apply(self.inference_variables(params, 'encoder'), images)

  def decode(self, params: dict[str, Any], codes: jax.Array) -> jax.Array:
    return self.networks['decoder'].apply(self.inference_variables(params, 'decoder'), codes)

  def probe_inputs(self, params: dict[str, Any], images: jax.Array) -> jax.Array:
    """What the probe reads of `images`: their codes, unless an objective says otherwise."""
    return self.encode(params, images)

  def probe_logits(self, params: dict[str, Any], codes: jax.Array) -> jax.Array:
    return self.networks['probe'].apply({'params': params['probe']}, codes)
