"""Old name of :mod:`charlstm.lab.time_machine` (the training time machine),
kept as an alias: importing it gives that very module."""

import sys

from . import time_machine

sys.modules[__name__] = time_machine
