"""mixres's compiled train step against our own PyTorch eager one, alternated in one process.

  python benchmarks/paired.py --objectives=amr,ae_gan --batch_sizes=64,256 --widths=32,256 \
      --rounds=3 --steps=25
  python benchmarks/paired.py --check   # the two compute the same thing; no timing

Needs PyTorch, an optional benchmark dependency (never in requirements, CI or tests):
`pip install torch==2.13.0`, the CPU build; without it the script stops with one line saying so.

Each setting (objective, batch, d_h) takes configs/amr_svhn.py's row of that objective (amr:
mixup2, ae_gan: its row) with the batch and the bottleneck d_h = latent_width^2 * model.latent
(32: the paper's SVHN networks; 256: configs/amr_svhn256.py's). Both sides get the same random
batch. mixres compiles every schedule variant (benchmarks/step_timing.py) and PyTorch runs one
untimed schedule period; then timed rounds alternate, mixres then PyTorch, each over whole
schedule periods (steps rounded up to a multiple of config.gen_every), never concurrently. PyTorch
uses torch.set_num_threads(os.cpu_count()) (--torch_threads); XLA uses every core by default. A
short pause before each round lets the other library's worker threads stop spinning. The table
gives every round and the medians; the ratio is mixres's median over PyTorch's.

Run it on an otherwise idle machine. Under other processes' load PyTorch's OpenMP threads lose far
more than XLA's: on the 2-core machine at load average 6-8, the PyTorch AMR step ran at 8-10
images/s with 2 threads against 91-101 with 1 (mixres, the same minutes: 72-79).
"""

import os
import time

import numpy as np
from absl import app
from absl import flags

import torch_amr  # benchmarks/torch_amr.py, beside this file; stops here without PyTorch.
import torch  # pylint: disable=g-bad-import-order  (after torch_amr's one-line message)

import jax
import step_timing  # benchmarks/step_timing.py, beside this file.
from configs import amr_svhn

ROWS = {'amr': 'mixup2', 'ae_gan': 'ae_gan'}  # Objective -> its row of configs/amr_svhn.py.
PAPER_COUNTS = {'generator': 226_917, 'disc': 150_178}  # BENCHMARKS.md, SVHN at d_h = 32.
PAUSE_S = 0.5

_OBJECTIVES = flags.DEFINE_list('objectives', ['amr', 'ae_gan'], 'Objectives: amr, ae_gan.')
_BATCHES = flags.DEFINE_list('batch_sizes', ['64', '256'], 'Batch sizes.')
_WIDTHS = flags.DEFINE_list('widths', ['32', '256'], 'Bottleneck sizes d_h.')
_ROUNDS = flags.DEFINE_integer('rounds', 3, 'Timed rounds of each implementation, alternated.')
_STEPS = flags.DEFINE_integer('steps', 25, 'Steps a round (rounded up to whole periods).')
_STEPS_PER_CALL = flags.DEFINE_integer(
    'steps_per_call', 0, "mixres's config.steps_per_call (0: one schedule period, the default).")
_TORCH_THREADS = flags.DEFINE_integer('torch_threads', 0, 'PyTorch threads; 0: os.cpu_count().')
_CHECK = flags.DEFINE_bool('check', False, 'Compare the two on copied weights instead of timing.')


def setting_config(objective: str, batch: int, d_h: int):
  if objective not in ROWS:
    raise ValueError(f'--objectives: {objective!r} must be one of: {", ".join(ROWS)}')
  config = amr_svhn.get_config(ROWS[objective])
  area = config.model.latent_width**2
  if d_h % area:
    raise ValueError(f'--widths: d_h={d_h} must be a multiple of config.model.latent_width**2 '
                     f'= {area}')
  config.model.latent = d_h // area
  config.batch_size = batch
  return config


def compare_counts(params: dict, torch_step, d_h: int) -> str:
  """Both implementations' parameter counts (params: mixres's); AssertionError where they differ."""
  size = lambda names: sum(int(np.size(a)) for n in names for a in jax.tree.leaves(params[n]))
  ours = {'generator': size(('encoder', 'decoder')), 'disc': size(('disc',))}
  theirs = torch_step.counts()
  assert ours == theirs, f'parameter counts differ: mixres {ours}, PyTorch {theirs}'
  if d_h == 32:
    assert ours == PAPER_COUNTS, f'd_h = 32 counts {ours} are not BENCHMARKS.md\'s {PAPER_COUNTS}'
  return f'G {ours["generator"]:,} / D {ours["disc"]:,} (mixres and PyTorch alike)'


class TorchRounds:
  """The PyTorch step on one fixed batch: a warm-up period, then timed rounds as CompiledSteps."""

  def __init__(self, config, images: np.ndarray, labels: np.ndarray, warmup_steps: int):
    torch.manual_seed(0)
    self.step = torch_amr.TorchStep(config, images.shape[1:])
    self.x = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))  # NCHW
    self.labels, self.batch_size = torch.from_numpy(labels.astype(np.int64)), images.shape[0]
    self.images_per_second(warmup_steps)

  def images_per_second(self, steps: int) -> float:
    start = time.perf_counter()
    for i in range(steps):  # Eager on the CPU: every op has run when step() returns.
      self.step.step(self.x, self.labels, self.step.schedule(i))
    return steps * self.batch_size / (time.perf_counter() - start)


def time_setting(objective_name: str, batch: int, d_h: int, rounds: int, steps: int) -> dict:
  config = setting_config(objective_name, batch, d_h)
  config.steps_per_call = _STEPS_PER_CALL.value
  period = int(config.gen_every)
  mixres = step_timing.CompiledSteps(config, 3, period, verbose=False)
  steps = mixres.whole_calls(-(-steps // period) * period)
  images, labels = (mixres.batch[k] for k in ('image', 'label'))
  pytorch = TorchRounds(config, images, labels, period)
  counts = compare_counts(mixres.state.params, pytorch.step, d_h)
  rates = {'mixres': [], 'torch': []}
  for _ in range(rounds):
    for name, runner in (('mixres', mixres), ('torch', pytorch)):
      time.sleep(PAUSE_S)
      rates[name].append(runner.images_per_second(steps))
  return dict(rates, steps=steps, counts=counts, compile_s=mixres.compile_seconds)


def table(rows: list[tuple[str, int, int, dict]]) -> str:
  lines = ['| objective | batch | d_h | mixres images/s (rounds) | median | PyTorch images/s '
           '(rounds) | median | mixres / PyTorch | mixres compile + first steps |',
           '|---|---|---|---|---|---|---|---|---|']
  fmt = lambda rates: ', '.join(f'{r:.1f}' for r in rates)
  for objective, batch, d_h, r in rows:
    ours, theirs = np.median(r['mixres']), np.median(r['torch'])
    lines.append(f'| `{objective}` | {batch} | {d_h} | {fmt(r["mixres"])} | {ours:.1f} | '
                 f'{fmt(r["torch"])} | {theirs:.1f} | {ours / theirs:.2f}x | '
                 f'{r["compile_s"]:.1f} s |')
  return '\n'.join(lines)


def main(argv):
  del argv
  torch.set_num_threads(_TORCH_THREADS.value or os.cpu_count())
  print(f'{os.cpu_count()} CPUs; jax {jax.__version__} on {jax.devices()[0].platform}; '
        f'torch {torch.__version__}, torch.set_num_threads({torch.get_num_threads()}); load '
        f'average {", ".join(f"{l:.2f}" for l in os.getloadavg())} (other processes slow '
        'PyTorch far more than XLA: compare on an idle machine)')
  objectives = [o.strip() for o in _OBJECTIVES.value]
  settings = [(o, int(b), int(w)) for o in objectives for w in _WIDTHS.value
              for b in _BATCHES.value]
  if _CHECK.value:
    import torch_check  # pylint: disable=g-import-not-at-top  (benchmarks/torch_check.py)
    failed = [s for s in dict.fromkeys((o, int(w)) for o, _, w in settings)
              if not torch_check.check(*s, setting_config)]
    raise SystemExit(f'--check failed for {failed}' if failed else 0)
  rows = []
  for objective, batch, d_h in settings:
    result = time_setting(objective, batch, d_h, _ROUNDS.value, _STEPS.value)
    print(f'{objective} batch {batch} d_h {d_h}: {result["counts"]}; {result["steps"]} steps a '
          f'round; mixres {np.median(result["mixres"]):.1f}, PyTorch '
          f'{np.median(result["torch"]):.1f} images/s', flush=True)
    rows.append((objective, batch, d_h, result))
  print(table(rows))


if __name__ == '__main__':
  app.run(main)
