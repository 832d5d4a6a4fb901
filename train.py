#!/usr/bin/env python
"""dogym command line: `python train.py --help`. The logic lives in `dogym.experiments.cli`."""

import sys

from dogym.experiments.cli import main

if __name__ == "__main__":
    sys.exit(main())
