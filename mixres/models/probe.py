"""Linear probe: one dense layer on the flattened code."""

import flax.linen as nn
import jax


class LinearProbe(nn.Module):
  num_classes: int

  @nn.compact
  def __call__(self, codes: jax.Array) -> jax.Array:
    return nn.Dense(self.num_classes)(codes.reshape(codes.shape[0], -1))
