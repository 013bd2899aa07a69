"""`python -m projections.search [rebuild]`: the search view (see projections/__main__.py)."""

import sys

from projections.__main__ import main

if __name__ == "__main__":
    sys.exit(main(view="search"))
