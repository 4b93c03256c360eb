"""The documentation tables generated from code and data files are up to date."""

from __future__ import annotations

import subprocess
import sys

from .conftest import REPO_ROOT


def test_generated_doc_tables_match_the_code():
    proc = subprocess.run([sys.executable, "scripts/gen_docs.py", "--check"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
