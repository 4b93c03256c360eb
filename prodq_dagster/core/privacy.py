"""Masking of personal data before it reaches logs, check metadata, alerts or reports."""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

# The lookbehind lets a match start only where a run of address characters starts: without
# it, Python's backtracking engine rescans a long run from every position (quadratic time
# on one long value with no "@").
_EMAIL = re.compile(r"(?<![^@\s,;\"'])([^@\s,;\"']?)[^@\s,;\"']*@([^@\s,;\"']+)")


def mask_email_text(text: str) -> str:
    """Mask every e-mail address in free text: ``user@example.com`` -> ``u***@example.com``."""
    if "@" not in text:
        return text
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)


def mask_email_array(values: pa.Array) -> pa.Array:
    """Vectorized ``mask_email_text`` for a string column."""
    return pc.replace_substring_regex(values, r"([^@\s,;\"']?)[^@\s,;\"']*@([^@\s,;\"']+)", r"\1***@\2")
