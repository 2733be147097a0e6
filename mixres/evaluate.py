"""Evaluate finished runs from their checkpoints, and compare their interpolations.

  # Any evaluators on a workdir's latest checkpoint (default: those its config lists):
  python -m mixres.evaluate --workdir=runs/lines_acai --evaluators=lines,clustering
  # The AMR paper's Figure 7: the same validation pairs, pixel blend then one row per run:
  python -m mixres.evaluate --compare=runs/ae_gan,runs/acai,runs/amr --out=figure7.png
  # 2-D runs (model.arch 'mlp'): decoded random mixes over the data, one panel per run:
  python -m mixres.evaluate --compare=runs/spiral_beta0,runs/spiral_beta10 --out=beta.png

Evaluation results go through the run's metric writer, tagged as computed after training:
WORKDIR/evaluation/ holds metrics.jsonl, tensorboard/ and figures/, every name prefixed
'evaluate/' at the checkpoint's step (`evaluate/clustering/accuracy`), and mixres.report reads
them beside the training log (--metric=evaluate/clustering/accuracy). The training logs are left
alone. The run's config comes from its checkpoint, so evaluation sees exactly the data and
networks the run trained; only config.eval fields may be changed (--evaluators, --max_examples).
"""

import json
import os
import sys
from typing import Sequence

from absl import app
from absl import flags
from absl import logging

_WORKDIR = flags.DEFINE_string('workdir', None, 'A run directory (with checkpoints/).')
_EVALUATORS = flags.DEFINE_list('evaluators', None, 'Evaluators to run; default: the config\'s.')
_MAX_EXAMPLES = flags.DEFINE_integer('max_examples', None, 'Override config.eval.max_examples.')
_COMPARE = flags.DEFINE_list('compare', None, 'Run directories for an interpolation comparison.')
_OUT = flags.DEFINE_string('out', 'interpolation_comparison.png', 'PNG path for --compare.')
_PAIRS = flags.DEFINE_integer('pairs', 4, '--compare: validation pairs shown.')
_STEPS = flags.DEFINE_integer('steps', 10, '--compare: images per interpolation, ends included.')


def saved_config(workdir: str):
  """The config of the latest checkpoint in `workdir`, fields added since it was saved at their
  defaults (mixres/defaults.py); FileNotFoundError if there is none."""
  import ml_collections
  from orbax import checkpoint as ocp
  from mixres import checkpoint
  from mixres import defaults
  ckpt = checkpoint.Checkpointer(os.path.join(workdir, 'checkpoints'))
  step = ckpt.latest_step()
  if step is None:
    raise FileNotFoundError(f'--workdir={workdir}: no checkpoint under {workdir}/checkpoints')
  meta = ckpt.manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore())).meta
  ckpt.close()
  return ml_collections.ConfigDict(defaults.fill_missing(meta['config']))


def restore(workdir: str, config=None):
  """(experiment, state) of `workdir`'s latest checkpoint."""
  from mixres import train
  experiment = train.Experiment(config or saved_config(workdir), workdir)
  state, _ = experiment.restore_or_init()
  return experiment, state


def evaluate_checkpoint(workdir: str, evaluators: Sequence[str] | None = None,
                        max_examples: int | None = None) -> dict[str, float]:
  """Runs evaluators on the latest checkpoint; their scalars (returned as the evaluators name
  them) and figures go to the run's after-training writer (module docstring)."""
  from mixres import metric_writers
  config = saved_config(workdir)
  if evaluators:
    config.eval.evaluators = list(evaluators)
  if max_examples is not None:
    config.eval.max_examples = max_examples
  experiment, state = restore(workdir, config)
  scalars, images = experiment.evaluate(state)
  experiment.checkpointer.close()
  writer = metric_writers.MetricWriter(workdir, after_training=True)
  writer.write_scalars(int(state.step), scalars)
  writer.write_images(int(state.step), images)
  writer.close()
  return scalars


def compare_interpolations(workdirs: Sequence[str], pairs: int = 4, steps: int = 10):
  """Rows per pair: pixel blend, then each run's decoded mixup path, for the same pairs.

  Returns (uint8 mosaic, row labels). The pairs are validation images (i, pairs + i) of the
  first run's data; every run must have been trained on images of the same shape.
  """
  import jax
  import numpy as np
  from mixres import mixers
  from mixres.data import pipeline
  from mixres.evaluation import figures
  runs = [restore(w) for w in workdirs]
  source = runs[0][0].valid_source
  x = pipeline.to_model_input(np.stack([source[i]['image'] for i in range(2 * pairs)]))
  x1, x2 = x[:pairs], x[pairs:]
  p = np.linspace(0.0, 1.0, steps).reshape(-1, 1, 1, 1, 1)
  rows, labels = [mixers.convex_mix(p, x2[None], x1[None])], ['pixel blend']
  for workdir, (experiment, state) in zip(workdirs, runs):
    if experiment.image_shape != x.shape[1:]:
      raise ValueError(f'--compare: {workdir} trained on {experiment.image_shape} images, '
                       f'{workdirs[0]} on {x.shape[1:]}; compare runs on the same data')
    objective = experiment.objective

    @jax.jit
    def decode_path(params, x1, x2, objective=objective):
      h1, h2 = objective.encode(params, x1), objective.encode(params, x2)
      path = mixers.interpolation_path('mixup', h1, h2, steps, jax.random.PRNGKey(0))
      return objective.decode(params, path.reshape(-1, *path.shape[2:]))

    decoded = decode_path(objective.inference_params(state), x1, x2)
    rows.append(np.asarray(decoded).reshape(steps, pairs, *x.shape[1:]))
    labels.append(f'{os.path.basename(os.path.normpath(workdir))} ({experiment.config.objective})')
    experiment.checkpointer.close()
  # (methods, S, pairs, ...) -> one row per (pair, method), pairs outermost.
  tiles = np.stack(rows).transpose(2, 0, 1, 3, 4, 5).reshape(-1, steps, *x.shape[1:])
  return figures.labelled_rows(figures.grid(tiles), labels * pairs), labels


def compare_toys(workdirs: Sequence[str]):
  """2-D runs side by side: each run's decoded random mixes over its data (toy_mixes).

  Returns (uint8 panel figure, [(workdir, scalars)]), e.g. the AMR supplement's beta study.
  """
  from mixres.evaluation import figures
  from mixres.evaluation import toys
  panels, labels, results = [], [], []
  for workdir in workdirs:
    experiment, state = restore(workdir)
    if experiment.image_shape != (2,):
      raise ValueError(f'--compare: {workdir} trained on {experiment.image_shape} inputs; '
                       'a comparison of 2-D runs needs every run on 2-D points')
    evaluator = toys.ToyMixes(experiment.objective, experiment.config, None,
                              experiment.valid_source)
    scalars, images = evaluator(state)
    config = experiment.config
    panels.append(images['toy/mixes'])
    name = os.path.basename(os.path.normpath(workdir))
    label = name if name == config.objective else f'{name} {config.objective}'
    labels.append(f'{label} beta={config.beta:g}' if config.objective == 'amr' else label)
    results.append((workdir, scalars))
    experiment.checkpointer.close()
  return figures.labelled_panels(panels, labels), results


def main(argv: Sequence[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments {argv[1:]}')
  if bool(_WORKDIR.value) == bool(_COMPARE.value):
    sys.exit('error: pass exactly one of --workdir (evaluate a run) or --compare (a figure)')
  if not flags.FLAGS['verbosity'].present:
    logging.set_verbosity(logging.WARNING)  # Orbax logs every restore at INFO.
  try:
    if _COMPARE.value:
      from mixres import paths
      if saved_config(_COMPARE.value[0]).model.arch == 'mlp':  # 2-D points: scatter panels.
        figure, results = compare_toys(_COMPARE.value)
        for workdir, scalars in results:
          print(workdir, json.dumps({k: round(v, 4) for k, v in sorted(scalars.items())}))
        paths.write_image(_OUT.value, figure)
        print(f'wrote {_OUT.value}')
      else:
        mosaic, labels = compare_interpolations(_COMPARE.value, _PAIRS.value, _STEPS.value)
        paths.write_image(_OUT.value, mosaic)
        print(f'wrote {_OUT.value}: {_PAIRS.value} pairs x rows {labels}')
    else:
      scalars = evaluate_checkpoint(_WORKDIR.value, _EVALUATORS.value, _MAX_EXAMPLES.value)
      print(json.dumps({k: round(v, 6) for k, v in sorted(scalars.items())}))
      from mixres import metric_writers
      tagged = f'{metric_writers.AFTER_TRAINING_PREFIX}<name>'
      print(f'written to {os.path.join(_WORKDIR.value, metric_writers.AFTER_TRAINING_DIR)}/ as '
            f'{tagged}; a table: python -m mixres.report --metric={tagged}')
  except (ValueError, FileNotFoundError) as e:  # Bad input: one line, no traceback.
    print(f'error: {e}', file=sys.stderr)
    sys.exit(2)


if __name__ == '__main__':
  app.run(main)
