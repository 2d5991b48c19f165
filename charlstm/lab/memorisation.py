"""Old name of :mod:`charlstm.lab.copying` (what a text copies from its training text),
kept as an alias: importing it gives that very module."""

import sys

from . import copying

sys.modules[__name__] = copying
