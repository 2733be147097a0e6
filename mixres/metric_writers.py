"""Where a run's numbers and pictures go: JSON lines, TensorBoard, PNG files, the terminal.

Only process 0 writes; the others get a writer that does nothing. JAX is imported where it is
used, so that mixres.report finds the metric files through this module without loading it.
"""

import os
import time
from typing import Any

import numpy as np
from etils import epath

from mixres import paths

# mixres.evaluate's numbers, computed on a checkpoint after training, have a writer of their own
# in this directory of the workdir, and every name they write starts with the prefix, so a table
# (`mixres.report --metric=evaluate/clustering/accuracy`) never mixes them up with the numbers
# logged in training, and a run may train on while its checkpoint is evaluated.
AFTER_TRAINING_DIR = 'evaluation'
AFTER_TRAINING_PREFIX = 'evaluate/'

# The progress line's headline: each network's total loss (sorted), then these, at most
# HEADLINE_SIZE in all; the probe's loss is a side show. Every metric goes to the writers.
HEADLINE_EXTRA = ('gen/recon', 'probe/train_accuracy')
HEADLINE_SIZE = 4


def run_logs(workdir: epath.PathLike) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
  """A run's two logs (paths.read_metrics), each in the order written: training's, then
  mixres.evaluate's (its steps are the checkpoints', so they start again from low ones)."""
  return (paths.read_metrics(workdir),
          paths.read_metrics(epath.Path(workdir) / AFTER_TRAINING_DIR))


def run_metrics(workdir: epath.PathLike) -> list[dict[str, Any]]:
  """Every record a run logged: training's, then mixres.evaluate's."""
  training, after_training = run_logs(workdir)
  return training + after_training


class MetricWriter:
  """Scalars to `metrics.jsonl` and TensorBoard; images to TensorBoard and `figures/*.png`.

  after_training: mixres.evaluate's writer, in WORKDIR/evaluation/ with every name prefixed
  AFTER_TRAINING_PREFIX.
  """

  def __init__(self, workdir: str, enabled: bool | None = None, after_training: bool = False):
    import jax
    self.enabled = jax.process_index() == 0 if enabled is None else enabled
    self.root = os.path.join(workdir, AFTER_TRAINING_DIR) if after_training else workdir
    self._prefix = AFTER_TRAINING_PREFIX if after_training else ''
    self._tensorboard = None
    if self.enabled:
      from tensorboardX import SummaryWriter  # Imported lazily: pulls in protobuf.
      paths.register_tensorboard_writers()
      (epath.Path(self.root) / 'figures').mkdir(parents=True, exist_ok=True)
      self._tensorboard = SummaryWriter(os.path.join(self.root, 'tensorboard'))
      self._jsonl = paths.MetricsLog(self.root)

  def write_scalars(self, step: int, scalars: dict[str, Any]) -> None:
    if not self.enabled:
      return
    scalars = {self._prefix + k: float(v) for k, v in scalars.items()}
    self._jsonl.write({'step': step, **scalars})
    for name, value in scalars.items():
      self._tensorboard.add_scalar(name, value, step)

  def write_images(self, step: int, images: dict[str, np.ndarray]) -> None:
    """images: name -> uint8 (H, W, 3); also saved as figures/<name>_<step>.png."""
    if not self.enabled:
      return
    for name, image in images.items():
      name = self._prefix + name
      self._tensorboard.add_image(name, image, step, dataformats='HWC')
      filename = f'{name.replace("/", "_")}_{step:08d}.png'
      paths.write_image(epath.Path(self.root) / 'figures' / filename, image)

  def write_hparams(self, hparams: dict[str, Any]) -> None:
    """The run's settings (flat name -> value) for TensorBoard's HPARAMS tab.

    Only the session's start info is written, not an experiment summary: TensorBoard then
    builds the table from every run under --logdir, with every logged scalar as a metric
    column, so runs of a sweep line up by their settings.
    """
    if not self.enabled:
      return
    from tensorboardX import summary
    shown = {k: v if isinstance(v, (bool, int, float, str)) else str(v)
             for k, v in hparams.items() if v is not None}
    _, session_start, _ = summary.hparams(shown, {})
    self._tensorboard.file_writer.add_summary(session_start)

  def close(self) -> None:
    if self.enabled:
      self._tensorboard.close()
      self._jsonl.close()


def headline(scalars: dict[str, float]) -> list[str]:
  """The names the progress line shows (HEADLINE_EXTRA above), in order."""
  losses = sorted(k for k in scalars if k.endswith('/loss') and not k.startswith('probe/'))
  return (losses + [k for k in HEADLINE_EXTRA if k in scalars])[:HEADLINE_SIZE]


def _shown(scalars: dict[str, float], names) -> str:
  return ' '.join(f'{k}={scalars[k]:.4g}' for k in names)


class ProgressReporter:
  """One terminal line per log: step, steps/s, images/s, ETA and the headline metrics."""

  def __init__(self, num_steps: int, batch_size: int, first_step: int):
    self.num_steps, self.batch_size = num_steps, batch_size
    self._last_step, self._last_time = first_step, time.perf_counter()

  def report(self, step: int, scalars: dict[str, float]) -> str:
    now = time.perf_counter()
    rate = (step - self._last_step) / max(now - self._last_time, 1e-9)
    self._last_step, self._last_time = step, now
    eta = (self.num_steps - step) / rate if rate > 0 else float('inf')
    line = (f'step {step}/{self.num_steps} | {rate:.2f} steps/s {rate * self.batch_size:.0f} '
            f'img/s | ETA {_duration(eta)} | {_shown(scalars, headline(scalars))}')
    _print(line)
    return line

  def report_evaluation(self, step: int, scalars: dict[str, float]) -> str:
    """One line of an evaluation's numbers (its 'best/' copies stay in the writers)."""
    line = f'eval {step}/{self.num_steps} | ' + _shown(
        scalars, sorted(k for k in scalars if not k.startswith('best/')))
    _print(line)
    return line


def _print(line: str) -> None:
  import jax
  if jax.process_index() == 0:
    print(line, flush=True)


def _duration(seconds: float) -> str:
  if not np.isfinite(seconds):
    return '?'
  minutes, seconds = divmod(int(seconds), 60)
  hours, minutes = divmod(minutes, 60)
  return f'{hours}h{minutes:02d}m' if hours else f'{minutes}m{seconds:02d}s'


class Profiler:
  """jax.profiler's trace of config.profile_steps into WORKDIR/profile/ (one folder per process
  when there are several). As a context it closes a trace still open at its exit (a signal, an
  error), so that what was traced is kept."""

  def __init__(self, workdir: str):
    import jax
    self.directory = os.path.join(workdir, 'profile')
    if jax.process_count() > 1:  # JAX names a trace by host: processes of one host would clash.
      self.directory = os.path.join(self.directory, f'process_{jax.process_index()}')
    self.tracing = False

  def start(self) -> None:
    if self.tracing:  # Rolled back into the window: the trace goes on.
      return
    import jax
    jax.profiler.start_trace(self.directory)
    self.tracing = True

  def stop(self, state: Any = None, window: str = '') -> None:
    """Ends the trace once `state` is computed: the window's work, not only its dispatch."""
    if not self.tracing:  # E.g. resumed inside the window: it was not started.
      return
    import jax
    jax.block_until_ready(state)
    jax.profiler.stop_trace()
    self.tracing = False
    if window:
      _print(f'profiled steps {window}: {self.directory}')

  def __enter__(self) -> 'Profiler':
    return self

  def __exit__(self, *exc_info) -> None:
    self.stop()


def parameter_table(params: dict[str, Any], groups: dict[str, tuple[str, ...]]) -> str:
  """Parameters of each network (params: network -> its tree, arrays or shapes) and of each
  optimiser group of several networks (e.g. AMR's generator = encoder + decoder)."""
  import jax
  counts = {name: sum(int(np.prod(leaf.shape)) for leaf in jax.tree.leaves(tree))
            for name, tree in params.items()}
  arrays = {name: len(jax.tree.leaves(tree)) for name, tree in params.items()}
  rows = [(name, counts[name], f'{arrays[name]} arrays') for name in sorted(params)]
  rows += [(f'{group} = {" + ".join(nets)}', sum(counts[n] for n in nets), 'optimiser group')
           for group, nets in groups.items() if len(nets) > 1 and set(nets) <= set(counts)]
  width = max(len(name) for name, _, _ in rows)
  lines = [f'{name:<{width}}  {count:>11,}  {what}' for name, count, what in rows]
  return '\n'.join(['parameters:'] + ['  ' + line for line in lines])
