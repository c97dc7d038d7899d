import sys

from alphacut.cli import main

sys.exit(main())
