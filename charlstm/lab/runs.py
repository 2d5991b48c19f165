"""Old name of :mod:`charlstm.lab.run_changes` (what changed between runs),
kept as an alias: importing it gives that very module."""

import sys

from . import run_changes

sys.modules[__name__] = run_changes
