"""What `pip install .` installs: pyproject.toml's dependencies cover every package mixres
imports, requirements.txt's lock lies inside their ranges, and the wheel holds mixres and the
config files.

Offline and in seconds, so that CI need not build a second environment from PyPI: the README's
install (`pip install -r requirements.txt -e .`) already resolves the lock with the package's
own dependencies in a fresh venv, and these tests say that the two agree.
"""

import ast
import glob
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# In the lock but not in pyproject.toml: each comes with a package that is.
LOCK_ONLY = {'jaxlib': 'jax installs its own jaxlib; the lock pins the one CI tests',
             'execnet': "pytest-xdist's"}


def _name(name: str) -> str:
  return re.sub(r'[-_.]+', '-', name).lower()  # PEP 503, as pip compares names.


def _project() -> dict:
  with open(os.path.join(REPO, 'pyproject.toml'), 'rb') as f:
    return tomllib.load(f)['project']


def _requirements() -> dict[str, Requirement]:
  """pyproject.toml's dependencies and extras by name (the 'bench' extra under its own)."""
  project = _project()
  listed = [*project['dependencies'], *sum(project['optional-dependencies'].values(), [])]
  return {_name(r.name): r for r in map(Requirement, listed)}


def _lock() -> dict[str, str]:
  with open(os.path.join(REPO, 'requirements.txt')) as f:
    lines = [line.split('#')[0].strip() for line in f]
  return {_name(n): v for n, v in (line.split('==') for line in lines if line)}


def _imports(folder: str) -> set[str]:
  """The top-level modules that the .py files under `folder` import (absolute imports)."""
  modules = set()
  for path in glob.glob(os.path.join(REPO, folder, '**', '*.py'), recursive=True):
    with open(path) as f:
      for node in ast.walk(ast.parse(f.read(), path)):
        if isinstance(node, ast.Import):
          modules |= {alias.name.split('.')[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
          modules.add(node.module.split('.')[0])
  return modules - set(sys.stdlib_module_names)


def test_every_imported_package_is_a_dependency():
  """A package mixres imports but pyproject.toml lacks breaks `pip install .` (scipy did)."""
  runtime = {_name(Requirement(r).name) for r in _project()['dependencies']}
  distributions = importlib.metadata.packages_distributions()
  missing = {module: distributions.get(module) for module in _imports('mixres') - {'mixres'}
             if not {_name(d) for d in distributions.get(module, [])} & runtime}
  assert not missing, f'imported under mixres/ but not in pyproject.toml dependencies: {missing}'


def test_no_environment_or_link_is_tracked(tmp_path):
  """A worktree's `.venv` link to the shared environment was once committed by `git add -A` (the
  ignore rule `/.venv/` matches directories only): merging it replaced the real environment with
  a link to itself, and on a fresh clone README's `python3 -m venv .venv` would fail."""
  git = lambda *args, cwd=REPO: subprocess.run(['git', '-C', str(cwd), *args],
                                               capture_output=True, text=True)
  if git('rev-parse', '--git-dir').returncode:
    pytest.skip('not a git checkout')
  links = [line.split('\t', 1)[1] for line in git('ls-files', '-s').stdout.splitlines()
           if line.startswith('120000')]
  assert links == []
  # The rules on a scratch repository where the environments are links, as in a worktree.
  assert git('init', '-q', cwd=tmp_path).returncode == 0
  shutil.copy(os.path.join(REPO, '.gitignore'), tmp_path / '.gitignore')
  for name in ('.venv', 'venv'):
    os.symlink('/nonexistent', tmp_path / name)
    assert git('check-ignore', '-q', name, cwd=tmp_path).returncode == 0, name


def test_the_package_never_imports_the_configs():
  """configs/ import mixres, never the reverse: the package runs without them."""
  assert 'configs' not in _imports('mixres')


def test_the_lock_pins_every_dependency_inside_its_range():
  requirements, lock = _requirements(), _lock()
  assert set(lock) - set(requirements) == set(LOCK_ONLY)
  # The PyTorch benchmark's extra stays out of the lock: plain torch pulls a CUDA build.
  assert set(requirements) - set(lock) == {'torch'}
  outside = {name: (lock[name], str(r.specifier)) for name, r in requirements.items()
             if name in lock and not r.specifier.contains(lock[name], prereleases=True)}
  assert not outside, f'requirements.txt pins outside pyproject.toml ranges: {outside}'


def test_the_wheel_holds_mixres_and_its_dependencies(tmp_path):
  """What `pip install .` installs, built offline with the installed setuptools from a copy (a
  build in the checkout would leave build/ and an egg-info there)."""
  setuptools = pytest.importorskip('setuptools', reason='a venv of Python 3.12+ has none')
  if Version(setuptools.__version__) < Version('70.1'):  # requirements.txt installs 84.
    pytest.skip(f'setuptools {setuptools.__version__} has no built-in bdist_wheel (70.1+)')
  source = tmp_path / 'source'
  for package in ('mixres', 'configs'):
    shutil.copytree(os.path.join(REPO, package), source / package,
                    ignore=shutil.ignore_patterns('__pycache__'))
  shutil.copy(os.path.join(REPO, 'pyproject.toml'), source)
  result = subprocess.run(
      [sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q',
       '-w', str(tmp_path), str(source)], capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  wheel, = glob.glob(str(tmp_path / 'mixres-*.whl'))
  with zipfile.ZipFile(wheel) as archive:
    names = archive.namelist()
    metadata = archive.read(next(n for n in names if n.endswith('.dist-info/METADATA'))).decode()
  packages = {n.split('/')[0] for n in names if not n.split('/')[0].endswith('.dist-info')}
  assert packages == {'mixres', 'configs'}
  assert {'mixres/paper_tables.py', 'mixres/data/sources.py', 'mixres/defaults.py',
          'configs/base.py'} <= set(names)
  declared = [Requirement(line.split(':', 1)[1].strip())
              for line in metadata.splitlines() if line.startswith('Requires-Dist:')]
  assert {_name(r.name) for r in declared if not r.marker} == {
      _name(Requirement(r).name) for r in _project()['dependencies']}
  assert {r.marker.evaluate({'extra': 'tensorboard'}) for r in declared
          if _name(r.name) == 'tensorboard'} == {True}
