"""Entry point for ``python -m prodq_dagster``."""

import sys

from .cli import main

sys.exit(main())
