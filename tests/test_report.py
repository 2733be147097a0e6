"""mixres.report: runs -> paper-shaped tables, mean +- std over seeds, lambda sweeps, published."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from mixres import report


def write_run(root, name, values, setting='', lam=10.0, **config):
  """A fake workdir: config.json and a metrics.jsonl whose 'best/...' grows over evaluations."""
  path = os.path.join(root, name)
  os.makedirs(path)
  config = {'objective': 'amr', 'mixer': 'mixup', 'k': 2, 'lam': lam, 'setting': setting,
            'data': {'name': 'mnist'}, **config}
  with open(os.path.join(path, 'config.json'), 'w') as f:
    json.dump(config, f)
  with open(os.path.join(path, 'metrics.jsonl'), 'w') as f:
    for step, value in enumerate(values):
      f.write(json.dumps({'step': step, 'gen/loss': 1.0}) + '\n')
      f.write(json.dumps({'step': step, 'best/probe/val_accuracy': value}) + '\n')
  return path


def test_table_mean_std_over_seeds_and_lambda_rows(tmp_path):
  root = str(tmp_path)
  write_run(root, 'a/s0', [0.5, 0.97], setting='mnist:mixup2')
  write_run(root, 'a/s1', [0.5, 0.99], setting='mnist:mixup2')
  write_run(root, 'b/s0', [0.96], setting='mnist:ae_gan', lam=5.0)
  write_run(root, 'b/s1', [0.94], setting='mnist:ae_gan', lam=20.0)
  write_run(root, 'c', [0.40], objective='amr', mixer='bernoulli', k=3,
            data={'name': 'digits'})
  os.makedirs(os.path.join(root, 'not_a_run'))
  runs = report.find_runs([root])
  assert len(runs) == 5
  cells = report.collect(runs, 'best/probe/val_accuracy')
  assert sorted(cells[('mnist', 'mixup2')]) == [(10.0, 0.97), (10.0, 0.99)]  # Last value.
  text = report.table(cells)
  lines = text.splitlines()
  assert lines[0] == '| row | digits | mnist |'
  assert '| mixup2 | - | 98.00 +- 1.00 (n=2) |' in lines  # numpy std (ddof=0) of 97, 99.
  assert '| ae_gan (lam=5) | - | 96.00 (n=1) |' in lines
  assert '| ae_gan (lam=20) | - | 94.00 (n=1) |' in lines
  assert '| amr bernoulli k=3 | 40.00 (n=1) | - |' in lines


def test_published_rows_only_for_their_metric(tmp_path):
  root = str(tmp_path)
  write_run(root, 'r', [0.98], setting='mnist:mixup2')
  cells = report.collect(report.find_runs([root]), 'best/probe/val_accuracy')
  text = report.table(cells, published='best/probe/val_accuracy')
  assert '| mixup2 (paper) | 98.01 +- 0.10 |' in text.splitlines()
  # Table 4's numbers are a disentanglement metric: never beside probe accuracy.
  write_run(root, 'd', [0.33], setting='dsprites:mixup2')
  cells = report.collect(report.find_runs([root]), 'best/probe/val_accuracy')
  text = report.table(cells, published='best/probe/val_accuracy')
  assert '49.00' not in text


def write_dsprites_run(root, name, row, ours, theirs):
  """A Table 4 run that logged both FactorVAE protocols (configs/amr_dsprites.py does)."""
  path = write_run(root, name, [0.33], setting=f'dsprites:{row}', lam=1.0,
                   data={'name': 'dsprites'})
  with open(os.path.join(path, 'metrics.jsonl'), 'a') as f:
    f.write(json.dumps({'step': 9, 'best/disentanglement/factor_vae': ours,
                        'best/disentanglement/factor_vae_amr_authors': theirs}) + '\n')


def test_table4_labels_the_protocol_and_compares_only_like_for_like(tmp_path):
  root = str(tmp_path)
  write_dsprites_run(root, 'm', 'mixup2', ours=0.62, theirs=0.47)
  runs = report.find_runs([root])
  # The authors' protocol: the like-for-like column, with the paper's numbers beside it.
  metric = 'best/disentanglement/factor_vae_amr_authors'
  assert report.PUBLISHED_METRIC['dsprites'] == metric
  lines = report.table(report.collect(runs, metric), published=metric).splitlines()
  assert lines[0] == "| row | dsprites (AMR authors' protocol) |"
  assert '| mixup2 | 47.00 (n=1) |' in lines and '| mixup2 (paper) | 49.00 +- 6.72 |' in lines
  # Ours: labelled, and the paper's numbers are not set beside it; a note says where they are.
  metric = 'best/disentanglement/factor_vae'
  text = report.table(report.collect(runs, metric), published=metric)
  lines = text.splitlines()
  assert lines[0] == '| row | dsprites (Kim & Mnih protocol) |'
  assert '| mixup2 | 62.00 (n=1) |' in lines and '49.00' not in text and '(paper)' not in text
  assert lines[-1] == ("dsprites: the paper's numbers used the AMR authors' protocol and are not "
                       'set beside the Kim & Mnih protocol; like for like: '
                       '--metric=best/disentanglement/factor_vae_amr_authors')
  # Without --published the header still names the protocol; other metrics have none.
  assert report.table(report.collect(runs, metric), metric=metric).splitlines()[0] == (
      '| row | dsprites (Kim & Mnih protocol) |')
  assert report.table(report.collect(runs, 'best/probe/val_accuracy')).splitlines()[0] == (
      '| row | dsprites |')


def test_protocol_names_agree_with_the_evaluator():
  from mixres import paper_tables
  from mixres.evaluation import disentanglement
  assert report.PROTOCOLS == {v: k for k, v in disentanglement.PROTOCOLS.items()}
  assert set(paper_tables.PUBLISHED_PROTOCOL.values()) <= set(disentanglement.PROTOCOLS)


def test_command_line(tmp_path):
  write_run(str(tmp_path), 'r', [0.5], setting='svhn:bern2')
  env = {**os.environ, 'PYTHONPATH': os.getcwd()}
  out = subprocess.run([sys.executable, '-m', 'mixres.report', str(tmp_path), '--published'],
                       capture_output=True, text=True, env=env, check=True).stdout
  assert '| bern2 | 50.00 (n=1) |' in out and '| bern2 (paper) | 38.31 +- 2.68 |' in out
  missing = subprocess.run([sys.executable, '-m', 'mixres.report', str(tmp_path), '--metric=x'],
                           capture_output=True, text=True, env=env)
  assert missing.returncode == 1
  assert missing.stderr.strip().splitlines() == [
      f"mixres.report: no run under {tmp_path} logged --metric='x' (1 runs found)"]
  np.testing.assert_equal(report.last_value(os.path.join(tmp_path, 'r'), 'x'),
                          None)


def test_median_of_the_last_n_evaluations_per_run(tmp_path):
  """docs/faithfulness.md#c3: ACAI's Table 1 takes each run's median over its last 20
  evaluations, then the mean over runs; the last value alone is the default."""
  write_run(str(tmp_path), 'a', [float(v) for v in range(1, 31)], setting='svhn:bern2')
  write_run(str(tmp_path), 'b', [float(v) for v in range(1, 31)][::-1], setting='svhn:bern2')
  run = os.path.join(tmp_path, 'a')
  assert report.last_value(run, 'best/probe/val_accuracy') == 30.0
  assert report.last_value(run, 'best/probe/val_accuracy', median_of=20) == 20.5  # 11..30
  assert report.last_value(run, 'best/probe/val_accuracy', median_of=100) == 15.5  # All.
  runs = report.find_runs([str(tmp_path)])
  cells = report.collect(runs, 'best/probe/val_accuracy', median_of=20)
  # Run b counts down, 30 to 1: its last 20 are 20..1, median 10.5.
  assert sorted(v for _, v in cells[('svhn', 'bern2')]) == [10.5, 20.5]
  env = {**os.environ, 'PYTHONPATH': os.getcwd()}
  out = subprocess.run([sys.executable, '-m', 'mixres.report', str(tmp_path), '--scale=1',
                        '--median_of_last=20'], capture_output=True, text=True, env=env,
                       check=True).stdout
  assert 'each run median of its last 20 values' in out and '15.50 +- 5.00 (n=2)' in out
  bad = subprocess.run([sys.executable, '-m', 'mixres.report', str(tmp_path),
                        '--median_of_last=0'], capture_output=True, text=True, env=env)
  assert bad.returncode == 1
  assert bad.stderr.strip().splitlines() == ['mixres.report: --median_of_last=0 must be >= 1']


def test_a_resumed_run_counts_each_step_once(tmp_path):
  """A run stopped after logging steps 1600-2000 but resumed from its checkpoint at 1900 logs
  2000 again: the median of its last 3 evaluations is over 1600, 1800 and the new 2000, not the
  abandoned 2000 (the lines study's ACAI seed 0 was resumed from 1500 after logging 1800)."""
  path = write_run(str(tmp_path), 'r', [], setting='lines:acai')
  with open(os.path.join(path, 'metrics.jsonl'), 'a') as f:
    for step, value in ((1400, 9.0), (1600, 1.0), (1800, 2.0), (2000, 100.0), (2000, 3.0)):
      f.write(json.dumps({'step': step, 'lines/mean_distance': value}) + '\n')
  assert report.last_value(path, 'lines/mean_distance', median_of=3) == 2.0
  training, _ = report.metric_writers.run_logs(path)
  assert report.timeline(training, 'lines/mean_distance') == [
      (1400, 9.0), (1600, 1.0), (1800, 2.0), (2000, 3.0)]
  with open(os.path.join(path, 'metrics.jsonl'), 'a') as f:  # Resumed again, from 1500.
    for step, value in ((1600, 4.0), (1800, 5.0)):
      f.write(json.dumps({'step': step, 'lines/mean_distance': value}) + '\n')
  assert report.last_value(path, 'lines/mean_distance', median_of=3) == 5.0  # 9, 4, 5.
  # Resumed from 1700 and stopped again before its next evaluation: its 1800 is abandoned too.
  with open(os.path.join(path, 'metrics.jsonl'), 'a') as f:
    f.write(json.dumps({'step': 1750, 'gen/loss': 1.0}) + '\n')
  training, _ = report.metric_writers.run_logs(path)
  assert report.timeline(training, 'lines/mean_distance') == [(1400, 9.0), (1600, 4.0)]
  assert report.last_value(path, 'lines/mean_distance', median_of=2) == 6.5
  # mixres.evaluate's log starts again from a low step: it cuts nothing in training's.
  os.makedirs(os.path.join(path, 'evaluation'))
  with open(os.path.join(path, 'evaluation', 'metrics.jsonl'), 'w') as f:
    f.write(json.dumps({'step': 1600, 'evaluate/lines/mean_distance': 7.0}) + '\n')
  assert report.last_value(path, 'lines/mean_distance', median_of=2) == 6.5
  assert report.last_value(path, 'evaluate/lines/mean_distance') == 7.0


def test_numbers_computed_after_training_reach_the_table(tmp_path):
  """mixres.evaluate's log (WORKDIR/evaluation/metrics.jsonl, names tagged 'evaluate/') is read
  beside the training's: its latest value is the run's, never confused with training's."""
  for name, after in (('s0', [0.61, 0.70]), ('s1', [0.80]), ('s2', None)):
    path = write_run(str(tmp_path), name, [0.5], setting='mnist:mixup2')
    with open(os.path.join(path, 'metrics.jsonl'), 'a') as f:
      f.write(json.dumps({'step': 9, 'clustering/accuracy': 0.1}) + '\n')
    if after is not None:
      os.makedirs(os.path.join(path, 'evaluation'))
      with open(os.path.join(path, 'evaluation', 'metrics.jsonl'), 'w') as f:
        for value in after:
          f.write(json.dumps({'step': 9, 'evaluate/clustering/accuracy': value}) + '\n')
  runs = report.find_runs([str(tmp_path)])
  assert len(runs) == 3
  cells = report.collect(runs, 'evaluate/clustering/accuracy')
  assert sorted(cells[('mnist', 'mixup2')]) == [(10.0, 0.7), (10.0, 0.8)]  # s2: not evaluated.
  assert '| mixup2 | 75.00 +- 5.00 (n=2) |' in report.table(cells).splitlines()
  assert report.collect(runs, 'clustering/accuracy')[('mnist', 'mixup2')] == [(10.0, 0.1)] * 3


def test_paired_differences_match_seeds_and_the_interval_is_students_t(tmp_path):
  root = str(tmp_path)
  for seed, (base, ours) in enumerate([(0.90, 0.93), (0.80, 0.81), (0.70, 0.75)]):
    write_run(root, f'b{seed}', [base], setting='s:ae_gan', seed=seed)
    write_run(root, f'm{seed}', [ours], setting='s:mixup2', seed=seed)
  write_run(root, 'm9', [0.99], setting='s:mixup2', seed=9)  # No ae_gan of seed 9: unpaired.
  write_run(root, 'other', [0.5], setting='t:mixup2', seed=0)  # No ae_gan in column t.
  differences = report.paired_differences(report.find_runs([root]), 'best/probe/val_accuracy',
                                          'ae_gan')
  assert list(differences) == [('s', 'mixup2')]
  np.testing.assert_allclose(differences['s', 'mixup2'], [0.03, 0.01, 0.05])
  # By hand: mean 3, sample std 2, t(0.975, 2 df) = 4.302653 -> half width 4.302653 * 2 / sqrt 3.
  mean, low, high = report.mean_interval([3.0, 1.0, 5.0])
  assert mean == 3.0
  np.testing.assert_allclose([low, high], [3 - 4.968275, 3 + 4.968275], rtol=1e-6)
  text = report.paired_table(differences, 'ae_gan')
  assert text.splitlines()[0] == '| row - ae_gan | s |'
  assert '| mixup2 | +3.00 [-1.97, +7.97] (+3.00 / +1.00 / +5.00) |' in text.splitlines()


def test_paired_refuses_two_runs_of_one_seed(tmp_path):
  root = str(tmp_path)
  write_run(root, 'a', [0.9], setting='s:ae_gan', seed=0)
  write_run(root, 'b', [0.9], setting='s:mixup2', seed=0)
  write_run(root, 'c', [0.8], setting='s:mixup2', seed=0)
  with pytest.raises(ValueError, match='two runs of s:mixup2 have seed 0'):
    report.paired_differences(report.find_runs([root]), 'best/probe/val_accuracy', 'ae_gan')


def test_undefined_values_are_counted_not_averaged(tmp_path):
  # Smoothness is NaN for a run whose interpolations do not move; one such seed must not turn
  # the cell into nan and hide the seeds that have a value.
  root = str(tmp_path)
  for seed, (base, ours) in enumerate([(0.2, 0.1), (0.3, float('nan')), (0.25, 0.2)]):
    write_run(root, f'b{seed}', [base], setting='lines:ae', seed=seed)
    write_run(root, f'm{seed}', [ours], setting='lines:acai', seed=seed)
  write_run(root, 'z0', [float('nan')], setting='lines:amr', seed=0)
  runs = report.find_runs([root])
  lines = report.table(report.collect(runs, 'best/probe/val_accuracy'), scale=1,
                       digits=3).splitlines()
  assert '| acai | 0.150 +- 0.050 (n=2; 1 undefined) |' in lines
  assert '| ae | 0.250 +- 0.041 (n=3) |' in lines
  assert '| amr | undefined (n=1) |' in lines
  differences = report.paired_differences(runs, 'best/probe/val_accuracy', 'ae')
  text = report.paired_table(differences, 'ae', scale=1, digits=3).splitlines()
  # The two defined differences, -0.1 and -0.05: mean -0.075, t(0.975, 1 df) = 12.7062 times
  # their sample std 0.035355 / sqrt 2 = 0.3177 either side.
  assert '| acai | -0.075 [-0.393, +0.243] (-0.100 / undefined / -0.050) |' in text
  assert '| amr | undefined (undefined) |' in text
  # A median over evaluations that include an undefined one is undefined.
  path = write_run(root, 'late', [float('nan'), 0.5, 0.4], setting='lines:x', seed=0)
  assert np.isnan(report.last_value(path, 'best/probe/val_accuracy', median_of=3))
  assert report.last_value(path, 'best/probe/val_accuracy', median_of=2) == 0.45
