"""Runs of the AMR paper's table cells: the settings' shared config, from mixres/paper_tables.py.

Not a config itself: the setting files (configs/amr_*.py) build theirs with `setting_config`.
They take an optional argument after the path, `ROW[,local]`:

  python -m mixres.main --config=configs/amr_mnist.py:bern2 --workdir=DIR
  python -m mixres.main --config=configs/amr_mnist.py:mixup3,local --workdir=DIR

ROW is a table row (paper_tables.ROWS; default mixup2) and sets objective, mixer, k and the row's
lambda; `local` makes the small CPU variant: the same model, losses and schedule, LOCAL_STEPS
steps, a shorter evaluation, and a faster probe (make_local says why). Published numbers:
paper_tables.PUBLISHED; their sources in docs/published_numbers.md#amr-paper.

Every table config runs what the authors ran (`follow_authors_code`, `paper_tables.epochs`): where
their code differs from mixres's defaults, the field that chooses is set to their choice here.
"""

import ml_collections

from configs import base
from mixres import config_arg
from mixres import paper_tables

LOCAL_STEPS = 500  # The `local` variant: a few minutes on a 2-core CPU (BENCHMARKS.md).


def parse(arg: str | None, setting: str) -> tuple[str, bool]:
  """'ROW[,local]' -> (row, local); ValueError naming the rows of this setting."""
  row, flags = config_arg.parse(arg, ROW=(paper_tables.LAMBDAS[setting], 'mixup2'))
  return row, 'local' in flags


def setting_config(setting: str, arg: str | None) -> ml_collections.ConfigDict:
  """The base config with `setting`'s row `arg` ('ROW[,local]') applied."""
  return cell_config(setting, *parse(arg, setting))


def cell_config(setting: str, row: str, local: bool) -> ml_collections.ConfigDict:
  """The base config with one table cell's objective, mixer, k, lambda and length."""
  config = base.get_config()
  # Dotted keys: 'acai.variant' sets config.acai.variant.
  config.update_from_flattened_dict(paper_tables.ROWS[row])
  config.lam = float(paper_tables.LAMBDAS[setting][row])
  config.setting = f'{setting}:{row}'  # What the run reproduces; read by reports.
  config.num_epochs = float(paper_tables.epochs(setting, row))
  follow_authors_code(config)
  if local:
    make_local(config)
  return config


def follow_authors_code(config: ml_collections.ConfigDict) -> None:
  """What the AMR code does where mixres's defaults differ (docs/faithfulness.md#a6 to #a11);
  each a field.

  - model.init 'reference', model.entry_padding 1: its initialisation and 34x34 entry conv
    (architectures/arch_kyle.py:18-25, 36; mixres/models/convnets.py);
  - model.spectral_updates 'per_forward': one power iteration in every D forward
    (architectures/shared/spectral_normalization.py:66-68);
  - data.batching 'epoch': per-epoch shuffles with the partial last batch, G's schedule counted
    within each epoch (models/base.py:50, swapgan.py:263; mixres/data/pipeline.py);
  - data.shuffle_seed -1: the data order follows the run's seed, as torch.manual_seed(seed)
    orders the AMR code's DataLoader (task_launcher.py:318), so 3 seeds vary what theirs did;
  - eval.every.probe '1 epoch': the probe read at every epoch's end (models/base.py:71-97), so
    "best validation accuracy over training" is the same statistic as the paper's;
  - data.split_method 'amr_code': their train/valid cut, a RandomState(0) shuffle with training
    first (task_launcher.py:58-62, 433-515), and the Table 2 subsets its first N (:544-552).
  """
  config.model.init = 'reference'
  config.model.entry_padding = 1
  config.model.spectral_updates = 'per_forward'
  config.data.batching = 'epoch'
  config.data.shuffle_seed = -1
  config.eval.every.probe = '1 epoch'
  config.data.split_method = 'amr_code'


def make_local(config: ml_collections.ConfigDict) -> None:
  """The CPU variant: same networks, losses and schedule, LOCAL_STEPS steps, a short evaluation.

  The probe learns at 1e-2 instead of 1e-4: at 1e-4 a linear probe barely moves in 500 steps
  (MNIST: 15% after 500 steps), so its accuracy would say nothing about the code. The probe
  never changes the encoder, so this changes no representation.
  """
  config.num_train_steps = LOCAL_STEPS
  config.probe_lr = 1e-2
  config.log_every = 50
  config.eval_every = 250
  config.checkpoint_every = 250
  config.eval.max_examples = 2_000
