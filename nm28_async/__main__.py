"""`python -m nm28_async`: the `nm28` command, where the console script is not on PATH."""

import sys

from .tools.cli import main

sys.exit(main())
