"""Mixed precision: networks compute in `config.precision`, everything they hand back is float32.

'bfloat16' runs every network's arithmetic in bfloat16 while the parameters, the optimiser
state, the stored collections and every loss stay float32. The cast sits at the one boundary
all networks share, `Objective.networks[name].apply`, so no model is written twice:

- going in, the floating arrays among the variables (parameters, spectral-norm vectors,
  BatchNorm averages) and the inputs become bfloat16; integer and boolean inputs (labels,
  random keys, flags) pass unchanged;
- coming out, the outputs and any collection the call wrote become float32 again. The losses,
  the mixing of codes, the probe's softmax and every metric are therefore float32, and the
  gradient of a float32 loss pulled back through the casts arrives float32 at the float32
  parameters.

Inside a network flax keeps what needs range in float32 by itself: normalisation statistics
(mean and variance) are reduced in float32 before the normalised values return to bfloat16.
Spectral norm's power iteration reads the bfloat16 copy of its kernel and vector, so its
sigma carries bfloat16's 8 significant bits (about 0.4%); the vector is stored float32 again.
A run started in one precision resumes only in it (the config is compared on resume).
"""

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections

from mixres import config_checks as cc

DTYPES = {'float32': jnp.float32, 'bfloat16': jnp.bfloat16}


def check(config: ml_collections.ConfigDict) -> None:
  """ValueError naming config.precision when it is not one of DTYPES."""
  cc.check_choice(config, 'precision', tuple(DTYPES), what='a precision')


def cast_floats(tree: Any, dtype) -> Any:
  """`tree` with every floating array as `dtype`; other leaves (ints, bools, keys) as they are."""
  def cast(leaf):
    if hasattr(leaf, 'dtype') and jnp.issubdtype(leaf.dtype, jnp.floating):
      return leaf.astype(dtype)
    return leaf
  return jax.tree.map(cast, tree)


class Computing:
  """`module` whose `apply` computes in `dtype` and returns float32 (module docstring).

  `init` and `init_with_output` are the module's own: parameters are created float32.
  """

  def __init__(self, module: nn.Module, dtype):
    self.module = module
    self.dtype = dtype

  def apply(self, variables, *args, **kwargs):
    args, kwargs = cast_floats((args, kwargs), self.dtype)
    out = self.module.apply(cast_floats(variables, self.dtype), *args, **kwargs)
    return cast_floats(out, jnp.float32)

  def init(self, *args, **kwargs):
    return self.module.init(*args, **kwargs)

  def init_with_output(self, *args, **kwargs):
    return self.module.init_with_output(*args, **kwargs)

  def __repr__(self) -> str:
    return f'Computing({self.module!r}, {jnp.dtype(self.dtype).name})'


def computing_in(networks: dict[str, nn.Module], config: ml_collections.ConfigDict
                 ) -> dict[str, Any]:
  """`networks` as config.precision asks: as they are for 'float32', else each `Computing`."""
  check(config)
  dtype = DTYPES[config.precision]
  if dtype == jnp.float32:
    return networks
  return {name: Computing(module, dtype) for name, module in networks.items()}
