"""Every config field and its default, for the setting files here and for `--config=configs/base.py`.

The defaults live in mixres/defaults.py, so that mixres can complete a config saved before a
field existed (mixres never imports configs/).

  python -m mixres.main --config=configs/base.py --workdir=/tmp/run --config.lam=10
"""

from mixres.defaults import get_config  # noqa: F401  (the config file's entry point)
