"""The documentation: generated tables match the code, links resolve, the README stays a guide.

- ``scripts/gen_docs.py --check``: the tables generated from code (rules, vocabularies,
  settings, schemas) are what the code would generate now.
- Every relative link and image in README.md and docs/*.md points at a file that exists, and
  every ``#anchor`` at a heading of the target file (GitHub's heading ids).
- README.md is at most 250 lines and its quick start (``make demo``, ``make test``) is in the
  first 40 lines.
- The hand-written alert tables (README.md, docs/outputs.md) name exactly ``ALERT_TYPES``.
- No document or source file cites a design document, an issue or a work session by number.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from prodq_dagster.core.alerts import ALERT_TYPES

from .conftest import REPO_ROOT

README = REPO_ROOT / "README.md"
DOCS = REPO_ROOT / "docs"
README_MAX_LINES = 250
QUICK_START_WITHIN = 40


def _documents() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def test_generated_doc_tables_match_the_code():
    proc = subprocess.run([sys.executable, "scripts/gen_docs.py", "--check"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


# ----------------------------------------------------------------------------- links

_FENCE = re.compile(r"^(```|~~~)")
_CODE_SPAN = re.compile(r"`[^`\n]*`")
# [text](target) and ![alt](target), with an optional "title"; text may hold one level of brackets
# (an image inside a link).
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*:")


def _prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks (code blocks hold no links or headings)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line.lstrip()):
            fenced = not fenced
            lines.append("")
            continue
        lines.append("" if fenced else line)
    return lines


def _slug(heading: str) -> str:
    """GitHub's id of a heading: the rendered text, lower case, punctuation other than ``-`` and
    ``_`` dropped, spaces to hyphens."""
    text = re.sub(r"`([^`]*)`", r"\1", heading)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"(\*\*|__|\*)(?=\S)(.+?)(?<=\S)\1", r"\2", text)
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for line in _prose_lines(path.read_text(encoding="utf-8")):
        match = _HEADING.match(line)
        if not match:
            continue
        base = _slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        out.add(base if count == 0 else f"{base}-{count}")
    return out


def relative_links(path: Path) -> list[tuple[int, str]]:
    found = []
    for number, line in enumerate(_prose_lines(path.read_text(encoding="utf-8")), 1):
        for match in _LINK.finditer(_CODE_SPAN.sub("", line)):
            target = match.group(1)
            if not _SCHEME.match(target):
                found.append((number, target))
    return found


def test_slug_follows_github():
    assert _slug("Numbers: `duration_ms`") == "numbers-duration_ms"
    assert _slug("`validation_report.json`") == "validation_reportjson"
    assert _slug("`--json`") == "--json"
    assert _slug("Why `pyarrow.fs`") == "why-pyarrowfs"
    assert _slug("Today's figures") == "todays-figures"
    assert _slug("Events and orders: one step, all or nothing") == "events-and-orders-one-step-all-or-nothing"


def test_every_relative_link_and_anchor_resolves():
    broken = []
    checked = 0
    for doc in _documents():
        for number, target in relative_links(doc):
            checked += 1
            where = f"{doc.relative_to(REPO_ROOT)}:{number}: {target}"
            file_part, _, anchor = target.partition("#")
            resolved = (doc.parent / file_part).resolve() if file_part else doc
            if not resolved.exists():
                broken.append(f"{where} (no such file)")
                continue
            if anchor:
                if resolved.suffix != ".md":
                    broken.append(f"{where} (anchor into a file that is not Markdown)")
                elif anchor not in anchors(resolved):
                    broken.append(f"{where} (no heading with id #{anchor})")
    assert checked > 50, f"only {checked} links found: is the link pattern still right?"
    assert not broken, "\n".join(broken)


def test_the_readme_embeds_the_report_screenshots():
    targets = {target for _, target in relative_links(README)}
    assert {"docs/images/day-report.png", "docs/images/index.png"} <= targets


# ----------------------------------------------------------------------------- README shape


def test_readme_is_a_short_guide_with_the_quick_start_first():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines (at most {README_MAX_LINES}): move reference to docs/"
    head = "\n".join(lines[:QUICK_START_WITHIN])
    assert "make demo" in head and "make test" in head, f"the quick start (make demo, make test) must be in the first {QUICK_START_WITHIN} lines"


# ----------------------------------------------------------------------------- alert tables


def _first_column_codes(path: Path, header: str) -> set[str]:
    """The backticked first cells of the table whose header row starts with ``header``."""
    lines = _prose_lines(path.read_text(encoding="utf-8"))
    start = next((i for i, line in enumerate(lines) if line.startswith(header)), None)
    assert start is not None, f"{path.name}: no table starting {header!r}"
    codes = set()
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        match = re.match(r"^\|\s*`([^`]+)`\s*\|", line)
        if match:
            codes.add(match.group(1))
    return codes


@pytest.mark.parametrize(("document", "header"), [(README, "| alert | means |"), (DOCS / "outputs.md", "| type | severity |")])
def test_alert_tables_name_exactly_the_alert_types(document, header):
    assert _first_column_codes(document, header) == set(ALERT_TYPES)


# ----------------------------------------------------------------------------- citations

CITATIONS = [
    re.compile(r"DESIGN\.md", re.IGNORECASE),
    re.compile(r"\bissues?\s*(?:no\.?\s*)?#?\s*\d+", re.IGNORECASE),
    re.compile(r"\bsessions?\s*(?:no\.?\s*)?#?\s*\d+", re.IGNORECASE),
]
_BINARY = {".png", ".jpg", ".jpeg", ".gif", ".pyc", ".gz", ".parquet"}


def _scanned_files() -> list[Path]:
    files = [README]
    for folder in ("docs", "prodq_dagster", "scripts"):
        for path in sorted((REPO_ROOT / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix.lower() not in _BINARY:
                files.append(path)
    return files


def citation_hits() -> list[str]:
    hits = []
    for path in _scanned_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if any(pattern.search(line) for pattern in CITATIONS):
                hits.append(f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()[:120]}")
    return hits


def test_citation_patterns():
    def cites(line: str) -> bool:
        return any(p.search(line) for p in CITATIONS)

    # Built from parts, so that this file holds no such citation itself.
    design, issue, session = "DESIGN" + ".md", "issue", "session"
    assert cites(f"see {design} for it") and cites(f"fixed in {issue} 12") and cites(f"{issue.title()} #7") and cites(f"{session} 11")
    assert not cites(f"{session}_id 12") and not cites(f"a t{issue} 3") and not cites(f"the {issue}s below")


def test_no_document_or_source_cites_design_notes_issues_or_sessions():
    hits = citation_hits()
    assert not hits, "cite the code or the docs instead:\n" + "\n".join(hits)
