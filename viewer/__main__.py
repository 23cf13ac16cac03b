"""``python -m hubscape.viewer`` runs the hubscape command line."""

import sys

from hubscape.viewer.cli import main

sys.exit(main())
