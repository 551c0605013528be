"""``python -m realtime_testkit.guide``: see the package's doc."""

import sys

from . import main

sys.exit(main())
