"""`python -m slidecast extract VIDEO --out DIR`; see slidecast.cli."""

import sys

from .cli import main

sys.exit(main())
