"""Where a run's numbers and pictures go: JSON lines, TensorBoard, PNG files, the terminal.

Only process 0 writes; the others get a writer that does nothing.
"""

import os
import time
from typing import Any

import jax
import numpy as np
from etils import epath

from mixres import paths


class MetricWriter:
  """Scalars to `metrics.jsonl` and TensorBoard; images to TensorBoard and `figures/*.png`."""

  def __init__(self, workdir: str, enabled: bool | None = None):
    self.enabled = jax.process_index() == 0 if enabled is None else enabled
    self.workdir = workdir
    self._tensorboard = None
    if self.enabled:
      from tensorboardX import SummaryWriter  # Imported lazily: pulls in protobuf.
      paths.register_tensorboard_writers()
      (epath.Path(workdir) / 'figures').mkdir(parents=True, exist_ok=True)
      self._tensorboard = SummaryWriter(os.path.join(workdir, 'tensorboard'))
      self._jsonl = paths.MetricsLog(workdir)

  def write_scalars(self, step: int, scalars: dict[str, Any]) -> None:
    if not self.enabled:
      return
    scalars = {k: float(v) for k, v in scalars.items()}
    self._jsonl.write({'step': step, **scalars})
    for name, value in scalars.items():
      self._tensorboard.add_scalar(name, value, step)

  def write_images(self, step: int, images: dict[str, np.ndarray]) -> None:
    """images: name -> uint8 (H, W, 3); also saved as figures/<name>_<step>.png."""
    if not self.enabled:
      return
    for name, image in images.items():
      self._tensorboard.add_image(name, image, step, dataformats='HWC')
      filename = f'{name.replace("/", "_")}_{step:08d}.png'
      paths.write_image(epath.Path(self.workdir) / 'figures' / filename, image)

  def close(self) -> None:
    if self.enabled:
      self._tensorboard.close()
      self._jsonl.close()


class ProgressReporter:
  """One terminal line per report: step, steps/s, images/s, ETA and chosen metrics."""

  def __init__(self, num_steps: int, batch_size: int, first_step: int):
    self.num_steps, self.batch_size = num_steps, batch_size
    self._last_step, self._last_time = first_step, time.perf_counter()

  def report(self, step: int, scalars: dict[str, float]) -> str:
    now = time.perf_counter()
    rate = (step - self._last_step) / max(now - self._last_time, 1e-9)
    self._last_step, self._last_time = step, now
    eta = (self.num_steps - step) / rate if rate > 0 else float('inf')
    shown = ' '.join(f'{k}={v:.4g}' for k, v in sorted(scalars.items()))
    line = (f'step {step}/{self.num_steps} | {rate:.2f} steps/s {rate * self.batch_size:.0f} '
            f'img/s | ETA {_duration(eta)} | {shown}')
    if jax.process_index() == 0:
      print(line, flush=True)
    return line


def _duration(seconds: float) -> str:
  if not np.isfinite(seconds):
    return '?'
  minutes, seconds = divmod(int(seconds), 60)
  hours, minutes = divmod(minutes, 60)
  return f'{hours}h{minutes:02d}m' if hours else f'{minutes}m{seconds:02d}s'
