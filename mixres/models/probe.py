"""Linear probe: one dense layer on the flattened code."""

import flax.linen as nn
import jax

from mixres.models import convnets


class LinearProbe(nn.Module):
  num_classes: int
  # torch.nn.Linear's default init (the AMR code's probe, cls_probes/linear_legacy.py): weight and
  # bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)); else flax's (lecun_normal, zero bias).
  torch_init: bool = False

  @nn.compact
  def __call__(self, codes: jax.Array) -> jax.Array:
    flat = codes.reshape(codes.shape[0], -1)
    if self.torch_init:
      uniform = convnets.torch_default_uniform(flat.shape[-1])
      return nn.Dense(self.num_classes, kernel_init=uniform, bias_init=uniform)(flat)
    return nn.Dense(self.num_classes)(flat)
