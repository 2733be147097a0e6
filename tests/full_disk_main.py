"""`python -m mixres.main` on a disk that fills up, for the fault tests and trials.

  MIXRES_FULL_DISK_FROM_STEP=20 python tests/full_disk_main.py --config=... --workdir=...

From the first checkpoint at a step >= MIXRES_FULL_DISK_FROM_STEP on, every file this process
writes is capped at 1 KB (RLIMIT_FSIZE, with SIGXFSZ ignored: writes past the cap fail with
EFBIG, as on a full disk). Files already open and pipes are unaffected.
"""

import os
import resource
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app  # pylint: disable=g-import-not-at-top
from mixres import checkpoint
from mixres import main

FROM_STEP = int(os.environ['MIXRES_FULL_DISK_FROM_STEP'])
original_save = checkpoint.Checkpointer.save


def save_on_a_full_disk(self, step, *args, **kwargs):
  if step >= FROM_STEP:
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
  return original_save(self, step, *args, **kwargs)


if __name__ == '__main__':
  signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
  checkpoint.Checkpointer.save = save_on_a_full_disk
  app.run(main.main, flags_parser=main.parse_flags)
