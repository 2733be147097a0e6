"""benchmarks/paired.py --check: mixres and benchmarks/torch_amr.py compute the same thing.

On mixres's initial state copied into the PyTorch networks (HWIO -> OIHW kernels, D's power
iteration vectors u too): one forward of encoder, decoder and discriminator (logits and the
updated u), then two train steps, a G+D step and a D-only step, on the same batch with the same
mixes (mixres's draws handed to PyTorch), comparing every metric both log and, after the steps,
every parameter and u. Needs PyTorch, so it lives here, not in tests/.

Both sides run in float64. In float32 the two agree only to rounding (forwards to about 1e-6,
gradients through the instance norms' cancellations to about 1e-3 relative at d_h = 256), and
Adam's first step, about lr * sign(g), turns a rounding-sized g of either sign into +-lr. In
float64 the same code agrees to about 1e-12, so a real difference would stand out.
"""

import jax
import numpy as np

import torch_amr  # benchmarks/torch_amr.py, beside this file; stops here without PyTorch.
import torch  # pylint: disable=g-bad-import-order

from mixres import mixers
from mixres import objectives

# In float64 (below): summing in another order leaves about 1e-12 relative.
RTOL = 1e-9
# Adam moves each weight by lr * g / (|g| + eps), so weights compare in units of lr; the
# largest difference measured is about 3e-9 lr, on weights with a small g.
PARAM_ATOL_IN_LR = 1e-7
# A conv bias just before an instance norm has an exact gradient of 0 (the norm subtracts each
# channel's mean): each side steps on rounding noise, g of about 1e-15 in float64, which moves it
# by about lr * 1e-15 / eps = 1e-7 lr, in either direction.
NOISE_BIAS_ATOL_IN_LR = 1e-5


def _numbered(tree: dict, prefix: str) -> list:
  """tree's entries named prefix + 'N', in order of N (flax names submodules in build order)."""
  names = [k for k in tree if k.startswith(prefix) and k[len(prefix):].isdigit()]
  return [tree[k] for k in sorted(names, key=lambda k: int(k[len(prefix):]))]


def _copy_conv(conv: torch.nn.Conv2d, flax_conv: dict) -> None:
  conv.weight.copy_(torch.tensor(flax_conv['kernel']).permute(3, 2, 0, 1))  # HWIO -> OIHW
  conv.bias.copy_(torch.tensor(flax_conv['bias']))


def _copy_generator_half(seq: torch.nn.Sequential, convs: list, blocks: list) -> None:
  """Convs in build order; each _ConvNormAct block's InstanceNorm_0 to the norms in order."""
  ours = [layer for layer in seq if isinstance(layer, torch.nn.Conv2d)]
  for conv, flax_conv in zip(ours, convs, strict=True):
    _copy_conv(conv, flax_conv)
  norms = [layer for layer in seq if isinstance(layer, torch.nn.InstanceNorm2d)]
  for norm, block in zip(norms, blocks if norms else [], strict=True):
    norm.weight.copy_(torch.tensor(block['InstanceNorm_0']['scale']))
    norm.bias.copy_(torch.tensor(block['InstanceNorm_0']['bias']))


@torch.no_grad()
def copy_mixres_state(step: torch_amr.TorchStep, params: dict, spectral: dict) -> None:
  """Loads mixres's params (numpy, state.params) and D's 'spectral' collection into `step`."""
  enc, dec = params['encoder'], params['decoder']
  enc_blocks, dec_blocks = _numbered(enc, '_ConvNormAct_'), _numbered(dec, '_ConvNormAct_')
  _copy_generator_half(step.encoder, [enc['Conv_0'], *(b['Conv_0'] for b in enc_blocks),
                                      enc['Conv_1']], enc_blocks)
  _copy_generator_half(step.decoder, [*(b['Conv_0'] for b in dec_blocks), dec['Conv_0']],
                       dec_blocks)
  disc_convs = _numbered(params['disc'], 'Conv_')  # Conv_0 the entry, then the normalised ones.
  _copy_conv(step.disc.entry, disc_convs[0])
  vectors = {name.split('/')[0]: u for layer in spectral.values() for name, u in layer.items()
             if name.endswith('/kernel/u')}  # 'Conv_3/kernel/u' -> u of params' Conv_3.
  for j, conv in enumerate(step.disc.convs, start=1):
    _copy_conv(conv.conv, disc_convs[j])
    conv.u = torch.tensor(vectors[f'Conv_{j}'].reshape(-1))
  if step.probe is not None:
    step.probe.weight.copy_(torch.tensor(params['probe']['Dense_0']['kernel']).T)
    step.probe.bias.copy_(torch.tensor(params['probe']['Dense_0']['bias']))


def _nchw(a) -> torch.Tensor:
  return torch.from_numpy(np.ascontiguousarray(np.asarray(a).transpose(0, 3, 1, 2)))


def _nhwc(t: torch.Tensor) -> np.ndarray:
  return t.detach().permute(0, 2, 3, 1).numpy()


def _relative(ours, theirs) -> float:
  ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
  return float(np.max(np.abs(ours - theirs)) / max(np.max(np.abs(ours)), 1e-30))


def _float64(tree):
  return jax.tree.map(lambda a: a.astype(np.float64) if np.issubdtype(a.dtype, np.floating)
                      else a, tree)


def _load(config, state) -> torch_amr.TorchStep:
  torch.manual_seed(0)
  step = torch_amr.TorchStep(config, (config.data.image_size,) * 2 + (3,))
  copy_mixres_state(step, jax.tree.map(np.asarray, state.params),
                              jax.tree.map(np.asarray, state.collections['disc']['spectral']))
  return step


def mixres_mix(objective, key, codes):
  """The mix mixres draws under `key`, as partners and weights for torch_amr.TorchStep.combine."""
  k, batch = objective.config.k, codes.shape[0]
  perms = np.asarray(mixers.mix_partner_indices(key, batch, k))  # (k - 1, B)
  weights = np.asarray(mixers.mixup_weights(jax.random.split(key)[1], k, batch, 4))  # mixup's
  expected = objective.mix(key, codes, **objective.mix_params)
  got = sum(w * s for w, s in zip(weights, [codes, *(np.asarray(codes)[p] for p in perms)]))
  assert _relative(expected, got) < RTOL, 'the draws do not reproduce mixers.mixup'
  perms_t = [torch.from_numpy(p.astype(np.int64)) for p in perms]
  return lambda c: torch_amr.TorchStep.combine(c, perms_t, torch.tensor(weights))


def check(objective_name: str, d_h: int, setting_config, batch: int = 8) -> bool:
  """Prints each comparison; True when all are within tolerance. Switches both to float64."""
  jax.config.update('jax_enable_x64', True)
  torch.set_default_dtype(torch.float64)
  config = setting_config(objective_name, batch, d_h)
  size = config.data.image_size
  objective = objectives.get_objective(config, (size, size, 3))
  state = _float64(jax.jit(objective.init)(jax.random.PRNGKey(0)))
  rng = np.random.default_rng(1)
  images = rng.uniform(-1, 1, (batch, size, size, 3))
  labels = rng.integers(0, config.data.num_classes, batch).astype(np.int32)
  step = _load(config, state)
  counts = {'generator': sum(np.size(a) for n in ('encoder', 'decoder')
                             for a in jax.tree.leaves(state.params[n])),
            'disc': sum(np.size(a) for a in jax.tree.leaves(state.params['disc']))}
  print(f'--check {objective_name} d_h {d_h}, batch {batch}: parameters mixres {counts}, '
        f'PyTorch {step.counts()}')
  results = [('parameter counts equal', 0.0 if counts == step.counts() else 1.0, 0.5)]

  with torch.no_grad():
    codes = objective.encode(state.params, images)
    results.append(('encoder forward', _relative(codes, _nhwc(step.encoder(_nchw(images)))),
                    RTOL))
    decoded = objective.decode(state.params, codes)
    results.append(('decoder forward', _relative(decoded, _nhwc(step.decoder(_nchw(codes)))),
                    RTOL))
    logits, updated = objective.apply_spectral('disc', state, images, update_stats=True)
    results.append(('discriminator forward', _relative(
        logits, step.disc(_nchw(images), update_stats=True).numpy()), RTOL))
    after = _load(config, state.replace(collections={'disc': dict(updated)}))
    results.append(('power iteration u', max(_relative(a.u.numpy(), b.u.numpy()) for a, b in zip(
        after.disc.convs, step.disc.convs)), RTOL))

  step = _load(config, state)
  batch_j = {'image': images, 'label': labels}
  for update_generator in (True, False):
    key = jax.random.fold_in(state.rng, state.step)  # Objective.train_step's key.
    mix = mixres_mix(objective, key, objective.encode(state.params, images)) \
        if objective_name == 'amr' else None
    state, metrics = jax.jit(lambda s, b, u=update_generator: objective.train_step(
        s, b, update_generator=u))(state, batch_j)
    ours = step.step(_nchw(images), torch.from_numpy(labels.astype(np.int64)), update_generator,
                     mix)
    what = 'G+D step' if update_generator else 'D-only step'
    for name in sorted(set(metrics) & set(ours)):
      results.append((f'{what} {name}', _relative(metrics[name], ours[name].detach().numpy()),
                      RTOL))
  expected = _load(config, state)  # mixres's state after the two steps, in torch's layout.
  lr, weights = config.optim.lr, {'parameters': [], 'biases before an instance norm': [],
                                   'power iteration vectors u': []}
  for module in ('encoder', 'decoder', 'disc', 'probe'):
    theirs = getattr(step, module).state_dict()
    layers = list(getattr(step, module)) if module in ('encoder', 'decoder') else []
    noise = {f'{i}.bias' for i, layer in enumerate(layers[:-1])
             if isinstance(layers[i + 1], torch.nn.InstanceNorm2d)}
    for name, value in getattr(expected, module).state_dict().items():
      diff = float(np.max(np.abs(value.numpy() - theirs[name].numpy())))
      if name.endswith('.u'):
        weights['power iteration vectors u'].append((f'{module}.{name}', diff, RTOL))
      else:
        group = 'biases before an instance norm' if name in noise else 'parameters'
        tol = NOISE_BIAS_ATOL_IN_LR if name in noise else PARAM_ATOL_IN_LR
        weights[group].append((f'{module}.{name} (in lr)', diff / lr, tol))
  after = [w for group in weights.values() for w in group]
  for name, value, tol in results + [w for w in after if w[1] > w[2]]:
    print(f'  {"ok  " if value <= tol else "FAIL"} {name}: {value:.1e} (tolerance {tol:.0e})')
  for what, group in weights.items():
    worst = max(group, key=lambda w: w[1])
    print(f'  after 2 steps, {len(group)} {what}: largest |diff| {worst[1]:.1e} ({worst[0]}; '
          f'tolerance {worst[2]:.0e})')
  return all(value <= tol for _, value, tol in results + after)
