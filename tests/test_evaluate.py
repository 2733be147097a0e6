"""mixres.evaluate: evaluators on a saved checkpoint, and the interpolation comparison figure."""

import json
import os

import jax
import numpy as np
import pytest

from mixres import evaluate
from mixres import report
from mixres.data import pipeline
from mixres.evaluation import clustering
from mixres import train


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
  """A finished 4-step quickstart-style run."""
  from configs import quickstart
  config = quickstart.get_config()
  config.num_train_steps = 4
  config.log_every = config.eval_every = config.checkpoint_every = 4
  config.batch_size = 8
  config.model.depth, config.model.latent_width = 4, 8  # 2 scales: compiles in a fraction.
  config.eval.batch_size = 64
  config.eval.max_examples = 128
  config.eval.figure_pairs = 2
  config.eval.clustering_inits = 10
  workdir = str(tmp_path_factory.mktemp('run'))
  summary = train.train_and_evaluate(config, workdir)
  return workdir, summary


def test_checkpoint_evaluation_matches_training_and_leaves_logs_alone(trained):
  workdir, summary = trained
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    logs = f.read()
  scalars = evaluate.evaluate_checkpoint(workdir, ['probe', 'clustering'])
  assert scalars['probe/val_accuracy'] == summary['probe/val_accuracy']
  # The same number as the metric computed by hand on the checkpoint's validation codes.
  experiment, state = evaluate.restore(workdir)
  params = experiment.objective.inference_params(state)
  batch = pipeline.stack([experiment.valid_source[i] for i in range(128)])
  codes = jax.jit(experiment.objective.encode)(params, batch['image'])
  experiment.checkpointer.close()
  assert scalars['clustering/accuracy'] == clustering.clustering_accuracy(
      np.asarray(codes), batch['label'], 10, 10, experiment.config.seed)
  # One record at the checkpoint's step, every name tagged as computed after training.
  with open(os.path.join(workdir, 'evaluation', 'metrics.jsonl')) as f:
    saved = [json.loads(line) for line in f]
  assert saved == [{'step': 4, **{f'evaluate/{k}': v for k, v in scalars.items()}}]
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    assert f.read() == logs
  # ... which mixres.report tabulates beside the training's numbers.
  cells = report.collect([workdir], 'evaluate/clustering/accuracy')
  assert cells == {('digits', 'amr mixup k=2'): [(10.0, scalars['clustering/accuracy'])]}


def test_comparison_figure_rows(trained):
  workdir, _ = trained
  mosaic, labels = evaluate.compare_interpolations([workdir, workdir], pairs=2, steps=5)
  assert labels[0] == 'pixel blend' and len(labels) == 3
  # 2 pairs x 3 rows of 5 tiles of 32 px, upscaled 2x with 2 px gaps, plus the label margin.
  assert mosaic.shape == (6 * 66 + 2, 150 + 5 * 66 + 2, 3) and mosaic.dtype == np.uint8


def test_no_checkpoint_is_one_clear_error(tmp_path):
  with pytest.raises(FileNotFoundError, match='no checkpoint under'):
    evaluate.evaluate_checkpoint(str(tmp_path))
  assert not os.path.exists(os.path.join(tmp_path, 'evaluation'))
