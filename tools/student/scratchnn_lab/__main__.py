"""``python -m scratchnn_lab``: the same as the ``scratchnn-lab`` command."""

import sys

from . import main

sys.exit(main())
