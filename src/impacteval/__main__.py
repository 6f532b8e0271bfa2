"""``python -m impacteval`` = the ``impacteval`` command."""

import sys

from impacteval.cli import main

sys.exit(main())
