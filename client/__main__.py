"""`python -m client` runs the `parley` command (for checkouts without the console script)."""

import sys

from client.cli import main

sys.exit(main())
