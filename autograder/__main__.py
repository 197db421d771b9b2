"""``python -m autograder``: see :mod:`autograder.cli`."""

import sys

from .cli import main

# Guarded: Dask's LocalCluster starts its worker processes with multiprocessing's "spawn",
# which imports the main module again (as __mp_main__).
if __name__ == "__main__":
    sys.exit(main())
