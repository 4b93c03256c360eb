"""Entry point for ``python -m prodq_dagster``."""

import logging
import os
import sys

from .cli import main

code = main()
# Everything is written and closed by now (outputs are published atomically, the Dagster
# instance is closed). Skipping the interpreter's teardown of dagster, pandas and pyarrow
# saves about a second per invocation.
logging.shutdown()
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
