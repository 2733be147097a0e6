"""Paper-style tables from finished runs: mean +- std over seeds, optionally beside the paper's.

  python -m mixres.report runs/            # every workdir under runs/, probe accuracy
  python -m mixres.report runs/ --published --metric=best/probe/val_accuracy
  python -m mixres.report runs/ --metric=lines/mean_distance --scale=1000

A run is a directory holding `config.json` and its metrics (`metrics.jsonl`, or its segments in
a gs:// workdir: mixres/paths.py), what mixres.main writes; roots may be gs:// URLs too. Its
value is the metric's last logged value: for `best/...` metrics that is the best over training,
the AMR paper's protocol. Numbers `mixres.evaluate` computed on the run's checkpoint after
training are read too (WORKDIR/evaluation/metrics.jsonl), each named with the prefix
'evaluate/': `--metric=evaluate/clustering/accuracy` tabulates any evaluator run afterwards.
Columns are settings, rows are table rows: both from `config.setting` ('svhn:mixup2', set by
the configs/amr_*.py files), else the dataset and a label built from the objective, mixer and
k. Runs of one cell that differ in lambda get one row per lambda (a sweep).

Table 4 (dsprites) is the FactorVAE metric under two protocols that differ by more than noise
(mixres/evaluation/disentanglement.py): ours, `disentanglement/factor_vae`, and the AMR authors',
`disentanglement/factor_vae_amr_authors` (at most 80). A FactorVAE column's header names its
protocol, and the paper's numbers are set only beside the authors' protocol:

  python -m mixres.report runs/ --published --metric=best/disentanglement/factor_vae_amr_authors
"""

import collections
import json
import os
from typing import Any, Iterable, Sequence

import numpy as np
from absl import app
from absl import flags
from etils import epath

from mixres import metric_writers
from mixres import paper_tables
from mixres import paths

_METRIC = flags.DEFINE_string('metric', 'best/probe/val_accuracy', 'metrics.jsonl key to report')
_SCALE = flags.DEFINE_float('scale', 100.0, 'multiply values by this (100: accuracy in %)')
_PUBLISHED = flags.DEFINE_bool('published', False, "add the AMR paper's numbers beside ours")
_DIGITS = flags.DEFINE_integer('digits', 2, 'decimals in the table')
_PAIRED = flags.DEFINE_string(
    'paired', '', 'a row (e.g. ae_gan): also tabulate every other row minus it, seed by seed, '
    'in each column, with the mean difference and its 95% Student-t interval')
_MEDIAN_OF_LAST = flags.DEFINE_integer(
    'median_of_last', 1, "each run's value: the median of its last N logged values of the "
    "metric (ACAI's Table 1: 20); 1: the last value")

# FactorVAE metric -> the protocol that computed it (disentanglement.PROTOCOLS, kept here so
# that reports load no JAX; tests/test_report.py checks that the two agree).
PROTOCOLS = {'disentanglement/factor_vae': 'kim_mnih',
             'disentanglement/factor_vae_amr_authors': 'amr_authors'}
PROTOCOL_NAMES = {'kim_mnih': 'Kim & Mnih protocol', 'amr_authors': "AMR authors' protocol"}

# What the AMR paper's published numbers measure, per setting (Table 4 is not probe accuracy):
# Table 4 came from the authors' own FactorVAE code (paper_tables.PUBLISHED_PROTOCOL), so only our
# run of that protocol stands beside it like for like.
PUBLISHED_METRIC = collections.defaultdict(lambda: 'best/probe/val_accuracy',
                                           dsprites='best/disentanglement/factor_vae_amr_authors')


def protocol(metric: str) -> str | None:
  """The FactorVAE protocol behind a metric ('best/' or not), or None for other metrics."""
  return PROTOCOLS.get(metric.removeprefix('best/'))


def find_runs(roots: Iterable[str]) -> list[str]:
  """Every directory under `roots` (themselves included) with a config.json and metrics."""
  runs = []
  for root in roots:
    if not epath.Path(root).is_dir():
      raise FileNotFoundError(f'{root}: no such directory (pass workdirs or their parents)')
    for path, _, files in paths.walk(root):
      if 'config.json' in files and paths.metrics_files(files):
        runs.append(os.fspath(path))
  return sorted(runs)


def last_value(run: str, metric: str, median_of: int = 1) -> float | None:
  """The metric's last value in a run's logs (training's, then mixres.evaluate's), or the median of
  its last `median_of` values (ACAI reports the median of the last 20 evaluations of each run,
  docs/faithfulness.md#c3), NaN if any of those is undefined (NaN); None if it was never
  logged."""
  if median_of < 1:
    raise ValueError(f'--median_of_last={median_of} must be >= 1')
  values = [value for log in metric_writers.run_logs(run) for _, value in timeline(log, metric)]
  return float(np.median(values[-median_of:])) if values else None


def timeline(log: Iterable[dict[str, Any]], metric: str) -> list[tuple[int, float]]:
  """(step, value) of `metric` along the surviving history of one log, read in the order
  written. A run resumed from its checkpoint at step S logs again from step S + 1 on: its first
  record's step is below the last one before the stop, and the values the stopped attempt had
  logged from that step on belong to an abandoned history, so they are dropped, whichever
  metric the record holds (the resumed run may be stopped again before it logs this one). A
  value logged again at its step (mixres.evaluate run twice) replaces the earlier one."""
  kept, last_step = [], None
  for record in log:
    step = int(record['step'])
    if metric in record or (last_step is not None and step < last_step):
      while kept and kept[-1][0] >= step:
        kept.pop()
    if metric in record:
      kept.append((step, float(record[metric])))
    last_step = step
  return kept


def _label(config: dict[str, Any]) -> str:
  """The table row of a run without a paper setting, e.g. 'amr mixup k=3'."""
  if config['objective'] == 'amr':
    return f'amr {config["mixer"]} k={config["k"]}'
  return config['objective']


def run_cell(config: dict[str, Any]) -> tuple[str, str]:
  """(column, row) of a run: its paper setting if it has one, else dataset and method."""
  if config.get('setting'):
    column, row = config['setting'].split(':', 1)
    return column, row
  return config['data']['name'], _label(config)


def _values(runs: Sequence[str], metric: str, median_of: int
            ) -> Iterable[tuple[dict[str, Any], float]]:
  """(config, value) of every run that logged the metric (`last_value`)."""
  for run in runs:
    config = json.loads((epath.Path(run) / 'config.json').read_text())
    value = last_value(run, metric, median_of)
    if value is not None:
      yield config, value


def collect(runs: Sequence[str], metric: str, median_of: int = 1
            ) -> dict[tuple[str, str], list[tuple[float, float]]]:
  """(column, row) -> [(lambda, value)] for every run that logged the metric (`last_value`),
  in training or afterwards (mixres.evaluate)."""
  cells = collections.defaultdict(list)
  for config, value in _values(runs, metric, median_of):
    cells[run_cell(config)].append((float(config.get('lam', 0.0)), value))
  return cells


def paired_differences(runs: Sequence[str], metric: str, baseline: str, median_of: int = 1
                       ) -> dict[tuple[str, str], list[float]]:
  """(column, row) -> [row's value - baseline row's value] for each seed both have run in that
  column, seeds in order; the baseline row itself is left out."""
  by_seed = collections.defaultdict(dict)  # (column, row) -> seed -> value
  for config, value in _values(runs, metric, median_of):
    column, row = run_cell(config)
    seed = config.get('seed', 0)
    if seed in by_seed[column, row]:
      raise ValueError(f'--paired: two runs of {column}:{row} have seed {seed}; pairing needs '
                       'one run per seed')
    by_seed[column, row][seed] = value
  return {(column, row): [values[s] - by_seed[column, baseline][s] for s in sorted(values)
                          if s in by_seed[column, baseline]]
          for (column, row), values in by_seed.items()
          if row != baseline and (column, baseline) in by_seed}


def mean_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
  """(mean, low, high): the mean and its Student-t confidence interval (n - 1 degrees of
  freedom); low = high = NaN for a single value."""
  from scipy import stats
  values = np.asarray(values, np.float64)
  mean = float(values.mean())
  if len(values) < 2:
    return mean, float('nan'), float('nan')
  half = stats.t.ppf((1 + level) / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
  return mean, float(mean - half), float(mean + half)


def paired_table(differences: dict[tuple[str, str], list[float]], baseline: str,
                 scale: float = 100.0, digits: int = 2) -> str:
  """A Markdown table of `paired_differences`: per cell the mean difference, its 95% interval
  and the per-seed differences; a seed's undefined (NaN) difference is shown and left out of
  the mean and the interval."""
  columns = sorted({c for c, _ in differences})
  rows = sorted({r for _, r in differences})
  lines = [f'| row - {baseline} | ' + ' | '.join(columns) + ' |', '|---' * (len(columns) + 1) + '|']
  for row in rows:
    cells = []
    for column in columns:
      diffs = np.asarray(differences.get((column, row), []), np.float64) * scale
      if not len(diffs):
        cells.append('-')
        continue
      # A seed where either run is undefined has no difference: shown, left out of the mean.
      seeds = ' / '.join('undefined' if np.isnan(d) else f'{d:+.{digits}f}' for d in diffs)
      defined = diffs[~np.isnan(diffs)]
      if not len(defined):
        cells.append(f'undefined ({seeds})')
        continue
      mean, low, high = mean_interval(defined)
      interval = f' [{low:+.{digits}f}, {high:+.{digits}f}]' if len(defined) > 1 else ''
      cells.append(f'{mean:+.{digits}f}{interval} ({seeds})')
    lines.append(f'| {row} | ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines)


def _stat(values: Sequence[float], scale: float, digits: int) -> str:
  """'mean +- std (n=N)' over the defined values; an undefined (NaN) value is counted, not
  averaged: it would turn the cell into nan and hide the runs that have a value."""
  values = np.asarray(values, np.float64) * scale
  defined = values[~np.isnan(values)]
  note = f'; {len(values) - len(defined)} undefined' if len(defined) < len(values) else ''
  if not len(defined):
    return f'undefined (n={len(values)})'
  if len(defined) == 1:
    return f'{defined[0]:.{digits}f} (n=1{note})'
  return f'{defined.mean():.{digits}f} +- {defined.std():.{digits}f} (n={len(defined)}{note})'


def table(cells: dict[tuple[str, str], list[tuple[float, float]]], scale: float = 100.0,
          digits: int = 2, published: str = '', metric: str = '') -> str:
  """A Markdown table: one column per setting, one row per table row (and lambda if swept).

  published: a metric name; the paper's numbers for it are added as '<row> (paper)' rows.
  metric: the metric shown (default `published`); a FactorVAE metric's protocol is named in
  every column header, and a column whose paper numbers used another protocol gets a note
  below the table instead of them.
  """
  metric = metric or published
  columns = sorted({c for c, _ in cells})
  rows = collections.defaultdict(dict)  # row label -> column -> cell text
  for (column, row), runs in cells.items():
    lams = sorted({lam for lam, _ in runs})
    for lam in lams:
      label = row if len(lams) == 1 else f'{row} (lam={lam:g})'
      values = [v for l, v in runs if l == lam]
      rows[label][column] = _stat(values, scale, digits)
  notes = []
  if published:  # The paper's own number under each of our cells, and its rows we lack.
    for column in columns:
      theirs = paper_tables.PUBLISHED_PROTOCOL.get(column)
      if PUBLISHED_METRIC[column] != published:
        if theirs and protocol(metric) and protocol(metric) != theirs:
          notes.append(f"{column}: the paper's numbers used the {PROTOCOL_NAMES[theirs]} and are "
                       f'not set beside the {PROTOCOL_NAMES[protocol(metric)]}; like for like: '
                       f'--metric={PUBLISHED_METRIC[column]}')
        continue
      for row, (mean, std) in paper_tables.PUBLISHED.get(column, {}).items():
        rows[f'{row} (paper)'][column] = f'{mean:.2f} +- {std:.2f}'
  order = sorted(rows, key=lambda r: (r.replace(' (paper)', ''), r.endswith('(paper)')))
  headers = [f'{c} ({PROTOCOL_NAMES[protocol(metric)]})' if protocol(metric) else c
             for c in columns]
  lines = ['| row | ' + ' | '.join(headers) + ' |', '|---' * (len(columns) + 1) + '|']
  for row in order:
    lines.append(f'| {row} | ' + ' | '.join(rows[row].get(c, '-') for c in columns) + ' |')
  return '\n'.join(lines + [''] * bool(notes) + notes)


def main(argv: Sequence[str]) -> None:
  roots = argv[1:] or ['runs']
  try:
    runs = find_runs(roots)
  except FileNotFoundError as e:
    raise SystemExit(f'mixres.report: {e}') from None
  try:
    cells = collect(runs, _METRIC.value, _MEDIAN_OF_LAST.value)
  except ValueError as e:
    raise SystemExit(f'mixres.report: {e}') from None
  if not cells:
    raise SystemExit(f'mixres.report: no run under {", ".join(roots)} logged '
                     f'--metric={_METRIC.value!r} ({len(runs)} runs found)')
  per_run = (f'median of its last {_MEDIAN_OF_LAST.value} values'
             if _MEDIAN_OF_LAST.value > 1 else 'its last value')
  print(f'{_METRIC.value} x {_SCALE.value:g}, each run {per_run}, mean +- std over runs '
        f'({len(runs)} runs)\n')
  print(table(cells, _SCALE.value, _DIGITS.value, _METRIC.value if _PUBLISHED.value else '',
              _METRIC.value))
  if _PAIRED.value:
    try:
      differences = paired_differences(runs, _METRIC.value, _PAIRED.value, _MEDIAN_OF_LAST.value)
    except ValueError as e:
      raise SystemExit(f'mixres.report: {e}') from None
    if not differences:
      raise SystemExit(f'mixres.report: --paired={_PAIRED.value!r}: no column has that row and '
                       f'another; rows: {", ".join(sorted({r for _, r in cells}))}')
    print(f'\nPaired by seed against {_PAIRED.value}: mean difference [95% interval] '
          '(each seed\'s difference)\n')
    print(paired_table(differences, _PAIRED.value, _SCALE.value, _DIGITS.value))


if __name__ == '__main__':
  app.run(main)
