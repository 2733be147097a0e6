"""The argument after a config file's path, `--config=configs/FILE.py:ARG`, for every config.

ARG is comma-separated: positional parts first, each optional unless it has no default, then
flag words in any order. A config names its parts and flags:

  row, flags = config_arg.parse(arg, ROW=(rows, 'mixup2'))            # 'ROW[,local]'
  size, row, flags = config_arg.parse(arg, SIZE=(sizes, None), ROW=(rows, 'mixup2'))

Each part takes the next word if that word is one of its choices, else its default, so an
optional part can be left out before a later one ('local,infonce' skips nothing, 'infonce' skips
VARIANT). Whatever is left must be flags. Anything else is a one-line ValueError naming the
format and every part's choices.
"""

from typing import Sequence


def parse(arg: str | None, flags: Sequence[str] = ('local',),
          **parts: tuple[Sequence[str], str | None]) -> tuple:
  """ARG -> (each part's value in the order given, the frozenset of flags given).

  Args:
    arg: the text after ':' (None or '' when there is none).
    flags: the words that may follow the parts, each at most once.
    **parts: NAME=(choices, default); default None makes the part required.
  """
  words = [w for w in (arg or '').split(',') if w]
  values = []
  for choices, default in parts.values():
    if words and words[0] in choices:
      values.append(words.pop(0))
    elif default is None:
      _fail(arg, flags, parts)
    else:
      values.append(default)
  if not set(words) <= set(flags) or len(set(words)) < len(words):
    _fail(arg, flags, parts)
  return (*values, frozenset(words))


def _fail(arg, flags, parts) -> None:
  # Brackets mark what may be left out: '[VARIANT][,ESTIMATOR][,local]', 'SIZE[,ROW][,local]'.
  tokens = [(name, default is not None) for name, (_, default) in parts.items()]
  tokens += [(flag, True) for flag in flags]
  usage = ''.join((f'[{sep}{name}]' if optional else f'{sep}{name}')
                  for (name, optional), sep in zip(tokens, ['', *[','] * len(tokens)]))
  choices = [f'{name} one of {", ".join(c)}' + ('' if default is None else f' (default {default})')
             for name, (c, default) in parts.items()]
  raise ValueError(f'config argument {arg!r} must be {usage}'
                   + (f' with {"; ".join(choices)}' if choices else ''))
