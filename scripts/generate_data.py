"""Generate sample raw feeds: a thin entry point to ``prodq_dagster.generate`` (also ``prodq generate``).

Importing this file gives the package module itself, so ``generate_data.generate(...)`` and
its constants work as before.
"""

import sys

from prodq_dagster import generate as _generate

if __name__ == "__main__":
    sys.exit(_generate.main())
sys.modules[__name__] = _generate
