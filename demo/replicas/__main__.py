"""``python -m demo.replicas``: the launcher in :mod:`demo.replicas`."""

import sys

from . import main

sys.exit(main())
