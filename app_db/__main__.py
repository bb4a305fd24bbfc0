"""``python -m app_db``: the same as the ``app-db`` console script."""

import sys

from .cli import main

sys.exit(main())
