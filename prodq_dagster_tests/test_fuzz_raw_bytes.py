"""Fuzzing the shipped read path with raw CSV bytes, against an independent count.

Hypothesis writes whole files: quotes in every position (inch marks, text after a closing
quote, unterminated values), commas and line ends inside quoted values, LF / CRLF / bare
CR mixes, blank and whitespace lines (before the header too), a BOM, stray latin-1 bytes,
long multi-line values read in tiny blocks, extra and repeated header columns. Each file
goes through ``stream_entity`` (what the assets call) with tiny read blocks and dedupe
buckets, and is compared with an oracle written here, in plain Python, from the grammar
docs/contract.md states: physical lines, the pairing of lines with an odd quote count, RFC 4180
fields checked character by character, blank lines skipped. Python's ``csv`` module
cross-checks the oracle's fields.

Checked for every file: no exception; raw records (oracle) = clean + quarantine + dropped
duplicates; the malformed lines and their line numbers are the oracle's, with their raw
text; every other quarantined row holds the raw values of one of the oracle's records; the
dropped full-row duplicates are exactly the repeats among the oracle's records (all
columns, trimmed).

``make test`` runs a few hundred examples per property; ``make fuzz`` runs many more
(``HYPOTHESIS_PROFILE=fuzz``).
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections import Counter
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prodq_dagster.core.contract import EVENTS
from prodq_dagster.core.reader import MAX_RECORD_BYTES
from prodq_dagster.core.storage import open_store
from prodq_dagster.core.streaming import stream_entity
from prodq_dagster_tests.test_core_support import VOCAB

settings.register_profile("default", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fuzz", max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

D = "2025-12-10"
DAY = date(2025, 12, 10)
MASTER = pa.array(["C1", "C2"], pa.string())


# ----------------------------------------------------------------------------- the oracle


def physical_lines(text: str) -> list[tuple[str, str]]:
    """(content, terminator) per physical line: LF, CRLF and a bare CR end a line."""
    out, start, i = [], 0, 0
    while i < len(text):
        c = text[i]
        if c == "\n" or c == "\r":
            end = i + 2 if text[i : i + 2] == "\r\n" else i + 1
            out.append((text[start:i], text[i:end]))
            start = i = end
            continue
        i += 1
    if start < len(text):
        out.append((text[start:], ""))
    return out


def rfc_fields(text: str) -> list[str] | None:
    """The fields of one record under strict RFC 4180, or None if it is not one."""
    fields, i, n = [], 0, len(text)
    while True:
        if i < n and text[i] == '"':
            i, value = i + 1, []
            while True:
                if i >= n:
                    return None
                if text[i] == '"':
                    if i + 1 < n and text[i + 1] == '"':
                        value.append('"')
                        i += 2
                        continue
                    i += 1
                    break
                value.append(text[i])
                i += 1
            fields.append("".join(value))
        else:
            j = i
            while j < n and text[j] not in ',"\r\n':
                j += 1
            if j < n and text[j] != ",":
                return None
            fields.append(text[i:j])
            i = j
        if i == n:
            return fields
        if text[i] != ",":
            return None
        i += 1
        if i == n:
            fields.append("")
            return fields


def blank(content: str) -> bool:
    return content.strip(" \t") == ""


def oracle(data: bytes) -> tuple[list[str], list[list[str]], list[tuple[int, str]]]:
    """(header, records, malformed (line number, raw text)) of a file."""
    text = data.decode("utf-8", "prodq_latin1")  # the reader's repair: stray bytes read as latin-1
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = physical_lines(text)
    h = next((i for i, (content, _) in enumerate(lines) if not blank(content)), None)
    if h is None:
        return [], [], []
    header = next(csv.reader([lines[h][0]]))
    n = len(header)
    records, malformed = [], []
    i = h + 1
    while i < len(lines):
        content = lines[i][0]
        if blank(content):
            i += 1
            continue
        if content.count('"') % 2 == 0:
            fields = rfc_fields(content)
            if fields is not None and len(fields) == n:
                records.append(fields)
            else:
                malformed.append((i + 1, content))
            i += 1
            continue
        j = next((k for k in range(i + 1, len(lines)) if lines[k][0].count('"') % 2 == 1), None)
        if j is not None:
            record = "".join(c + t for c, t in lines[i:j]) + lines[j][0]
            fields = rfc_fields(record)
            if fields is not None and len(fields) == n and len(record.encode("utf-8")) <= MAX_RECORD_BYTES:
                assert list(csv.reader(io.StringIO(record, newline=""), strict=True)) == [fields]
                records.append(fields)
                i = j + 1
                continue
        malformed.append((i + 1, content))
        i += 1
    return header, records, malformed


# ----------------------------------------------------------------------------- generated files

PLAIN = ["E1", "E2", "E3", "C1", "C2", "C9", "", " ", "x", " padded ", "page_view", "LOGIN", "teleport", "web", "iPhone",
         "S1", "100", "-5", "1.2e5", D, "2099-01-01", "2025-12-10 10:00:00", "2025-12-10T04:21:24-05:00", "bad-ts",
         "N/A", "null", "é", "naïve"]  # fmt: skip
HOSTILE = ['27" monitor', 'S"1', '"S2"x', '"unterminated', 'a""b', '"', '""', '"""', ' "q"', '"q" ', "\x00nul", "\x1ftab\t"]
QUOTED = ['"a,b"', '"say ""hi"""', '"multi\nline"', '"cr\rinside"', '"crlf\r\nin"', '""', '"E1"', '"C1"', '" 100 "', '","']


@st.composite
def field(draw) -> str:
    kind = draw(st.sampled_from(["plain"] * 6 + ["hostile", "quoted", "quoted", "text"]))
    if kind == "plain":
        return draw(st.sampled_from(PLAIN))
    if kind == "hostile":
        return draw(st.sampled_from(HOSTILE))
    if kind == "quoted":
        return draw(st.sampled_from(QUOTED))
    return draw(st.text(alphabet=st.sampled_from(list('ab ,"\r\n\t')), max_size=6))


@st.composite
def raw_file(draw) -> bytes:
    columns = list(EVENTS.columns)
    extras = draw(st.sampled_from([[], ["note"], ["note", "session_id"], ["", "note"]]))
    header = columns + extras
    n = len(header)
    lines: list[str] = []
    for _ in range(draw(st.integers(0, 25))):
        shape = draw(st.sampled_from(["row"] * 8 + ["short", "long", "blank", "spaces", "copy", "variant", "long_value"]))
        if shape == "blank":
            lines.append("")
        elif shape == "spaces":
            lines.append(" \t ")
        elif shape == "copy" and lines:
            lines.append(draw(st.sampled_from(lines)))
        elif shape == "variant" and lines:  # the same row but for its last column (an extra one, when there are extras)
            base = draw(st.sampled_from(lines)).rsplit(",", 1)[0]
            lines.append(base + "," + draw(st.sampled_from(["v1", "v2", " v1 "])))
        elif shape == "long_value":
            body = "\n".join("y" * 40 for _ in range(draw(st.integers(3, 30))))
            row = [draw(st.sampled_from(["E1", "E2"])), "C1", "2025-12-10 10:00:00", "page_view", "web", f'"{body}"', "1", D]
            lines.append(",".join(row + ["x"] * (n - len(row))))
        else:
            width = {"row": n, "short": n - 1, "long": n + 1}.get(shape, n)
            lines.append(",".join(draw(field()) for _ in range(max(width, 1))))
    eols = draw(st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=len(lines) + 1, max_size=len(lines) + 1))
    lead = draw(st.sampled_from(["", "", "\n", "\r\n \n"]))
    text = lead + ",".join(header) + eols[0] + "".join(line + eol for line, eol in zip(lines, eols[1:]))
    if draw(st.booleans()):
        text = text.rstrip("\r\n")  # no line end after the last line
    data = text.encode("utf-8")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    if draw(st.integers(0, 4)) == 0 and lines:
        data = data.replace(b"x", b"\xe9", 1)  # a stray latin-1 byte
    return data


# ----------------------------------------------------------------------------- the property


def check(data: bytes, block_bytes: int, bucket_rows: int) -> None:
    header, records, malformed = oracle(data)
    with tempfile.TemporaryDirectory() as root:
        folder = Path(root) / f"ingest_date={D}"
        folder.mkdir()
        (folder / "events_raw.csv").write_bytes(data)
        out = open_store(str(Path(root) / "out"))
        outcome = stream_entity(open_store(root), EVENTS, DAY, MASTER, VOCAB, out, bucket_rows=bucket_rows, block_bytes=block_bytes)
        assert outcome.contract.passed, outcome.contract.failures_by_check
        assert outcome.clean is not None and outcome.quarantine is not None
        clean = pq.read_table(out.path(outcome.clean.temp))
        quarantine = pq.read_table(out.path(outcome.quarantine.temp)).to_pylist()
        outcome.discard()
    s = outcome.stats
    assert s.total == len(records) + len(malformed), (s.total, len(records), len(malformed))
    assert s.total == s.clean + s.quarantine + s.dropped_duplicates
    assert (s.clean, s.quarantine) == (clean.num_rows, len(quarantine))

    got_malformed = sorted((r["source_line"], r["raw_text"]) for r in quarantine if r["reject_reason"] == "malformed_row")
    assert got_malformed == sorted(malformed)
    assert s.malformed == len(malformed)

    names = [h.strip().lower() for h in header]
    position = {c: names.index(c) for c in EVENTS.columns if c in names}

    def contract_values(record: list[str]) -> tuple:
        return tuple(record[position[c]] if c in position else None for c in EVENTS.columns)

    known = Counter(contract_values(r) for r in records)
    for row in quarantine:
        if row["reject_reason"] != "malformed_row":
            raw = tuple(row["ingest_date_raw" if c == "ingest_date" else c] for c in EVENTS.columns)
            assert known[raw] > 0, raw

    trimmed = Counter(tuple(v.strip() for v in r) for r in records)
    assert s.dropped_duplicates == sum(count - 1 for count in trimmed.values())


@given(data=raw_file(), block_bytes=st.sampled_from([16, 64, 200, 1 << 20]), bucket_rows=st.sampled_from([2, 5, 1_000_000]))
def test_raw_bytes_conserve_every_record(data, block_bytes, bucket_rows):
    check(data, block_bytes, bucket_rows)


@given(
    lines=st.lists(st.text(alphabet=st.sampled_from(list('E1C,"\r\n \t')), max_size=30), max_size=12),
    block_bytes=st.sampled_from([8, 32, 1 << 20]),
)
def test_arbitrary_text_never_breaks_the_reader(lines, block_bytes):
    """Random characters from the CSV alphabet, under a real header: anything goes."""
    data = (",".join(EVENTS.columns) + "\n" + "\n".join(lines)).encode()
    check(data, block_bytes, 3)


def test_oracle_agrees_with_the_csv_module_on_well_formed_files():
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    rows = [["a,b", 'q"q', "multi\nline"], ["", "x", "cr\rin"], ["1", "2", "3"]]
    writer.writerow(["h1", "h2", "h3"])
    writer.writerows(rows)
    header, records, malformed = oracle(buffer.getvalue().encode())
    assert header == ["h1", "h2", "h3"] and records == rows and malformed == []
