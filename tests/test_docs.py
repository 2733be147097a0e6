"""The method notes in docs/ and what cites them: every citation and link must resolve.

Comments cite a note as `docs/<file>.md#<section>`; the notes link each other, the README and
repository files. A renamed heading, file or module breaks a citation silently; these tests name
each broken one.
"""

import os
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / 'docs'
SOURCE_SUFFIXES = ('.py', '.md', '.sh', '.toml', '.txt')
SKIPPED_DIRS = {'venv', 'runs', 'build', 'dist', '__pycache__', 'node_modules'}  # And hidden ones.
# `docs/<file>.md` and an optional `#<section>`, as written in comments and docstrings.
CITATION = re.compile(r'docs/([\w.-]+\.md)(?:#([\w-]+))?')
# A Markdown link's target: [text](target), minus web addresses.
LINK = re.compile(r'\]\(([^)\s]+)\)')
# A repository file named in backquotes in a note: `mixres/models/convnets.py`, `configs/x.py:row`.
REPO_PATH = re.compile(r'`((?:mixres|configs|tests|launch|benchmarks|docs)/[\w./-]+\.(?:py|sh|md))')
# The notes replaced this file, which lives outside the repository; only docs/README.md names it.
EXTERNAL_REFERENCE = 'REFERENCE.md'
# The team's own notes, outside the repository too; docs/faithfulness.md says what the code took
# from them, so nothing names them.
TEAM_NOTES = ('AUDIT.md', 'XLA_CPU_NOTES.md')


def anchor(heading: str) -> str:
  """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces to '-'."""
  return re.sub(r'[^\w\- ]', '', heading.strip().lower()).replace(' ', '-')


def anchors(markdown: pathlib.Path) -> set[str]:
  """The anchors of every heading in a Markdown file (outside code blocks), duplicates numbered."""
  found, in_code = {}, False
  for line in markdown.read_text().splitlines():
    if line.startswith('```'):
      in_code = not in_code
    elif not in_code and re.match(r'#{1,6} ', line):
      name = anchor(line.lstrip('#'))
      count = found.get(name, 0)
      found[name] = count + 1
      if count:
        found[f'{name}-{count}'] = 1
  return set(found)


def source_files() -> list[pathlib.Path]:
  """The repository's code and text files, without hidden, virtualenv, run or build folders."""
  files = []
  for folder, subfolders, names in os.walk(ROOT):
    subfolders[:] = [d for d in subfolders if d not in SKIPPED_DIRS and not d.startswith('.')]
    files += [pathlib.Path(folder, n) for n in names if n.endswith(SOURCE_SUFFIXES)]
  return sorted(files)


def broken_target(target: pathlib.Path, section: str | None) -> str | None:
  """Why `target` (and its #section) does not resolve, or None if it does."""
  if not target.is_file():
    return 'no such file'
  if section and section not in anchors(target):
    return f'no section #{section} (sections: {", ".join(sorted(anchors(target)))})'
  return None


def test_anchor_is_githubs():
  assert anchor('AE+GAN') == 'aegan'
  assert anchor("AMR authors' dSprites networks") == 'amr-authors-dsprites-networks'
  assert anchor('MLPs for the 2-D toys') == 'mlps-for-the-2-d-toys'
  assert anchor('Table 1: d_h = 32') == 'table-1-d_h--32'


def test_every_cited_note_and_section_exists():
  cited, broken = 0, []
  for path in source_files():
    for number, line in enumerate(path.read_text(errors='replace').splitlines(), 1):
      for name, section in CITATION.findall(line):
        cited += 1
        why = broken_target(DOCS / name, section or None)
        if why:
          broken.append(f'{path.relative_to(ROOT)}:{number} cites docs/{name}'
                        f'{"#" + section if section else ""}: {why}')
  assert cited, 'no citation of docs/ found: the pattern no longer matches how comments cite'
  assert not broken, '\n'.join(broken)


def test_links_and_paths_in_the_notes_exist():
  broken = []
  for note in sorted(DOCS.glob('*.md')):
    for number, line in enumerate(note.read_text().splitlines(), 1):
      for target in LINK.findall(line):
        if re.match(r'[a-z]+://', target):
          continue
        file, _, section = target.partition('#')
        why = broken_target((note.parent / file).resolve() if file else note, section or None)
        if why:
          broken.append(f'docs/{note.name}:{number} links {target}: {why}')
      for path in REPO_PATH.findall(line):
        if not (ROOT / path).is_file():
          broken.append(f'docs/{note.name}:{number} names {path}: no such file')
  assert not broken, '\n'.join(broken)


def files_naming(name: str) -> list[str]:
  """The repository's code and notes (this test file aside) that name `name`."""
  this_test = pathlib.Path(__file__).resolve()
  return [str(path.relative_to(ROOT)) for path in source_files()
          if path.suffix in ('.py', '.sh', '.md') and path != this_test
          if name in path.read_text(errors='replace')]


def test_nothing_in_the_code_or_notes_cites_the_external_reference():
  citing = files_naming(EXTERNAL_REFERENCE)
  assert citing == ['docs/README.md'], f'{citing} cite {EXTERNAL_REFERENCE}: cite docs/ instead'


@pytest.mark.parametrize('note', TEAM_NOTES)
def test_nothing_cites_the_teams_notes_outside_the_repository(note):
  citing = files_naming(note)
  assert not citing, f'{citing} cite {note}: cite docs/faithfulness.md instead'
