"""How a run stops short of its length, and the exit status each way gives a scheduler.

| status | meaning | what to do |
|---|---|---|
| 0 | finished (or resumed an already finished run) | nothing |
| 1 | a checkpoint could not be written (full disk, lost mount) or an unexpected error | fix the cause, run the same command: it resumes from the last complete checkpoint |
| 2 | bad input: a config field, a data file, a workdir of another experiment | fix the input; nothing was written |
| 3 | diverged: a non-finite loss or parameter | the last good checkpoint is kept; lower the learning rate, or set `divergence_rollbacks` |
| 75 | preempted (SIGTERM, SIGINT, or Orbax's multi-host preemption notice): saved at a step boundary | run the same command: it resumes bit for bit |

75 is EX_TEMPFAIL of sysexits.h, "try again later", which requeueing schedulers read as such.
"""

import io
import logging
import signal
import sys
import tempfile
import threading
import time
from typing import Any

import jax
import jax.numpy as jnp

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_DIVERGED = 3
EXIT_PREEMPTED = 75


class RunStopped(Exception):
  """The run stopped before its last step; the message is one line saying what survived."""
  exit_code = EXIT_FAILED
  label = 'error'  # What mixres.main prints before the message.


class Preempted(RunStopped):
  exit_code = EXIT_PREEMPTED
  label = 'preempted'


class Diverged(RunStopped):
  exit_code = EXIT_DIVERGED
  label = 'diverged'


class CheckpointFailed(RunStopped):
  exit_code = EXIT_FAILED


def first_line(error: BaseException) -> str:
  """An exception as one short line: its type and the first line of its message."""
  lines = str(error).strip().splitlines()
  text = lines[0] if lines else ''
  text = text if len(text) <= 200 else text[:197] + '...'
  return f'{type(error).__name__}: {text}' if text else type(error).__name__


class HeldBackOutput:
  """Holds back what is printed to stderr or logged while a `with` block runs.

  A failed Orbax save makes each of its writer threads log a traceback, and TensorStore's
  callbacks into the closed event loops print more: dozens of lines that bury the one line
  saying what failed. Inside the block, sys.stderr writes to a buffer and the root logger's
  handlers hold records back. When the block succeeds, both go out then (nothing is lost); when
  it raises, the threads get `settle_s` to finish printing, and the text stays in `.text` for
  `write_report`, whose file the one line can name.
  """

  def __init__(self, settle_s: float = 1.0):
    self.settle_s = settle_s
    self.text = ''

  def filter(self, record: logging.LogRecord) -> bool:  # As a logging filter: hold back.
    if not any(record is held for held in self._records):  # Each handler sees the record.
      self._records.append(record)
    return False

  def __enter__(self) -> 'HeldBackOutput':
    self._buffer, self._records = io.StringIO(), []
    self._stderr, sys.stderr = sys.stderr, self._buffer
    self._handlers = list(logging.getLogger().handlers)
    for handler in self._handlers:
      handler.addFilter(self)
    return self

  def __exit__(self, exc_type, *exc) -> None:
    if exc_type is not None:
      time.sleep(self.settle_s)
    for handler in self._handlers:
      handler.removeFilter(self)
    sys.stderr = self._stderr
    printed = self._buffer.getvalue()
    self.text = printed + ''.join(logging.Formatter().format(r) + '\n' for r in self._records)
    if exc_type is None:
      sys.stderr.write(printed)
      for record in self._records:
        for handler in self._handlers:
          if record.levelno >= handler.level:
            handler.handle(record)

  def write_report(self, prefix: str) -> str | None:
    """Writes the held-back text to a new file in the temporary directory (usually another
    disk than the workdir's); returns its path, or None when there is nothing or it fails."""
    if not self.text:
      return None
    try:
      with tempfile.NamedTemporaryFile('w', prefix=prefix, suffix='.txt', delete=False) as f:
        f.write(self.text)
      return f.name
    except OSError:
      return None


def state_is_finite(state: Any) -> jax.Array:
  """True when every floating-point leaf of `state` is finite (params, optimiser moments)."""
  leaves = [x for x in jax.tree.leaves(state)
            if hasattr(x, 'dtype') and jnp.issubdtype(x.dtype, jnp.floating)]
  return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves])) if leaves else True


class StopRequest:
  """SIGTERM and SIGINT ask the loop to save at the next step boundary and stop.

  A second SIGINT stops at once (KeyboardInterrupt), without saving. Used as a context manager,
  it installs its handlers on entry and puts the previous ones back on exit.

  `multihost`: under jax.distributed, SIGTERM is left to JAX's preemption notifier, which every
  process runs and the coordinator synchronises so that all of them save the same step
  (`Checkpointer.reached_preemption`); a first SIGINT is re-raised as SIGTERM to take that same
  path (a flag of our own would stop one process and leave the others waiting in a collective).
  `enabled=False` installs nothing.
  """

  def __init__(self, enabled: bool = True, multihost: bool = False):
    self.enabled = enabled and threading.current_thread() is threading.main_thread()
    self.multihost = multihost
    self.signal_name: str | None = None  # What the loop reads (single host only).
    self._interrupted = False
    self._previous = {}

  @property
  def requested(self) -> bool:
    return self.signal_name is not None

  def _handle(self, signum, frame):
    del frame
    if signum == signal.SIGINT and self._interrupted:
      raise KeyboardInterrupt  # The second Ctrl-C: stop now.
    self._interrupted = True
    if self.multihost:
      signal.raise_signal(signal.SIGTERM)  # To JAX's notifier; the loop sees reached_preemption.
    else:
      self.signal_name = signal.Signals(signum).name

  def __enter__(self) -> 'StopRequest':
    if self.enabled:
      for signum in (signal.SIGINT,) if self.multihost else (signal.SIGTERM, signal.SIGINT):
        self._previous[signum] = signal.signal(signum, self._handle)
    return self

  def __exit__(self, *exc) -> None:
    for signum, handler in self._previous.items():
      signal.signal(signum, handler)
    self._previous = {}
