"""Early AMR training curves beside the authors' code's, on the same real data
(docs/faithfulness.md#d1).

The fixture below is what the AMR authors' PyTorch code (christopher-beckham/amr, run on CPU with
compatibility edits only, settings of exps/mnist/mixup_lamb10.sh) logged on the real MNIST test
split cut 8,000 / 2,000: means over the 500 iterations before each mark. This script trains
`configs/amr_mnist.py:mixup2,local` on the same files for each seed (resuming any run already
there), then prints the same means per seed, their mean +- std over seeds, and whether the
authors' value lies within the seeds' range widened by one std. Runs resume: run it again with
the same --workdir to finish an interrupted study.

  python benchmarks/amr_dynamics.py --workdir=runs/dynamics \
      --images=../shared/data/mnist/mnist-t10k-images-idx3-ubyte.gz --seeds=0,1,2

About 20 minutes a seed on the 2-core CPU (4,000 steps); `--report_only` prints the table from
the runs already in --workdir. It ends with the collapse check: how much the codes and the
reconstructions of 500 validation images vary across inputs at the last checkpoint.
"""

import os
import subprocess
import sys

import numpy as np
from absl import app
from absl import flags

from mixres import paths

_WORKDIR = flags.DEFINE_string('workdir', 'runs/dynamics', 'One subfolder per seed.')
_IMAGES = flags.DEFINE_string('images', '', 'MNIST test images (IDX, .gz); labels beside.')
_SEEDS = flags.DEFINE_list('seeds', ['0', '1', '2'], 'Run seeds.')
_STEPS = flags.DEFINE_integer('steps', 4_000, 'Training steps per seed.')
_REPORT_ONLY = flags.DEFINE_bool('report_only', False, 'Only read the runs already there.')

MARKS = (500, 1_000, 2_000, 4_000)
WINDOW = 500
# The authors' code at each mark: reconstruction L1, mean D(real), mean D(reconstruction).
AUTHORS = {
    'gen/recon': (0.482, 0.351, 0.322, 0.318),
    'disc/real_prob': (0.53, 0.51, 0.57, 0.74),
    'disc/recon_prob': (0.22, 0.25, 0.21, 0.13),
}
# Collapse: the spread of the codes across inputs relative to their size at the last step, in the
# authors' code 0.021 at 4,000 (from 0.58 at init): every input decodes to the same image.
AUTHORS_CODE_SPREAD = 0.021


def overrides(seed: int) -> dict[str, object]:
  """The fields this study sets on configs/amr_mnist.py:mixup2,local."""
  return {'data.path': _IMAGES.value, 'data.valid_size': 2000,
          'num_train_steps': _STEPS.value, 'seed': seed, 'log_every': 100,
          'checkpoint_every': 500, 'eval_every': 1000}


def train(workdir: str, seed: int) -> None:
  command = [sys.executable, '-m', 'mixres.main', '--config=configs/amr_mnist.py:mixup2,local',
             f'--workdir={workdir}']
  command += [f'--config.{field}={value}' for field, value in overrides(seed).items()]
  subprocess.run(command, check=True)


def window_means(workdir: str) -> dict[str, list[float]]:
  """metric -> its mean over the WINDOW steps before each mark (NaN where not logged yet)."""
  rows = paths.read_metrics(workdir)
  means = {}
  for metric in AUTHORS:
    logged = {r['step']: r[metric] for r in rows if metric in r}
    means[metric] = []
    for mark in MARKS:
      # Each logged value is the mean over the log_every=100 steps before it.
      values = [logged.get(step) for step in range(mark - WINDOW + 100, mark + 1, 100)]
      means[metric].append(float(np.mean(values)) if None not in values else float('nan'))
  return means


def spread(workdir: str, examples: int = 500) -> tuple[int, float, float]:
  """(step, code spread, reconstruction spread) of the latest checkpoint on validation images.

  Spread of an array (N, ...) across its N inputs: the mean over positions of the std across
  inputs, over the mean absolute value; 0 when every input gives the same output.
  """
  import jax
  from configs import amr_mnist
  from mixres import checkpoint
  from mixres import objectives
  from mixres.data import pipeline
  from mixres.data import sources
  config = amr_mnist.get_config('mixup2,local')
  config.update_from_flattened_dict(overrides(seed=0))
  _, valid = sources.build(config)
  images = pipeline.read(valid, range(min(examples, len(valid))))['image']
  objective = objectives.get_objective(config, images.shape[1:])
  # The state alone, not train.Experiment: that would refuse a checkpoint of older code whose
  # config lacks a field added since, which changes nothing this reads.
  abstract = jax.eval_shape(objective.init, jax.random.PRNGKey(0))
  ckpt = checkpoint.Checkpointer(os.path.join(workdir, 'checkpoints'))
  state, _ = ckpt.restore(abstract)
  ckpt.close()
  params = objective.inference_params(state)
  codes = jax.jit(objective.encode)(params, images)
  recons = jax.jit(objective.decode)(params, codes)
  relative = lambda a: float(np.mean(np.std(a, 0)) / np.mean(np.abs(a)))
  return int(state.step), relative(np.asarray(codes)), relative(np.asarray(recons))


def main(argv):
  del argv
  if not _IMAGES.value:
    raise app.UsageError('--images: the MNIST test images (IDX) the runs train on')
  seeds = [int(s) for s in _SEEDS.value]
  runs = {}
  for seed in seeds:
    workdir = os.path.join(_WORKDIR.value, f'seed{seed}')
    if not _REPORT_ONLY.value:
      train(workdir, seed)
    if paths.read_metrics(workdir):
      runs[seed] = window_means(workdir)
  print(f'| metric | run | {" | ".join(f"{m:,}" for m in MARKS)} |')
  print(f'|---|---|{"---|" * len(MARKS)}')
  for metric, authors in AUTHORS.items():
    print(f'| {metric} | authors\' code | {" | ".join(f"{v:.3f}" for v in authors)} |')
    for seed, means in runs.items():
      print(f'| {metric} | mixres seed {seed} | {" | ".join(f"{v:.3f}" for v in means[metric])} |')
    if runs:
      table = np.array([runs[s][metric] for s in runs])  # (seeds, marks)
      mean, std = table.mean(0), table.std(0)
      inside = [bool(lo - s <= a <= hi + s) for a, lo, hi, s in
                zip(authors, table.min(0), table.max(0), std)]
      cells = [f'{m:.3f} +- {s:.3f}{"" if ok else " (!)"}' for m, s, ok in zip(mean, std, inside)]
      print(f'| {metric} | mixres mean +- std | {" | ".join(cells)} |')
  print('(!): the authors\' value lies outside the seeds\' range widened by one std.')
  for seed in runs:
    step, codes, recons = spread(os.path.join(_WORKDIR.value, f'seed{seed}'))
    print(f'seed {seed}, step {step}: spread across inputs of the codes {codes:.3f} (authors\' '
          f'code at 4,000: {AUTHORS_CODE_SPREAD}), of the reconstructions {recons:.3f}')


if __name__ == '__main__':
  app.run(main)
