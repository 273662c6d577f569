"""``python -m glassnet`` runs the command line (see :mod:`glassnet.cli`)."""
import sys

from .cli import main

sys.exit(main())
