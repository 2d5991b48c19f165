"""Entry point for ``python -m charlstm``."""

import sys

from .cli import main

sys.exit(main())
