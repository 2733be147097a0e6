"""mixres/paths.py: a workdir on an object store (gs://), faked in memory, and a local one.

The fake is fsspec's in-memory filesystem under the gs:// scheme, with an object store's limits:
no appending, and no directories of its own (a "directory" is the prefix of some object's name).
Orbax's arrays go through TensorStore's own gs:// driver, which nothing here can fake offline:
checkpoints are tested on gs:// for what runs through epath (listing, setting aside) only.
"""

import importlib
import io
import json
import os
import struct

import numpy as np
import pytest
from etils import epath
from fsspec.implementations import memory
from PIL import Image

from mixres import checkpoint
from mixres import evaluate
from mixres import metric_writers
from mixres import paths
from mixres import report


class FakeGCS(memory.MemoryFileSystem):
  """gs:// in memory, with an object store's limits."""

  protocol = ('gs', 'gcs')
  store, pseudo_dirs = {}, ['']

  @classmethod
  def _strip_protocol(cls, path):
    path = memory.stringify_path(path)
    return super()._strip_protocol(path.removeprefix('gs://').removeprefix('gcs://'))

  def _open(self, path, mode='rb', **kwargs):
    if 'a' in mode:
      raise NotImplementedError(f'{path}: an object store cannot append')
    return super()._open(path, mode, **kwargs)

  def mkdir(self, path, create_parents=True, **kwargs):
    del path, create_parents, kwargs  # As gcsfs below a bucket: nothing to create.

  def makedirs(self, path, exist_ok=False):
    del path, exist_ok


@pytest.fixture
def gcs(monkeypatch):
  """gs://bucket/... paths go to memory for the test's length."""
  # fsspec keeps its registered implementations in this dict; monkeypatch restores it after.
  registered = importlib.import_module('fsspec.registry')._registry
  for protocol in FakeGCS.protocol:
    monkeypatch.setitem(registered, protocol, FakeGCS)
  epath.backend.fsspec_backend._get_filesystem.cache_clear()  # epath's cached filesystems.
  yield 'gs://bucket'
  FakeGCS.store.clear()
  epath.backend.fsspec_backend._get_filesystem.cache_clear()


def names(path):
  return sorted(p.name for p in epath.Path(path).iterdir())


def read_events(directory):
  """(tag, step, value) of every scalar in `directory`'s event files, in name order."""
  from tensorboardX.proto import event_pb2
  scalars = []
  for name in names(directory):
    data = (epath.Path(directory) / name).read_bytes()
    while data:
      length, = struct.unpack('Q', data[:8])
      event = event_pb2.Event.FromString(data[12:12 + length])
      data = data[12 + length + 4:]
      scalars += [(v.tag, event.step, v.simple_value) for v in event.summary.value
                  if v.HasField('simple_value')]
  return scalars


def test_the_fake_is_an_object_store(gcs):
  path = epath.Path(gcs) / 'run' / 'a.txt'
  (epath.Path(gcs) / 'run').mkdir(parents=True, exist_ok=True)
  assert not (epath.Path(gcs) / 'run').exists()  # No directory without an object in it.
  path.write_text('x')
  assert (epath.Path(gcs) / 'run').is_dir() and names(f'{gcs}/run') == ['a.txt']
  with pytest.raises(NotImplementedError, match='cannot append'):
    path.open('a')


def test_local_metrics_are_appended_to_one_file(tmp_path):
  for first in (0, 2):  # A run, then its resumption.
    log = paths.MetricsLog(tmp_path)
    log.write({'step': first})
    log.write({'step': first + 1})
    log.close()
  assert os.listdir(tmp_path) == ['metrics.jsonl']
  lines = (tmp_path / 'metrics.jsonl').read_text().splitlines()
  assert [json.loads(line) for line in lines] == [{'step': s} for s in range(4)]
  assert paths.read_metrics(tmp_path) == [{'step': s} for s in range(4)]


def test_remote_metrics_go_to_bounded_segments_in_order(gcs):
  run = f'{gcs}/run'
  log = paths.MetricsLog(run, segment_lines=3, upload_every_s=0.0)
  for step in range(7):
    log.write({'step': step})
    # Each write uploaded: readable at once, as a local file flushed at each line.
    assert [r['step'] for r in paths.read_metrics(run)] == list(range(step + 1))
  log.close()
  log = paths.MetricsLog(run, segment_lines=3, upload_every_s=0.0)  # A resumed run.
  log.write({'step': 7})
  log.close()
  assert names(run) == [f'metrics-00000{i}.jsonl' for i in range(4)]
  sizes = [len((epath.Path(run) / n).read_text().splitlines()) for n in names(run)]
  assert sizes == [3, 3, 1, 1]  # No upload holds more than segment_lines lines.
  assert paths.read_metrics(run) == [{'step': s} for s in range(8)]


def test_remote_metrics_upload_at_most_every_interval_and_at_close(gcs):
  log = paths.MetricsLog(f'{gcs}/run', upload_every_s=1e9)
  log.write({'step': 0})
  assert paths.read_metrics(f'{gcs}/run') == []
  log.close()
  assert paths.read_metrics(f'{gcs}/run') == [{'step': 0}]


def test_metric_writer_on_gcs(gcs):
  run = f'{gcs}/run'
  image = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
  writer = metric_writers.MetricWriter(run, enabled=True)
  writer.write_scalars(0, {'loss': 2.0})
  writer.write_scalars(1, {'loss': 1.5})
  writer.write_images(1, {'figure/mix': image})
  writer.close()
  writer = metric_writers.MetricWriter(run, enabled=True)  # Resumed.
  writer.write_scalars(2, {'loss': 1.0})
  writer.close()
  assert paths.read_metrics(run) == [{'step': 0, 'loss': 2.0}, {'step': 1, 'loss': 1.5},
                                     {'step': 2, 'loss': 1.0}]
  png = (epath.Path(run) / 'figures' / 'figure_mix_00000001.png').read_bytes()
  np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png))), image)
  assert len(names(f'{run}/tensorboard')) == 2  # One event file per writer.
  assert read_events(f'{run}/tensorboard') == [('loss', 0, 2.0), ('loss', 1, 1.5),
                                               ('loss', 2, 1.0)]


def test_event_files_begin_anew_past_their_size(gcs):
  from tensorboardX import record_writer
  paths.register_tensorboard_writers()
  path = f'{gcs}/tb/events.out.tfevents.1.host'
  writer = record_writer.open_file(path)
  writer._max_bytes = 10
  for chunk in (b'0123', b'456789ab', b'cd', b'ef'):
    writer.write(chunk)
    writer.flush()
  writer.close()
  assert [(epath.Path(gcs) / 'tb' / n).read_bytes() for n in names(f'{gcs}/tb')] == [
      b'0123456789ab', b'cdef']
  assert names(f'{gcs}/tb') == ['events.out.tfevents.1.host', 'events.out.tfevents.1.host.0001']


def test_checkpoint_listing_and_setting_aside_on_gcs(gcs, capsys):
  directory = epath.Path(gcs) / 'run' / 'checkpoints'
  for step, files in ((2, ['commit_success.txt', 'state/data']), (4, ['state/data'])):
    for name in files:  # On gs:// Orbax marks a finished save with commit_success.txt.
      (directory / str(step) / name).write_text(f'{step}')
  ckpt = checkpoint.Checkpointer(f'{gcs}/run/checkpoints')
  assert os.fspath(ckpt.directory) == f'{gcs}/run/checkpoints'
  assert ckpt._newest_complete_step() == 2  # Step 4 is an unfinished save.
  ckpt._set_aside(2, ValueError('broken'))
  aside = epath.Path(gcs) / 'run' / 'unreadable_checkpoints'
  assert names(aside / '2') == ['commit_success.txt', 'state']
  assert (aside / '2' / 'state' / 'data').read_text() == '2'
  assert names(directory) == ['4'] and ckpt._newest_complete_step() is None
  assert f'moved to {aside}/2,' in capsys.readouterr().err


def write_run(root, name, values, **config):
  """A run as mixres.main writes it: config.json, and metrics through the writer's log."""
  run = epath.Path(root) / name
  config = {'objective': 'amr', 'mixer': 'mixup', 'k': 2, 'lam': 10.0, 'setting': 'svhn:bern2',
            'data': {'name': 'svhn'}, **config}
  (run / 'config.json').write_text(json.dumps(config))
  log = paths.MetricsLog(run, segment_lines=2, upload_every_s=0.0)
  for step, value in enumerate(values):
    log.write({'step': step, 'best/probe/val_accuracy': value})
  log.close()


def test_report_reads_runs_on_gcs(gcs):
  write_run(gcs, 'runs/s0', [0.1, 0.5, 0.7])  # Two segments: the last value is in the second.
  write_run(gcs, 'runs/s1', [0.2, 0.9])
  (epath.Path(gcs) / 'runs' / 'notes.txt').write_text('not a run')
  runs = report.find_runs([f'{gcs}/runs'])
  assert runs == [f'{gcs}/runs/s0', f'{gcs}/runs/s1']
  assert report.last_value(runs[0], 'best/probe/val_accuracy', median_of=2) == 0.6
  text = report.table(report.collect(runs, 'best/probe/val_accuracy'))
  assert '| bern2 | 80.00 +- 10.00 (n=2) |' in text.splitlines()
  with pytest.raises(FileNotFoundError, match='no such directory'):
    report.find_runs([f'{gcs}/elsewhere'])


def test_evaluate_writes_its_results_on_gcs(gcs, monkeypatch, tiny_config):
  """evaluate_checkpoint's own writing; the restore (Orbax on gs://) is stood in for."""
  image = np.full((2, 3, 3), 7, np.uint8)

  class Experiment:
    checkpointer = checkpoint.Checkpointer(f'{gcs}/run/checkpoints')

    def evaluate(self, state):
      del state
      return {'probe/val_accuracy': 0.25}, {'interpolation/valid': image}

  class State:
    step = 4

  monkeypatch.setattr(evaluate, 'saved_config', lambda workdir: tiny_config)
  monkeypatch.setattr(evaluate, 'restore', lambda workdir, config: (Experiment(), State()))
  assert evaluate.evaluate_checkpoint(f'{gcs}/run', ['probe']) == {'probe/val_accuracy': 0.25}
  assert metric_writers.run_metrics(f'{gcs}/run') == [
      {'step': 4, 'evaluate/probe/val_accuracy': 0.25}]
  out = epath.Path(gcs) / 'run' / 'evaluation'
  png = (out / 'figures' / 'evaluate_interpolation_valid_00000004.png').read_bytes()
  np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png))), image)


def test_a_training_run_writes_its_logs_on_gcs(gcs, monkeypatch, tiny_config, tmp_path):
  """The loop's own files on gs://; its checkpoints in a local directory (see the docstring)."""
  from mixres import train
  local = checkpoint.Checkpointer
  monkeypatch.setattr(train.checkpoint, 'Checkpointer',
                      lambda directory, keep: local(tmp_path / 'checkpoints', keep))
  run = f'{gcs}/run'
  train.train_and_evaluate(tiny_config, run)
  saved = json.loads((epath.Path(run) / 'config.json').read_text())
  assert saved['objective'] == tiny_config.objective
  logged = paths.read_metrics(run)
  assert [r['step'] for r in logged] == [2, 4, 6, 6]  # Train scalars, then the evaluation.
  assert names(f'{run}/figures') == ['interpolation_mixup_00000006.png']
  assert ('gen/loss', 6, pytest.approx(logged[2]['gen/loss'])) in read_events(f'{run}/tensorboard')
  assert report.find_runs([gcs]) == [run]
