"""``python -m alphacut``: the same command line as the ``alphacut`` script."""

import sys

from alphacut.cli import main

sys.exit(main())
