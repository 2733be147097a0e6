"""Every shared config field's range, checked before any work (train.Experiment calls it first).

mixres/defaults.py field by field: the run's length and cadences, the data, the model's sizes,
the optimiser and the evaluators. Each method's own section (config.acai, config.gaia, ...) is
checked by its objective's constructor, and choices with a registry (config.objective,
config.data.name, config.model.arch, ...) where that registry is read; both also come before any
work. A value out of range raises ValueError in one line naming the field (mixres/config_checks).
"""

import ml_collections

from mixres import config_checks as cc
from mixres.evaluation import clustering
from mixres.evaluation import disentanglement
from mixres.evaluation import few_shot
from mixres.evaluation import sampling

SEED_LIMIT = 2**31  # numpy and JAX seeds: non-negative int32.

# Counts that must be >= 1 (sizes of networks, batches, evaluations).
POSITIVE_COUNTS = (
    'batch_size', 'log_every', 'eval_every', 'checkpoint_every', 'keep_checkpoints',
    'gen_every', 'data.image_size',
    'model.code_size', 'model.disc_channels', 'model.mlp_width', 'model.latent_width',
    'model.depth', 'model.latent',
    'eval.batch_size', 'eval.figure_pairs', 'eval.figure_steps', 'eval.clustering_inits',
    'eval.lines_pairs', 'eval.ndm_steps', 'eval.ndm_batch', 'eval.attribute_pairs',
    'eval.num_samples', 'eval.few_shot_seeds', 'eval.frechet_steps',
    'eval.disentanglement.num_train', 'eval.disentanglement.num_test',
    'eval.disentanglement.factor_vae_batch', 'eval.disentanglement.beta_vae_batch',
    'eval.disentanglement.scale_examples', 'eval.disentanglement.amr_authors_batch',
)
# Counts where 0 means "none" or "all" (see mixres/defaults.py for each).
NONNEGATIVE_COUNTS = (
    'num_train_steps', 'divergence_rollbacks', 'steps_per_call', 'num_devices',
    'model.mlp_layers',
    'data.valid_size', 'data.train_subset', 'data.num_classes', 'data.num_examples',
    'data.augment.num_views', 'eval.max_examples', 'eval.clustering_train_examples',
    'eval.frozen_probe_train_examples',
)
SEEDS = ('seed', 'data.split_seed', 'data.subset_seed', 'data.procedural_seed',
         'eval.lines_seed', 'eval.disentanglement.seed')
LEARNING_RATES = ('optim.lr', 'probe_lr', 'eval.ndm_lr')
NONNEGATIVE_REALS = ('num_epochs', 'lam', 'beta', 'optim.weight_decay',
                     'data.augment.rotation', 'data.augment.translation')


def validate(config: ml_collections.ConfigDict) -> None:
  """Raises ValueError (one line, naming the field) for the first shared field out of range."""
  for field in POSITIVE_COUNTS:
    cc.check_integer(config, field, 1)
  for field in NONNEGATIVE_COUNTS:
    cc.check_integer(config, field, 0)
  for field in SEEDS:
    cc.check_integer(config, field, 0, SEED_LIMIT - 1)
  cc.check_integer(config, 'data.shuffle_seed', -1, SEED_LIMIT - 1,
                   why='-1 follows config.seed')
  for field in LEARNING_RATES:
    cc.check_positive(config, field)
  for field in NONNEGATIVE_REALS:
    cc.check_nonnegative(config, field)
  for field in ('optim.b1', 'optim.b2'):  # Adam's moment decays; 1 never forgets.
    cc.check_interval(config, field, 0.0, 1.0, closed='left')
  cc.check_interval(config, 'data.valid_fraction', 0.0, 1.0, closed='neither')
  cc.check_interval(config, 'model.leaky_slope', 0.0, 1.0, closed='left')
  cc.check_positive(config, 'eval.toy_tolerance')
  scale = tuple(config.data.augment.scale)
  if len(scale) != 2 or not all(cc.is_real(s) for s in scale) or not 0 < scale[0] <= scale[1]:
    raise ValueError(f'config.data.augment.scale={scale} must be (low, high) with '
                     '0 < low <= high')
  _validate_evaluators(config)


def _validate_evaluators(config: ml_collections.ConfigDict) -> None:
  """Evaluator fields read from config alone: before any evaluator trains a classifier."""
  cc.check_choice(config, 'eval.clustering_protocol', clustering.PROTOCOLS)
  few_shot.check_dataset(config)
  disentanglement.check_config(config)
  if set(config.eval.evaluators) & {'gaussian_samples', 'few_shot'}:
    sampling.check_num_samples(config)
