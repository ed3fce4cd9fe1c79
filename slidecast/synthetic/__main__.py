"""`python -m slidecast.synthetic NAME OUT.mp4`: render one clip with its ground truth."""

import sys

from . import main

sys.exit(main())
