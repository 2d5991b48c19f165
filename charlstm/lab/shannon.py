"""Old name of :mod:`charlstm.lab.guess` (the Guess game),
kept as an alias: importing it gives that very module."""

import sys

from . import guess

sys.modules[__name__] = guess
