"""Our own PyTorch eager implementation of mixres's AMR and AE+GAN train steps, for benchmarks.

PyTorch is an optional benchmark dependency, never in requirements, CI or tests. Install the CPU
build by its exact version (plain `torch` pulls a multi-GB CUDA build):

  pip install torch==2.13.0

benchmarks/paired.py times this step against mixres's compiled one in the same process. It is the
same computation as mixres/objectives/ae_gan.py and amr.py for the 'acai' networks
(mixres/models/convnets.py), not a port of the authors' code: the same networks and parameter
counts, losses (config.recon, JS-GAN terms with logits), mixup of the codes over config.k examples,
D every step and G every config.gen_every-th, G's and D's step from one forward pass, the linear
probe on the codes, Adam with coupled L2 (torch's own, as mixres's adam_l2 mirrors), and spectral
norm's power iteration as config.model.spectral_updates says. Where its structure follows the
authors' code (christopher-beckham/amr) the line is cited. Plain eager: NCHW tensors, no
torch.compile, default CPU kernels.
"""

import math

import ml_collections

try:
  import torch
  from torch import nn
  from torch.nn import functional as F
except ImportError:
  raise SystemExit('benchmarks/torch_amr.py needs PyTorch, an optional benchmark dependency: '
                   'pip install torch==2.13.0 (the CPU build)') from None

OBJECTIVES = ('amr', 'ae_gan')  # The mixres objectives implemented here.


def _l2_normalize(v: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
  """v / |v| as flax.linen.SpectralNorm computes it (rsqrt of the sum of squares plus eps)."""
  return v * torch.rsqrt(torch.sum(v * v) + eps)


class SpectralConv2d(nn.Module):
  """A 3x3 conv whose kernel is divided by its largest singular value, estimated by power iteration.

  Our own rather than torch.nn.utils.parametrizations.spectral_norm, so that it holds exactly the
  state that flax.linen.SpectralNorm does (one vector u over the output channels; v is derived
  from it) and runs the same iteration (v = W^T u, u = W v, sigma = u.W v, as the authors'
  architectures/shared/spectral_normalization.py:23-35 does too): the --check of paired.py copies u
  across and compares outputs and updated u. The work per forward is the same as torch's version
  (two matrix-vector products and one for sigma, no gradient through u and v).
  """

  def __init__(self, in_channels: int, out_channels: int):
    super().__init__()
    self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)
    self.register_buffer('u', _l2_normalize(torch.randn(out_channels)))

  def _iterate(self) -> tuple[torch.Tensor, torch.Tensor]:
    """(v, u) one iteration on from the stored u; neither carries a gradient."""
    with torch.no_grad():
      w = self.conv.weight.flatten(1)  # (C_out, C_in * 9)
      v = _l2_normalize(self.u @ w)
      return v, _l2_normalize(w @ v)

  def power_iteration(self) -> tuple[torch.Tensor, torch.Tensor]:
    """One iteration that stores its u (a fresh tensor: earlier graphs keep the u they read)."""
    v, self.u = self._iterate()
    return v, self.u

  def forward(self, x: torch.Tensor, update_stats: bool) -> torch.Tensor:
    # flax's update_stats=False runs the same iteration without storing u.
    v, u = self.power_iteration() if update_stats else self._iterate()
    weight = self.conv.weight
    sigma = u @ (weight.flatten(1) @ v)
    return F.conv2d(x, weight / sigma, self.conv.bias, padding=1)


def _conv_norm_act(cin: int, cout: int, m: ml_collections.ConfigDict) -> list[nn.Module]:
  """convnets._ConvNormAct: 3x3 conv, instance norm with scale and bias (or none), LeakyReLU."""
  norm = [nn.InstanceNorm2d(cout, eps=1e-5, affine=True)] if m.norm == 'instance' else []
  return [nn.Conv2d(cin, cout, 3, padding=1), *norm, nn.LeakyReLU(m.leaky_slope)]


def num_scales(width: int, latent_width: int) -> int:
  return int(round(math.log2(width // latent_width)))


def encoder(m: ml_collections.ConfigDict, width: int, channels: int) -> nn.Sequential:
  """convnets.Encoder (arch_kyle.py:27-57 with instance_norm=True): (B, C, W, W) -> code."""
  scales, previous = num_scales(width, m.latent_width), m.depth
  layers = [nn.Conv2d(channels, m.depth, 1, padding=m.entry_padding)]
  for scale in range(scales):
    layers += _conv_norm_act(previous, m.depth << scale, m)
    layers += _conv_norm_act(m.depth << scale, m.depth << scale, m)
    layers.append(nn.AvgPool2d(2))  # Floors odd sides, as flax's VALID pooling.
    previous = m.depth << scale
  layers += _conv_norm_act(previous, m.depth << scales, m)
  layers.append(nn.Conv2d(m.depth << scales, m.latent, 3, padding=1))  # Linear bottleneck.
  return nn.Sequential(*layers)


def decoder(m: ml_collections.ConfigDict, width: int, channels: int) -> nn.Sequential:
  """convnets.Decoder (arch_kyle.py:59-78): code -> (B, C, W, W), no output activation."""
  scales, previous, layers = num_scales(width, m.latent_width), m.latent, []
  for scale in reversed(range(scales)):
    layers += _conv_norm_act(previous, m.depth << scale, m)
    layers += _conv_norm_act(m.depth << scale, m.depth << scale, m)
    layers.append(nn.Upsample(scale_factor=2, mode='nearest'))
    previous = m.depth << scale
  layers += _conv_norm_act(previous, m.depth, m)
  layers.append(nn.Conv2d(m.depth, channels, 3, padding=1))
  return nn.Sequential(*layers)


class Discriminator(nn.Module):
  """convnets.Discriminator (arch_kyle.py:119-130 without its sigmoid): logits (B,)."""

  def __init__(self, m: ml_collections.ConfigDict, width: int, channels: int):
    super().__init__()
    scales, previous = num_scales(width, m.latent_width), m.depth
    self.entry = nn.Conv2d(channels, m.depth, 1, padding=m.entry_padding)  # Unnormalised.
    self.slope, self.convs, self.pool_after = m.leaky_slope, nn.ModuleList(), []
    for scale in range(scales):
      for _ in range(2):
        self.convs.append(SpectralConv2d(previous, m.depth << scale))
        previous = m.depth << scale
      self.pool_after.append(len(self.convs) - 1)
    self.convs.append(SpectralConv2d(previous, m.depth << scales))
    self.convs.append(SpectralConv2d(m.depth << scales, m.latent))

  def forward(self, x: torch.Tensor, update_stats: bool) -> torch.Tensor:
    x = self.entry(x)
    for i, conv in enumerate(self.convs[:-1]):
      x = F.leaky_relu(conv(x, update_stats), self.slope)
      if i in self.pool_after:
        x = F.avg_pool2d(x, 2)
    return self.convs[-1](x, update_stats).mean(dim=(1, 2, 3))

  def advance(self, forwards: int) -> None:
    """The power iterations of `forwards` D calls whose outputs are unused (ae_gan.py's
    advance_spectral: it runs them on a one-image stand-in, whose conv XLA drops)."""
    for _ in range(forwards):
      for conv in self.convs:
        conv.power_iteration()


def count(module: nn.Module) -> int:
  """Trainable parameters (spectral norm's u is a buffer, as flax keeps it out of 'params')."""
  return sum(p.numel() for p in module.parameters())


class TorchStep:
  """Networks, optimisers and the train step of config.objective ('amr' or 'ae_gan')."""

  def __init__(self, config: ml_collections.ConfigDict, image_shape: tuple[int, int, int]):
    if config.objective not in OBJECTIVES:
      raise ValueError(f'config.objective={config.objective!r} has no PyTorch step here; choose '
                       f'one of: {", ".join(OBJECTIVES)}')
    if config.objective == 'amr' and (config.mixer != 'mixup' or config.beta):
      raise ValueError(f'config.mixer={config.mixer!r}, config.beta={config.beta!r}: the PyTorch '
                       "step implements AMR with config.mixer='mixup' and config.beta=0")
    if config.recon not in ('l1', 'l2'):
      raise ValueError(f"config.recon={config.recon!r}: the PyTorch step implements 'l1', 'l2'")
    self.config, (width, _, channels) = config, image_shape
    m = config.model
    self.encoder, self.decoder = encoder(m, width, channels), decoder(m, width, channels)
    self.disc = Discriminator(m, width, channels)
    code_size = m.latent * m.latent_width**2
    self.probe = nn.Linear(code_size, config.data.num_classes) if config.data.num_classes else None
    self.gen_params = [*self.encoder.parameters(), *self.decoder.parameters()]
    o = config.optim

    def adam(params, lr):  # mixres.objectives.base.adam_l2: the decay is added to the gradient.
      return torch.optim.Adam(params, lr=lr, betas=(o.b1, o.b2), eps=1e-8,
                              weight_decay=o.weight_decay)

    self.opt_gen, self.opt_disc = adam(self.gen_params, o.lr), adam(self.disc.parameters(), o.lr)
    self.opt_probe = adam(self.probe.parameters(), config.probe_lr) if self.probe else None
    self.per_forward = m.spectral_updates == 'per_forward'

  def counts(self) -> dict[str, int]:
    return {'generator': count(self.encoder) + count(self.decoder), 'disc': count(self.disc)}

  def schedule(self, step: int) -> bool:
    """Whether G updates at `step` (AEGAN.schedule; swapgan.py:263 counts from 1)."""
    return step % int(self.config.gen_every) == 0

  def mix(self, codes: torch.Tensor) -> torch.Tensor:
    """mixers.mixup: each code with k - 1 random batch partners, weights ~ Dirichlet(1, ..., 1)."""
    batch, k = codes.shape[0], self.config.k
    draws = torch.empty(batch, k).exponential_()
    weights = (draws / draws.sum(1, keepdim=True)).T.reshape(k, batch, 1, 1, 1)
    perms = [torch.randperm(batch) for _ in range(k - 1)]
    return self.combine(codes, perms, weights)

  @staticmethod
  def combine(codes: torch.Tensor, perms: list[torch.Tensor], weights: torch.Tensor
              ) -> torch.Tensor:
    """sum_j weights[j] * sources[j], sources = [codes, codes[perm] for each perm]."""
    return torch.stack([codes, *(codes[p] for p in perms)]).mul(weights).sum(0)

  def disc_forwards(self, batches: list[torch.Tensor], update: bool) -> list[torch.Tensor]:
    """ae_gan.py's spectral_forwards: one D call per batch ('per_forward', each a power
    iteration), else one call on them all, which iterates only when `update` (D's own step)."""
    if self.per_forward:
      return [self.disc(b, update_stats=True) for b in batches]
    return list(self.disc(torch.cat(batches), update_stats=update).split(
        [b.shape[0] for b in batches]))

  def reconstruction(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    diff = x - y
    return diff.abs().mean() if self.config.recon == 'l1' else diff.square().mean()

  def step(self, x: torch.Tensor, labels: torch.Tensor, update_generator: bool,
           mix=None) -> dict[str, torch.Tensor]:
    """One train step on images x (B, C, H, W); returns loss tensors (no host sync).

    mix: codes -> mixed codes, default `self.mix` (paired.py's --check passes mixres's draws).
    """
    mix = mix or self.mix
    cfg, metrics, forwards = self.config, {}, 0
    with torch.set_grad_enabled(update_generator):  # D-only steps: G's forward without a graph.
      # One decoder call on [f(x), mix] (ae_gan.py generate; swapgan.py:234-240 makes two).
      codes = self.encoder(x)
      extras = [mix(codes)] if cfg.objective == 'amr' else []
      fakes = self.decoder(torch.cat([codes, *extras])).chunk(1 + len(extras))
    if update_generator:  # swapgan.py:234-265: G against D's current weights, D's grads unused.
      recon = self.reconstruction(x, fakes[0])
      logits = self.disc_forwards(list(fakes), update=False)
      adversarial = sum(F.binary_cross_entropy_with_logits(l, torch.ones_like(l)) for l in logits)
      gen_loss = cfg.lam * recon + adversarial
      grads = torch.autograd.grad(gen_loss, self.gen_params)  # G's only, as jax.grad over G.
      for p, g in zip(self.gen_params, grads):
        p.grad = g
      self.opt_gen.step()
      metrics.update({'gen/loss': gen_loss, 'gen/recon': recon, 'gen/adversarial': adversarial,
                      'generator/grad_norm': _global_norm(grads),
                      'generator/param_norm': _global_norm(self.gen_params)})
      forwards = len(fakes)
    if self.per_forward:  # The reference's G-half D calls on steps where G does not update.
      self.disc.advance(2 - forwards)
    # D on the same forward's outputs, detached (swapgan.py:270-288).
    real, *fake = self.disc_forwards([x, *(f.detach() for f in fakes)], update=True)
    disc_loss = F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) + sum(
        F.binary_cross_entropy_with_logits(f, torch.zeros_like(f)) for f in fake)
    self.opt_disc.zero_grad(set_to_none=True)
    disc_loss.backward()
    grad_norm = _global_norm(p.grad for p in self.disc.parameters())
    self.opt_disc.step()
    metrics.update({'disc/loss': disc_loss, 'disc/real_prob': torch.sigmoid(real).mean(),
                    'disc/recon_prob': torch.sigmoid(fake[0]).mean(), 'disc/grad_norm': grad_norm,
                    'disc/param_norm': _global_norm(self.disc.parameters())})
    if self.probe is not None:  # On the codes before G's update, never into the encoder.
      flat = codes.detach().permute(0, 2, 3, 1).flatten(1)  # mixres's (B, H, W, C) order.
      logits = self.probe(flat)
      probe_loss = F.cross_entropy(logits, labels)
      self.opt_probe.zero_grad(set_to_none=True)
      probe_loss.backward()
      self.opt_probe.step()
      metrics.update({'probe/train_loss': probe_loss, 'probe/train_accuracy': (
          logits.argmax(-1) == labels).float().mean()})
    return metrics


def _global_norm(tensors) -> torch.Tensor:
  """optax.global_norm, which mixres logs every step (G's and D's gradients and parameters)."""
  return torch.nn.utils.get_total_norm(list(tensors))

