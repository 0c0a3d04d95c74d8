"""`python -m nm28_async.bridge ARGS`: `nm28 bridge ARGS`."""

import sys

from .cli import main

sys.exit(main())
