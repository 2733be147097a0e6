"""A workdir's files on any filesystem etils `epath` reaches: local directories, gs://, s3://.

Orbax checkpoints take the same `epath.Path`, so one --workdir string serves everything a run
writes and `mixres.evaluate` and `mixres.report` read. Without TensorFlow, epath reaches gs://
through fsspec (the `gcsfs` package).

Object stores cannot append to an object, and each write uploads the object whole. So what a
local workdir appends to (metrics.jsonl, TensorBoard's event file) is written there as segments:
each rewritten whole at a flush and closed once it holds a bounded amount, so that an upload
never grows with the length of the run. `read_metrics` reads either kind.
"""

import json
import os
import re
import shutil
import time
from typing import Any, Iterator

import numpy as np
from etils import epath

METRICS = 'metrics.jsonl'
_SEGMENT = re.compile(r'metrics-(\d{6})\.jsonl')


def is_local(path: epath.PathLike) -> bool:
  return '://' not in os.fspath(path)


def absolute(path: epath.PathLike) -> epath.Path:
  """A local path made absolute (as os.path.abspath); a URL as it is."""
  return epath.Path(os.path.abspath(path) if is_local(path) else path)


def write_image(path: epath.PathLike, image: np.ndarray) -> None:
  """A uint8 image in the format its name's extension says, as PIL's save(filename) does."""
  from PIL import Image
  path = epath.Path(path)
  image_format = Image.registered_extensions().get(path.suffix.lower())
  if image_format is None:
    raise ValueError(f'{path}: unknown image file extension (use .png)')
  with path.open('wb') as f:
    Image.fromarray(image).save(f, format=image_format)


def walk(top: epath.PathLike) -> Iterator[tuple[epath.Path, list[str], list[str]]]:
  """os.walk on any filesystem: (directory, its subdirectories, its files), top first."""
  top = epath.Path(top)
  first = None
  for root, dirs, files in top.walk():
    if is_local(top):
      yield root, dirs, files
      continue
    # fsspec names the directories it walks without their scheme ('bucket/run/a'); epath
    # passes them on as local paths. They are rebuilt from `top` instead.
    first = os.fspath(root) if first is None else first
    yield top / os.fspath(root)[len(first):].lstrip('/'), dirs, files


def move_tree(source: epath.Path, target: epath.Path) -> None:
  """Moves a directory; on object stores (no renames) each object is copied, then removed."""
  if is_local(source):
    shutil.move(source, target)
    return
  for root, _, files in walk(source):
    relative = os.fspath(root)[len(os.fspath(source)):].lstrip('/')
    for name in files:
      (root / name).copy(target / relative / name)
  source.rmtree()


def metrics_files(names: list[str]) -> list[str]:
  """A run's metrics files among `names`, in the order written."""
  return [METRICS] * (METRICS in names) + sorted(n for n in names if _SEGMENT.fullmatch(n))


def read_metrics(workdir: epath.PathLike) -> list[dict[str, Any]]:
  """Every record a run logged, in the order written: step order, except that a resumed run's
  redone steps follow the first attempt's (as they do in metrics.jsonl)."""
  workdir = epath.Path(workdir)
  names = [p.name for p in workdir.iterdir()] if workdir.is_dir() else []
  return [json.loads(line) for name in metrics_files(names)
          for line in (workdir / name).read_text().splitlines() if line]


class MetricsLog:
  """JSON lines: appended to metrics.jsonl in a local workdir, flushed at each line.

  Elsewhere, segments metrics-000000.jsonl, metrics-000001.jsonl, ...: the current one is
  uploaded whole at most every `upload_every_s` seconds (an object takes about one write a
  second), a new one is begun every `segment_lines` lines and by each new writer (a resumed run).
  An upload is then at most `segment_lines` lines (about 0.5 MB at 500 bytes a line), however
  long the run; a run killed outright loses the lines of its last `upload_every_s` seconds.
  """

  def __init__(self, workdir: epath.PathLike, segment_lines: int = 1000,
               upload_every_s: float = 10.0):
    workdir = epath.Path(workdir)
    self._file = (workdir / METRICS).open('a') if is_local(workdir) else None
    if self._file is None:
      names = [p.name for p in workdir.iterdir()] if workdir.is_dir() else []
      segments = [int(m[1]) for n in names if (m := _SEGMENT.fullmatch(n))]
      self._index = max(segments, default=-1) + 1
      self._workdir, self._lines, self._uploaded = workdir, [], time.monotonic()
      self._segment_lines, self._upload_every_s = segment_lines, upload_every_s

  def write(self, record: dict[str, Any]) -> None:
    line = json.dumps(record) + '\n'
    if self._file is not None:
      self._file.write(line)
      self._file.flush()
      return
    self._lines.append(line)
    full = len(self._lines) >= self._segment_lines
    if full or time.monotonic() - self._uploaded >= self._upload_every_s:
      self._upload()
    if full:
      self._index, self._lines = self._index + 1, []

  def _upload(self) -> None:
    if self._lines:
      (self._workdir / f'metrics-{self._index:06d}.jsonl').write_text(''.join(self._lines))
    self._uploaded = time.monotonic()

  def close(self) -> None:
    if self._file is not None:
      self._file.close()
    else:
      self._upload()


class _EventFileSegments:
  """A TensorBoard event file on an object store, written through epath.

  tensorboardX flushes every `flush_secs` (120 s by default) and at close; each flush uploads
  the current file whole. Past `max_bytes` the next flush begins a new file, named after the
  first with a '.0001', '.0002', ... suffix: TensorBoard reads a run's event files in name order.
  A flush then uploads at most `max_bytes` plus what came since the last flush.

  Event files are named after the second they began: a second writer in the same second (a quick
  resume) would replace the first one's file, so it takes the name '<name>.r1' (after the first's
  files in name order) instead.
  """

  def __init__(self, path: str, max_bytes: int = 4 << 20):
    base, tries = path, 0
    while epath.Path(path).exists():
      tries += 1
      path = f'{base}.r{tries}'
    self._path, self._max_bytes = path, max_bytes
    self._index, self._buffer = 0, bytearray()

  def write(self, data: bytes) -> None:
    self._buffer += data

  def flush(self) -> None:
    if self._buffer or self._index == 0:
      name = self._path + (f'.{self._index:04d}' if self._index else '')
      epath.Path(name).write_bytes(bytes(self._buffer))
    if len(self._buffer) >= self._max_bytes:
      self._index, self._buffer = self._index + 1, bytearray()

  def close(self) -> None:
    self.flush()


class _EventFileSegmentsFactory:
  """tensorboardX's writer factory interface (record_writer.register_writer_factory)."""

  def open(self, path: str) -> _EventFileSegments:
    return _EventFileSegments(path)

  def directory_check(self, path: str) -> None:
    del path  # Object stores have no directories to create.


def register_tensorboard_writers() -> None:
  """Routes tensorboardX's URL paths through epath (its own gs:// writer needs
  google-cloud-storage, and uploads the whole event file, growing, at each flush)."""
  from tensorboardX import record_writer
  for scheme in ('gs', 's3', 'az'):
    record_writer.register_writer_factory(scheme, _EventFileSegmentsFactory())
