"""Entry point for ``python -m prodq_dagster``."""

import gc
import logging
import os
import sys

# Start-up builds about a million long-lived objects (Dagster, pandas, pyarrow, pandera, the
# asset graph, the instance); the cyclic collector walking them again and again while they
# are created cost 1-2 s of every run. It stays off until the job and the instance are
# loaded; cli.main then freezes those objects out of later collections and turns it back on.
gc.disable()

from .cli import main  # noqa: E402

code = main()
# Everything is written and closed by now (outputs are published atomically, the Dagster
# instance is closed). Skipping the interpreter's teardown of dagster, pandas and pyarrow
# saves about a second per invocation.
logging.shutdown()
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
