"""Read one raw CSV file of an entity, block by block, into all-text records and malformed lines.

The grammar is RFC 4180, read strictly, and every record boundary and every field comes
from one classification of the file's physical lines:

* A physical line ends at LF, CRLF or a bare CR. Lines that are empty or hold only
  spaces and tabs are blank: not records.
* A line with an even number of double quotes is a record on its own when it is
  well formed: every field is either free of quotes or enclosed in quotes with inner
  quotes doubled (``"say ""hi"" twice"``), and it has the header's field count. A quote
  inside an unquoted value (``27" monitor``) or text after a closing quote
  (``"S2"x``) is broken quoting: the line is malformed.
* A line with an odd number of quotes opens a quoted value that spans lines. It pairs
  with the next line that has an odd number of quotes; the lines from one to the other
  are one record when that text is a well-formed record with the header's field count
  and at most ``MAX_RECORD_BYTES`` long. Otherwise the opening line alone is malformed
  and reading goes on with the line after it, so a stray quote costs one line.
* A malformed line goes to quarantine with its raw text and physical line number.

One regular expression of the grammar judges every line of a block at once (RE2, over
the lines as an Arrow array). The lines it accepts are parsed by pyarrow's CSV reader,
which on such lines reads exactly the grammar's fields (and its row count is checked);
the few records that span lines are checked with the same expression and split with
Python's csv module. A block is cut only where no record is open, so the outcome does
not depend on the block size.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .contract import ENTITIES, Entity
from .storage import DAY_PREFIX, Store

LF, CR, QUOTE, COMMA, SPACE, TAB = 10, 13, 34, 44, 32, 9
# A record spanning lines, or a physical line, longer than this is not a record: an
# unterminated quote is judged after this many bytes at most, which bounds memory.
MAX_RECORD_BYTES = 64 << 20
META_COLUMNS = ("extra_columns", "extra_key", "missing_columns", "source_file", "source_line")

# One record: fields either free of quotes, commas and line ends, or quoted with inner
# quotes doubled. The same grammar checks single lines (RE2, with the line end) and
# records that span lines (Python's re).
_GRAMMAR = r'(?:"(?:[^"]|"")*"|[^",\r\n]*)(?:,(?:"(?:[^"]|"")*"|[^",\r\n]*))*'
_RECORD = re.compile(_GRAMMAR.encode(), re.S)
_LINE_PATTERN = rf"^{_GRAMMAR}(?:\r\n|\n|\r)?$"
_UTF16_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_GZIP_MAGIC = b"\x1f\x8b"
# Python's csv module refuses fields over 128 KiB by default; a record may be as long as
# MAX_RECORD_BYTES.
csv.field_size_limit(max(csv.field_size_limit(), MAX_RECORD_BYTES))
_WIDE_ENCODING = "it looks UTF-16 or UTF-32 encoded; prodq reads UTF-8 CSV (re-export it as UTF-8)"


class RawInputError(Exception):
    """A raw input problem the user has to fix (unreadable file, wrong encoding ...)."""


def _latin1_fallback(error: UnicodeDecodeError):
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error("prodq_latin1", _latin1_fallback)


def _text(data: bytes) -> str:
    """Bytes as text: UTF-8, a stray invalid byte read as latin-1."""
    return data.decode("utf-8", "prodq_latin1")


@dataclass
class RawData:
    """One entity-day (or dedupe bucket) of raw text: parsed records plus the lines that could not be parsed."""

    entity: Entity
    table: pa.Table  # contract columns (text, null where absent) + META_COLUMNS
    malformed: pa.Table  # source_file, source_line, raw_text
    files: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    repaired_encoding_files: list[str] = field(default_factory=list)
    unmatched_headers: dict[str, list[str]] = field(default_factory=dict)

    @property
    def feed_present(self) -> bool:
        return bool(self.files)


@dataclass
class FileHeader:
    names: list[str]  # normalized, unique
    missing: list[str]  # contract columns the file lacks
    extra: list[str]  # columns that are not in the contract
    line: int  # physical line number of the header
    unmatched: bool  # not one contract column: wrong delimiter, encoding or names
    repaired: bool = False  # the header line held a byte that is not UTF-8 (read as latin-1)


# ----------------------------------------------------------------------------- files of a day


def _is_marker(name: str) -> bool:
    """Hidden files and markers such as ``_SUCCESS`` are not feed files."""
    return name.startswith((".", "_"))


def _feed_like(name: str, prefix: str = "") -> bool:
    return name.startswith(prefix) and name.endswith((".csv", ".csv.gz"))


def day_folder(day: date) -> str:
    """The raw folder of a day, relative to the raw root."""
    return f"{DAY_PREFIX}{day.isoformat()}"


def find_files(store: Store, day_rel: str, entity: Entity) -> list[str]:
    """The entity's files in a day folder (``<prefix>*.csv`` and ``<prefix>*.csv.gz``), sorted, as
    paths relative to the raw root. Anything with such a name that is not a folder counts, a
    dangling link included, so that an unreadable feed file fails with a message instead of
    being skipped."""
    return [f"{day_rel}/{e.name}" for e in store.listdir(day_rel) if not e.is_dir and _feed_like(e.name, entity.file_prefix)]


def unmatched_files(store: Store, day_rel: str) -> list[str]:
    """Files of a day folder that belong to no entity (e.g. ``events.csv``), sorted; markers excluded.

    Folders are not files of the day, unless one is named like a feed file (then it is named).
    """
    matched = {rel.rpartition("/")[2] for entity in ENTITIES.values() for rel in find_files(store, day_rel, entity)}
    return [
        e.name
        for e in store.listdir(day_rel)
        if e.name not in matched and not _is_marker(e.name) and (not e.is_dir or _feed_like(e.name))
    ]


# ----------------------------------------------------------------------------- header


def normalize_header(names: list[str]) -> list[str]:
    """Trimmed, lower-cased, unique names: a repeated or empty name gets a distinct visible name."""
    wanted = [raw.strip().lstrip("\ufeff").strip().lower() for raw in names]
    taken: set[str] = set()
    out = []
    for i, name in enumerate(wanted):
        base = name or f"unnamed_{i + 1}"
        candidate, n = base, 1
        while candidate in taken or (candidate != name and candidate in wanted):
            n += 1
            candidate = f"{base}__{n}"
        taken.add(candidate)
        out.append(candidate)
    return out


def header_problem(names: list[str], entity: Entity) -> str:
    """A hint at why a header matches no contract column (delimiter, names)."""
    text = ",".join(names)
    for delimiter, label in ((";", "';'"), ("\t", "a tab"), ("|", "'|'")):
        if delimiter in text and sum(c in text for c in entity.columns) >= 2:
            return f"the delimiter looks like {label}, not ','"
    squeezed = {re.sub(r"[^a-z0-9]", "", n): n for n in names}
    renamed = [f"{squeezed[c.replace('_', '')]} for {c}" for c in entity.columns if c.replace("_", "") in squeezed]
    if renamed:
        return "renamed columns? found " + ", ".join(renamed)
    return f"expected columns {', '.join(entity.columns)}"


# ----------------------------------------------------------------------------- lines of a block


@dataclass
class _Lines:
    """The complete physical lines of a buffer (its unfinished last line excluded)."""

    starts: np.ndarray
    ends: np.ndarray  # end of the line's content (terminator excluded)
    next_starts: np.ndarray  # start of the following line (terminator included)

    @classmethod
    def of(cls, arr: np.ndarray, at_eof: bool, has_cr: bool = True) -> _Lines:
        """``has_cr=False`` (the caller found no CR byte) skips the work for CR line ends."""
        lf = np.flatnonzero(arr == LF)
        cr = np.flatnonzero(arr == CR) if has_cr else np.zeros(0, dtype=np.int64)
        term_start = lf.copy()
        if len(cr):
            followed = np.zeros(len(cr), dtype=bool)
            inside = cr + 1 < len(arr)
            followed[inside] = arr[cr[inside] + 1] == LF
            term_start[np.isin(lf - 1, cr[followed])] -= 1
            bare = cr[~followed]
            if not at_eof:
                bare = bare[bare + 1 < len(arr)]  # a CR at the very end may be half of a CRLF
            ends = np.concatenate([term_start, bare])
            nexts = np.concatenate([lf + 1, bare + 1])
            order = np.argsort(ends, kind="stable")
            ends, nexts = ends[order], nexts[order]
        else:
            ends, nexts = term_start, lf + 1
        if at_eof and (len(nexts) == 0 or nexts[-1] < len(arr)):
            ends = np.append(ends, len(arr))  # a last line without a terminator
            nexts = np.append(nexts, len(arr))
        starts = np.concatenate(([0], nexts[:-1])) if len(nexts) else np.zeros(0, dtype=np.int64)
        return cls(starts.astype(np.int64), ends.astype(np.int64), nexts.astype(np.int64))

    def __len__(self) -> int:
        return len(self.starts)


def _line_of(starts: np.ndarray, positions: np.ndarray) -> np.ndarray:
    return np.searchsorted(starts, positions, side="right") - 1


@dataclass
class _Classes:
    """Per line: an odd quote count (opens a value that spans lines), broken quoting (an even
    count, but not a well-formed record), emptiness."""

    odd: np.ndarray
    improper: np.ndarray
    empty: np.ndarray


def _classify(data: bytes, lines: _Lines) -> _Classes:
    """Check every line against the record grammar at once (RE2 over the lines as one Arrow
    array, no copy); only the lines that fail have their quotes counted."""
    n = len(lines)
    offsets = np.concatenate(([0], lines.next_starts)).astype(np.int32)
    line_values = pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    well_formed = pc.match_substring_regex(line_values, _LINE_PATTERN).to_numpy(zero_copy_only=False)
    odd = np.zeros(n, dtype=bool)
    improper = np.zeros(n, dtype=bool)
    failed = np.flatnonzero(~well_formed)
    if len(failed):
        quotes = pc.count_substring(line_values.take(pa.array(failed)), '"').to_numpy(zero_copy_only=False)
        odd[failed] = quotes % 2 == 1
        improper[failed] = quotes % 2 == 0
    return _Classes(odd, improper, lines.ends == lines.starts)


def _field_counts(arr: np.ndarray, lines: _Lines, rows: np.ndarray) -> np.ndarray:
    """Fields per line (commas outside quotes + 1) for the well-formed lines ``rows``."""
    limit = int(lines.next_starts[-1])
    quotes = np.flatnonzero(arr[:limit] == QUOTE)
    commas = np.flatnonzero(arr[:limit] == COMMA)
    line = _line_of(lines.starts, commas)
    keep = np.isin(line, rows) if len(rows) < len(lines) else np.ones(len(commas), dtype=bool)
    commas, line = commas[keep], line[keep]
    if len(quotes):  # a comma inside a quoted value has an odd number of the line's quotes before it
        inside = (np.searchsorted(quotes, commas) - np.searchsorted(quotes, lines.starts)[line]) & 1
        line = line[inside == 0]
    return np.bincount(line, minlength=len(lines))[rows] + 1


def _is_blank(data: bytes) -> bool:
    return not data.strip(b" \t")


@dataclass
class _Block:
    """The outcome of one block: records as text, malformed lines, and where the next block starts."""

    table: pa.Table | None  # the header's columns, all text
    lines: np.ndarray  # physical line number of each record
    malformed_lines: list[int]
    malformed_texts: list[str]
    consumed: int  # bytes of the buffer that are done; the rest is carried to the next block
    lines_consumed: int  # physical lines in those bytes


def _pyarrow_parse(data: bytes | memoryview, names: list[str]) -> pa.Table:
    """Parse single-line records, every column as text (raises ``pa.ArrowInvalid`` on a bad row)."""
    return pacsv.read_csv(
        pa.BufferReader(pa.py_buffer(data)),
        read_options=pacsv.ReadOptions(column_names=names, block_size=4 << 20),
        parse_options=pacsv.ParseOptions(newlines_in_values=False),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


def _try_parse(data: memoryview, names: list[str]) -> pa.Table | None:
    try:
        return _pyarrow_parse(data, names)
    except pa.ArrowInvalid:
        return None  # a line with another field count (or a blank one): the exact path finds it


def _csv_rows(texts: list[str], names: list[str]) -> pa.Table:
    """Records (already known to be well formed) split by Python's csv module."""
    rows = [next(csv.reader(io.StringIO(text, newline=""), strict=True)) for text in texts]
    return pa.table({name: pa.array([row[i] for row in rows], pa.string()) for i, name in enumerate(names)})


def _slices(arr: np.ndarray, lines: _Lines, rows: np.ndarray) -> bytes:
    """The bytes of the given lines (terminators included), runs of neighbours taken at once."""
    if len(rows) == 0:
        return b""
    breaks = np.flatnonzero(np.diff(rows) != 1)
    firsts = np.concatenate(([rows[0]], rows[breaks + 1]))
    lasts = np.concatenate((rows[breaks], [rows[-1]]))
    data = memoryview(arr)
    parts = [data[lines.starts[a] : lines.next_starts[b]] for a, b in zip(firsts.tolist(), lasts.tolist())]
    last = lines.next_starts[lasts[-1]]
    if lines.ends[lasts[-1]] == last:  # the file's last line has no terminator
        parts.append(b"\n")
    return b"".join(parts)


def _parse_block(data: bytes, names: list[str], first_line: int, at_eof: bool) -> _Block:
    """Classify the complete lines of ``data`` and parse its records (see the module docstring)."""
    n_fields = len(names)
    arr = np.frombuffer(data, dtype=np.uint8)
    lines = _Lines.of(arr, at_eof, has_cr=data.find(b"\r") >= 0)
    if len(lines) == 0:
        return _Block(None, np.zeros(0, np.int64), [], [], 0, 0)
    done = int(lines.next_starts[-1])
    # pyarrow parses the block while the grammar check runs (both leave the GIL); the parse
    # is kept only when the check finds every line well formed on its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        parsed = pool.submit(_try_parse, memoryview(arr)[:done], names) if n_fields > 1 else None
        classes = _classify(data, lines)
        table = parsed.result() if parsed is not None else None
    numbers = first_line + np.arange(len(lines), dtype=np.int64)

    # Fast path: no line opens a quoted value or breaks quoting, so every non-empty line is
    # a record on its own; pyarrow's parse checked the field counts (a wrong count is an error).
    if table is not None and not classes.odd.any() and not classes.improper.any():
        present = ~classes.empty
        if table.num_rows == int(present.sum()):
            return _Block(table, numbers[present], [], [], done, len(lines))

    even = np.flatnonzero(~classes.odd & ~classes.improper & ~classes.empty)
    fields = np.zeros(len(lines), dtype=np.int64)
    fields[even] = _field_counts(arr, lines, even)
    blank = classes.empty.copy()
    for i in np.flatnonzero(fields == 1):  # one field: perhaps only spaces and tabs
        blank[i] = _is_blank(arr[lines.starts[i] : lines.ends[i]].tobytes())
    single = ~classes.odd & ~classes.improper & ~blank & (fields == n_fields)
    covered = np.zeros(len(lines), dtype=bool)  # lines inside an accepted multi-line record
    multi_first: list[int] = []
    multi_texts: list[str] = []
    bad: list[int] = []

    # Walk the lines with an odd quote count: pair each with the next one (see the module docstring).
    odd = np.flatnonzero(classes.odd)
    i = 0
    while i < len(odd):
        a = int(odd[i])
        start = int(lines.starts[a])
        if i + 1 < len(odd):
            b = int(odd[i + 1])
            text = arr[start : lines.ends[b]].tobytes()
            if len(text) <= MAX_RECORD_BYTES and _RECORD.fullmatch(text):
                decoded = _text(text)
                if len(next(csv.reader(io.StringIO(decoded, newline=""), strict=True))) == n_fields:
                    covered[a : b + 1] = True
                    multi_first.append(a)
                    multi_texts.append(decoded)
                    i += 2
                    continue
        elif not at_eof and done - start <= MAX_RECORD_BYTES:
            done = start  # an open quoted value: the record continues in the next block
            break
        bad.append(a)
        i += 1

    keep = np.flatnonzero(single & ~covered & (lines.starts < done))
    malformed = np.flatnonzero(~single & ~blank & ~covered & ~classes.odd & (lines.starts < done))
    bad_rows = np.sort(np.concatenate([np.array(bad, dtype=np.int64), malformed]))
    tables, record_lines = [], []
    if len(keep):
        tables.append(_parse_single_lines(arr, lines, keep, names))
        record_lines.append(numbers[keep])
    if multi_first:
        tables.append(_csv_rows(multi_texts, names))
        record_lines.append(numbers[np.array(multi_first, dtype=np.int64)])
    table = pa.concat_tables(tables) if tables else None
    lines_out = np.concatenate(record_lines) if record_lines else np.zeros(0, np.int64)
    texts = [_text(arr[lines.starts[r] : lines.ends[r]].tobytes()) for r in bad_rows.tolist()]
    return _Block(table, lines_out, numbers[bad_rows].tolist(), texts, done, int(np.count_nonzero(lines.starts < done)))


def _parse_single_lines(arr: np.ndarray, lines: _Lines, rows: np.ndarray, names: list[str]) -> pa.Table:
    data = _slices(arr, lines, rows)
    try:
        table = _pyarrow_parse(data, names)
        if table.num_rows == len(rows):
            return table
    except pa.ArrowInvalid:
        pass
    # pyarrow disagreed with the line classification: split these lines exactly instead.
    return _csv_rows([_text(arr[lines.starts[r] : lines.ends[r]].tobytes()) for r in rows.tolist()], names)


# ----------------------------------------------------------------------------- records


def json_strings(values: pa.Array) -> pa.Array:
    """Each string as a JSON string literal, quotes included (vectorized; control characters escaped)."""
    out = pc.replace_substring(pc.replace_substring(values, "\\", "\\\\"), '"', '\\"')
    control = pc.fill_null(pc.match_substring_regex(out, r"[\x00-\x1f]"), False)
    if pc.any(control).as_py():
        rows = pc.indices_nonzero(control)
        escaped = pc.take(out, rows)
        for code in range(32):
            escaped = pc.replace_substring(escaped, chr(code), json.dumps(chr(code))[1:-1])
        out = pc.replace_with_mask(out, control, escaped)
    return pc.binary_join_element_wise('"', out, '"', "")


def _json_object(columns: dict[str, pa.Array]) -> pa.Array:
    """One JSON object per row from text columns (never null)."""
    pieces: list = []
    for i, (name, values) in enumerate(columns.items()):
        pieces += [("{" if i == 0 else ", ") + json.dumps(name, ensure_ascii=False) + ": ", json_strings(values)]
    pieces.append("}")
    return pc.binary_join_element_wise(*pieces, "")


def _to_records(table: pa.Table, lines: np.ndarray, header: FileHeader, entity: Entity, source_name: str) -> pa.Table:
    """Contract columns (null where the file lacks them) + META_COLUMNS."""
    n = table.num_rows
    columns = {c: table.column(c).combine_chunks() if c in header.names else pa.nulls(n, pa.string()) for c in entity.columns}
    if header.extra:
        extras = {c: table.column(c).combine_chunks() for c in header.extra}
        columns["extra_columns"] = _json_object(extras)
        # What full-row dedupe compares: the extra values trimmed, like every other column.
        columns["extra_key"] = _json_object({c: pc.utf8_trim_whitespace(v) for c, v in extras.items()})
    else:
        columns["extra_columns"] = columns["extra_key"] = pa.nulls(n, pa.string())
    missing_reason = "|".join(f"missing_column:{c}" for c in header.missing if c in entity.required_columns)
    columns["missing_columns"] = pa.repeat(pa.scalar(missing_reason or None, pa.string()), n)
    columns["source_file"] = pa.repeat(pa.scalar(source_name, pa.string()), n)
    columns["source_line"] = pa.array(lines, pa.int64())
    return pa.table(columns)


def empty_records(entity: Entity) -> pa.Table:
    schema = [(c, pa.string()) for c in entity.columns]
    schema += [("extra_columns", pa.string()), ("extra_key", pa.string()), ("missing_columns", pa.string())]
    schema += [("source_file", pa.string()), ("source_line", pa.int64())]
    return pa.schema(schema).empty_table()


def empty_malformed() -> pa.Table:
    return pa.schema([("source_file", pa.string()), ("source_line", pa.int64()), ("raw_text", pa.string())]).empty_table()


def _malformed_table(source_name: str, lines: list[int], texts: list[str]) -> pa.Table:
    return pa.table(
        {
            "source_file": pa.array([source_name] * len(lines), pa.string()),
            "source_line": pa.array(lines, pa.int64()),
            "raw_text": pa.array(texts, pa.string()),
        }
    )


# ----------------------------------------------------------------------------- reading a file


def _valid_utf8(data: bytes) -> bool:
    """Arrow's validation of the bytes as one string, without copying them."""
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int32))
    try:
        pa.Array.from_buffers(pa.binary(), 1, [None, offsets, pa.py_buffer(data)]).cast(pa.string())
    except pa.ArrowInvalid:
        return False
    return True


def _header_fields(text: str) -> list[str]:
    try:
        return next(csv.reader(io.StringIO(text, newline="")))
    except (csv.Error, StopIteration):
        return text.split(",")


def _read_header(handle, path: str, block_bytes: int) -> tuple[list[str], int, bytes, bool, int]:
    """(header names, header line number, the bytes after the header, header repaired, first data line).

    The header is the first line that is not blank; a quoted name that spans lines takes
    the lines up to the next line with an odd number of quotes, as a record would.
    """
    data = b""
    while True:  # the leading blank lines and the header may be longer than a block
        more = handle.read(block_bytes)
        data += more
        if data.startswith(codecs.BOM_UTF8):
            data = data[3:]
        if data.startswith(_UTF16_BOMS):
            raise RawInputError(f"cannot read raw file {path}: {_WIDE_ENCODING}")
        if data.startswith(_GZIP_MAGIC):
            raise RawInputError(f"cannot read raw file {path}: it is gzip-compressed; name it .csv.gz")
        arr = np.frombuffer(data, dtype=np.uint8)
        lines = _Lines.of(arr, at_eof=not more)
        first = next((i for i in range(len(lines)) if not _is_blank(data[lines.starts[i] : lines.ends[i]])), None)
        if first is not None:
            last = first
            content = data[lines.starts[first] : lines.ends[first]]
            if content.count(b'"') % 2:
                partner = next((j for j in range(first + 1, len(lines)) if data[lines.starts[j] : lines.ends[j]].count(b'"') % 2), None)
                if partner is None and more and len(data) <= MAX_RECORD_BYTES:
                    continue  # the quoted name may close in the next block
                if partner is not None and _RECORD.fullmatch(data[lines.starts[first] : lines.ends[partner]]):
                    last, content = partner, data[lines.starts[first] : lines.ends[partner]]
            if b"\x00" in content:  # UTF-16 without a byte-order mark: every other byte of a name is NUL
                raise RawInputError(f"cannot read raw file {path}: its header holds NUL bytes: {_WIDE_ENCODING}")
            names = normalize_header(_header_fields(_text(content)))
            return names, first + 1, data[lines.next_starts[last] :], not _valid_utf8(content), last + 2
        if not more:
            return [], 0, b"", False, 0
        if len(data) > MAX_RECORD_BYTES:
            raise RawInputError(f"cannot read raw file {path}: no header line in its first {MAX_RECORD_BYTES >> 20} MB")


def iter_file_blocks(store: Store, rel: str, entity: Entity, block_bytes: int) -> Iterator:
    """Read a file in blocks of about ``block_bytes``, cut where no record is open.

    Yields ``FileHeader`` first, then ``(records, malformed, encoding_repaired)`` per block,
    with the physical line numbers of the whole file. Memory is bounded by the block size
    (and ``MAX_RECORD_BYTES`` for a record that spans blocks).
    """
    path, source_name = store.display(rel), rel.rpartition("/")[2]
    try:
        with store.open_input_stream(rel) as handle:
            names, header_line, carry, repaired, next_line = _read_header(handle, path, block_bytes)
            missing = [c for c in entity.columns if c not in names]
            extra = [c for c in names if c not in entity.columns]
            unmatched = bool(names) and len(missing) == len(entity.columns)
            header = FileHeader(names, missing, extra, header_line, unmatched, repaired)
            yield header
            if not names:
                return
            line = next_line
            at_eof = False
            to_read = block_bytes
            while not at_eof:
                more = handle.read(to_read)
                at_eof = not more
                data = carry + more
                # Only whole lines are parsed now; a terminator is one ASCII byte, so cutting after
                # it never splits a UTF-8 character.
                cut = len(data) if at_eof else max(data.rfind(b"\n"), data.rfind(b"\r")) + 1
                head, tail = data[:cut], data[cut:]
                repaired = not _valid_utf8(head)
                if repaired:  # a stray non-UTF-8 byte (latin-1 export): read those bytes as latin-1
                    head = _text(head).encode("utf-8")
                block = _parse_block(head, names, line, at_eof)
                carry = head[block.consumed :] + tail
                if block.consumed == 0 and not at_eof:
                    if len(carry) > MAX_RECORD_BYTES and cut == 0:
                        raise RawInputError(f"cannot read raw file {path}: line {line} is longer than {MAX_RECORD_BYTES >> 20} MB (not a CSV file?)")
                    to_read = max(len(carry), block_bytes)  # an open record longer than a block: read on
                    continue
                to_read = block_bytes
                line += block.lines_consumed
                if block.table is None and not block.malformed_lines:
                    continue
                records = _to_records(block.table, block.lines, header, entity, source_name) if block.table is not None else empty_records(entity)
                yield records, _malformed_table(source_name, block.malformed_lines, block.malformed_texts), repaired
    except (OSError, pa.ArrowInvalid) as exc:
        raise RawInputError(f"cannot read raw file {path}: {_reason(exc)}") from None


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    if "zlib" in text.lower() or "gzip" in text.lower():
        return f"not a valid gzip file ({text})"
    return text
