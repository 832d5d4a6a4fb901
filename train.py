#!/usr/bin/env python
"""dogym command line: `python train.py --help`. The logic lives in `dogym.experiments.cli`."""

import sys

from dogym.experiments.threads import set_thread_env

set_thread_env(1)  # before numpy is imported anywhere: tiny GPs and small networks run faster on one BLAS thread

from dogym.experiments.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
