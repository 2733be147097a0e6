"""One-line checks of config fields, in the house wording `config.<field>=<value!r> must be ...`.

Every check takes the config and a dotted field path, so that the message names the field as
the command line spells it (`--config.optim.lr=...`). Comparisons are written so that NaN fails
them: `not value > 0` is True for NaN, where `value <= 0` is False.
"""

import math
import numbers
from collections.abc import Iterable
from typing import Any

import ml_collections


def get(config: ml_collections.ConfigDict, field: str) -> Any:
  """The value at a dotted path: get(config, 'optim.lr') is config.optim.lr."""
  value = config
  for key in field.split('.'):
    value = value[key]
  return value


def _fail(field: str, value: Any, requirement: str, why: str = '') -> None:
  why = f' ({why})' if why else ''
  raise ValueError(f'config.{field}={value!r} must be {requirement}{why}')


def check_choice(config: ml_collections.ConfigDict, field: str, choices: Iterable[str],
                 what: str = '') -> None:
  """ValueError unless the field is one of `choices`, listing them.

  With `what` (e.g. 'a norm') the message reads "... is not a norm; choose one of: ...".
  """
  value, choices = get(config, field), tuple(choices)
  if isinstance(value, str) and value in choices:
    return
  if what:
    raise ValueError(f'config.{field}={value!r} is not {what}; choose one of: '
                     f'{", ".join(choices)}')
  _fail(field, value, f'one of: {", ".join(choices)}')


def check_choices(config: ml_collections.ConfigDict, field: str, choices: Iterable[str]) -> None:
  """ValueError unless the field is a non-empty sequence of names, each one of `choices`."""
  value, choices = get(config, field), tuple(choices)
  names = () if isinstance(value, str) or not isinstance(value, Iterable) else tuple(value)
  if not names or any(n not in choices for n in names):
    raise ValueError(f'config.{field}={value!r} must list one or more of: {", ".join(choices)}')


def is_integer(value: Any) -> bool:
  # bool is an int subclass; `True` for a count is surely a mistake.
  return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value: Any) -> bool:
  return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_integer(config: ml_collections.ConfigDict, field: str, low: int = 1,
                  high: int | None = None, why: str = '') -> None:
  """ValueError unless the field is an integer in [low, high] (high None: no upper bound)."""
  value = get(config, field)
  in_range = is_integer(value) and value >= low and (high is None or value <= high)
  if not in_range:
    _fail(field, value, f'an integer >= {low}' if high is None else
          f'an integer in [{low}, {high}]', why)


def check_positive(config: ml_collections.ConfigDict, field: str, why: str = '') -> None:
  """ValueError unless the field is a finite number > 0 (learning rates, temperatures, ...)."""
  value = get(config, field)
  if not (is_real(value) and math.isfinite(value) and value > 0):
    _fail(field, value, '> 0 and finite', why)


def check_nonnegative(config: ml_collections.ConfigDict, field: str, why: str = '') -> None:
  """ValueError unless the field is a finite number >= 0 (loss weights, noise levels, ...)."""
  value = get(config, field)
  if not (is_real(value) and math.isfinite(value) and value >= 0):
    _fail(field, value, '>= 0 and finite', why)


def check_interval(config: ml_collections.ConfigDict, field: str, low: float, high: float,
                   closed: str = 'both', why: str = '') -> None:
  """ValueError unless low <= field <= high; `closed` 'both', 'left', 'right' or 'neither'."""
  value = get(config, field)
  left, right = closed in ('both', 'left'), closed in ('both', 'right')
  inside = is_real(value) and (value >= low if left else value > low) and (
      value <= high if right else value < high)
  if not inside:
    _fail(field, value, f'in {"[" if left else "("}{low:g}, {high:g}{"]" if right else ")"}', why)


def check_step_window(config: ml_collections.ConfigDict, field: str, num_steps: int
                      ) -> tuple[int, int] | None:
  """(START, END) of a field 'START-END' naming steps 1 <= START <= END <= num_steps (the
  steps as the progress line counts them), or None for ''; else ValueError."""
  value = get(config, field)
  if value == '':
    return None
  start, _, end = value.partition('-') if isinstance(value, str) else ('', '', '')
  if not (start.isdigit() and end.isdigit() and 1 <= int(start) <= int(end) <= num_steps):
    _fail(field, value, f"'' or 'START-END' with 1 <= START <= END <= {num_steps}, the "
          "run's last step (e.g. '11-20')")
  return int(start), int(end)


def flatten(config: ml_collections.ConfigDict | dict[str, Any], prefix: str = ''
            ) -> dict[str, Any]:
  """Every field as its dotted path (the command line's spelling): {'optim.lr': 1e-4, ...}."""
  flat = {}
  for key, value in config.items():
    if isinstance(value, (dict, ml_collections.ConfigDict)):
      flat.update(flatten(value, f'{prefix}{key}.'))
    else:
      flat[f'{prefix}{key}'] = value
  return flat


def split_listed_names(config) -> None:
  """Each tuple field's comma-joined strings split in place: `--config.eval.evaluators=probe,lines`
  reaches the config as ('probe,lines',) (ml_collections' tuple syntax is "('probe','lines')"),
  and no name a config lists (evaluators, attributes, ...) contains a comma."""
  for key, value in config.items():
    if hasattr(value, 'items'):
      split_listed_names(value)
    elif isinstance(value, tuple) and any(isinstance(v, str) and ',' in v for v in value):
      config[key] = tuple(part.strip() for v in value
                          for part in (v.split(',') if isinstance(v, str) else [v]))
