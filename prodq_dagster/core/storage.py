"""The one storage layer: every file prodq reads or writes goes through a ``Store``.

A store is a root: a local folder (the default) or an object-store URL such as
``s3://bucket/prefix``, reached through ``pyarrow.fs``: the filesystem layer Arrow's
Parquet and CSV readers use natively, with S3, GCS, HDFS and Azure built in (no extra
dependency), so one ``FileSystem`` object passes straight to the Parquet writer and reader.

Publication is atomic on both kinds of root. A file is first written whole under the
root's hidden ``.staging/`` folder, then moved to its final name. On a local disk the move
is a rename, which replaces the old file atomically; on an object store it is a
server-side copy to the final key (an object appears whole or not at all, so a reader sees
the old version or the new one, never a part) followed by a delete of the staged key. The
other files of the target folder are removed after the move, so a rerun replaces a
partition whole. Names starting with ``.`` are never part of a dataset (pyarrow and pandas
skip them). Staged files older than an hour belong to a writer that died and are deleted;
their ages come from the same listing, and a delete of a file another run removed first is
not an error, so runs sharing a root never trip over each other's cleanup.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import functools
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

PART_FILE = "part-0.parquet"
# Hidden folders of a root: files being written, and local spill files of a run.
STAGING = ".staging"
SCRATCH = ".scratch"
DAY_PREFIX = "ingest_date="
# A hidden temp file this old belongs to a writer that died (killed mid-write).
ABANDONED_AFTER_SECONDS = 3600


class StorageError(Exception):
    """A location that cannot be used: an unreachable root, or an output that cannot be read back."""


@dataclass(frozen=True)
class Entry:
    """One entry of a folder listing."""

    name: str
    is_dir: bool
    size: int  # -1 for a link that points nowhere
    mtime: float  # seconds since the epoch; 0 when unknown

    @property
    def is_hidden(self) -> bool:
        return self.name.startswith(".")


# URL schemes prodq is tested with (S3 and S3-compatible stores such as MinIO).
URL_SCHEMES = ("s3",)


def _resolve(uri: str) -> tuple[pafs.FileSystem, str]:
    if is_url(uri):
        scheme = uri.split("://", 1)[0].lower()
        if scheme not in URL_SCHEMES:
            raise StorageError(f"cannot open the storage location {uri}: only local folders and {', '.join(s + '://' for s in URL_SCHEMES)} URLs are supported")
        try:
            fs, base = pafs.FileSystem.from_uri(uri)
        except (pa.ArrowInvalid, OSError) as exc:
            raise StorageError(f"cannot open the storage location {uri}: {exc}") from None
        if not base.strip("/"):
            raise StorageError(f"cannot open the storage location {uri}: it names no bucket (s3://bucket/prefix)")
        return fs, base.rstrip("/")
    local = uri.removeprefix("file://")
    return pafs.LocalFileSystem(), str(Path(local).resolve())


def _before_replace_hook() -> None:
    """Test hook: PRODQ_TEST_SLOW_WRITE_SECONDS makes a write pause before it publishes."""
    delay = os.environ.get("PRODQ_TEST_SLOW_WRITE_SECONDS")
    if delay:
        time.sleep(float(delay))


def parquet_options(schema: pa.Schema) -> dict:
    """Writer options of every partition file: zstd, column statistics for non-text columns only
    (no reader here prunes on text, and their statistics are costly to write)."""
    text = (pa.types.is_string, pa.types.is_large_string, pa.types.is_binary)
    stats = [f.name for f in schema if not any(is_text(f.type) for is_text in text)]
    return {"compression": "zstd", "write_statistics": stats}


def is_url(location: str) -> bool:
    """An object-store URL (``s3://...``) rather than a local folder."""
    return "://" in location and not location.startswith("file://")


def open_store(location: str) -> Store:
    """The store of a root, made once per process (an object-store client is costly to create)."""
    if not is_url(location):
        location = str(Path(location.removeprefix("file://")).resolve())
    return _cached_store(location)


@functools.lru_cache(maxsize=32)
def _cached_store(location: str) -> Store:
    return Store(location)


def partition_dir(dataset: str, day: date | str) -> str:
    """``<dataset>/ingest_date=D``, relative to a store's root."""
    return f"{dataset}/{DAY_PREFIX}{day if isinstance(day, str) else day.isoformat()}"


def partition_file(dataset: str, day: date | str, name: str = PART_FILE) -> str:
    return f"{partition_dir(dataset, day)}/{name}"


class Store:
    """A root (local folder or object-store URL) and the files under it."""

    def __init__(self, uri: str):
        self.uri = uri
        self.fs, self.base = _resolve(uri)

    @property
    def is_local(self) -> bool:
        return isinstance(self.fs, pafs.LocalFileSystem)

    def path(self, rel: str = "") -> str:
        return f"{self.base}/{rel}".rstrip("/") if rel else self.base

    def display(self, rel: str = "") -> str:
        """How a location is shown to people: the local path, or the URL."""
        if self.is_local:
            return self.path(rel)
        return f"{self.uri.rstrip('/')}/{rel}" if rel else self.uri

    # --------------------------------------------------------------- listing and reading

    def listdir(self, rel: str = "") -> list[Entry]:
        """The entries of a folder (empty when it does not exist), sorted by name."""
        if self.is_local:
            return self._list_local(self.path(rel))
        try:
            infos = self.fs.get_file_info(pafs.FileSelector(self.path(rel), allow_not_found=True))
        except OSError as exc:
            raise StorageError(f"cannot list {self.display(rel)}: {exc}") from None
        entries = [
            Entry(
                info.base_name,
                info.type == pafs.FileType.Directory,
                info.size if info.size is not None else 0,
                info.mtime.timestamp() if info.mtime else 0.0,
            )
            for info in infos
        ]
        return sorted(entries, key=lambda e: e.name)

    @staticmethod
    def _list_local(folder: str) -> list[Entry]:
        # os.scandir also lists a link that points nowhere (pyarrow's listing skips it), so a
        # feed file that is a dangling link is reported instead of silently missing.
        try:
            items = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            return []
        entries = []
        for item in items:
            try:
                stat = item.stat()
            except FileNotFoundError:  # a dangling link, or removed since the listing
                if not item.is_symlink():
                    continue
                entries.append(Entry(item.name, False, -1, 0.0))
                continue
            entries.append(Entry(item.name, item.is_dir(), stat.st_size, stat.st_mtime))
        return sorted(entries, key=lambda e: e.name)

    def is_dir(self, rel: str = "") -> bool:
        try:
            return self.fs.get_file_info(self.path(rel)).type == pafs.FileType.Directory
        except OSError:
            return False

    def exists(self, rel: str) -> bool:
        try:
            return self.fs.get_file_info(self.path(rel)).type != pafs.FileType.NotFound
        except OSError:
            return False

    def open_input_stream(self, rel: str):
        """A sequential binary stream (gzip files decompressed); ``read(n)`` and ``close()``."""
        stream = self.fs.open_input_stream(self.path(rel), compression="gzip" if rel.endswith(".gz") else None)
        return stream

    def open_input_file(self, rel: str):
        """A random-access binary file (``seek``, ``read``)."""
        return self.fs.open_input_file(self.path(rel))

    def read_json(self, rel: str) -> dict | None:
        """A JSON document, or None when it has not been written."""
        try:
            with self.fs.open_input_stream(self.path(rel)) as handle:
                return json.loads(handle.read().decode("utf-8"))
        except FileNotFoundError:
            return None
        except json.JSONDecodeError as exc:
            raise StorageError(f"cannot read {self.display(rel)}: not valid JSON ({exc})") from None

    # --------------------------------------------------------------- writing

    def _publish(self, temp: str, rel: str) -> None:
        _before_replace_hook()
        self.fs.move(self.path(temp), self.path(rel))

    def _delete(self, rel: str) -> None:
        try:
            self.fs.delete_file(self.path(rel))
        except FileNotFoundError:
            pass

    def write_bytes(self, rel: str, data: bytes) -> str:
        """Replace one file atomically; returns its displayed location."""
        self._remove_abandoned(STAGING)
        self.make_dirs(STAGING, rel.rpartition("/")[0])
        temp = f"{STAGING}/{uuid.uuid4().hex}"
        try:
            with self.fs.open_output_stream(self.path(temp)) as handle:
                handle.write(data)
            self._publish(temp, rel)
        finally:
            self._delete(temp)
        return self.display(rel)

    def write_json(self, rel: str, obj: dict) -> str:
        """Write a JSON document atomically (pretty-printed, keys in the order given)."""
        text = json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n"
        return self.write_bytes(rel, text.encode("utf-8"))

    # --------------------------------------------------------------- partitions

    def stage(self, schema: pa.Schema) -> StagedFile:
        """A new hidden Parquet file under ``.staging/``, to be filled and then published."""
        self._remove_abandoned(STAGING)
        return StagedFile(self, schema)

    def publish(self, staged: StagedFile, rel: str) -> str:
        """Move a staged file to ``rel`` (replacing what was there) and remove the other files
        of its folder; returns the displayed location."""
        staged.finish()
        self.make_dirs(rel.rpartition("/")[0])
        try:
            self._publish(staged.temp, rel)
        finally:
            self._delete(staged.temp)
        self.remove_stale(rel)
        return self.display(rel)

    def write_table(self, table: pa.Table, rel: str) -> str:
        """Replace the Parquet file ``rel`` with ``table``; returns its displayed location."""
        staged = self.stage(table.schema)
        try:
            staged.write(table)
        except BaseException:
            staged.abort()
            raise
        return self.publish(staged, rel)

    def read_table(self, rel: str, columns: list[str] | None = None, dictionary_columns: list[str] | None = None) -> pa.Table | None:
        """A Parquet file, or None when it has not been written. ``dictionary_columns`` are read
        dictionary-encoded, as Parquet stores them (no string per row)."""
        try:
            return pq.read_table(self.path(rel), columns=columns, read_dictionary=dictionary_columns, filesystem=self.fs)
        except FileNotFoundError:
            return None
        except (pa.ArrowInvalid, OSError) as exc:
            if not self.exists(rel):
                return None
            raise StorageError(f"cannot read the partition file {self.display(rel)} (damaged, or not written by prodq): {exc}") from None

    def read_head(self, rel: str, rows: int) -> pa.Table | None:
        """The first ``rows`` rows of a Parquet file (reading only the batches they are in), or None."""
        try:
            with self.fs.open_input_file(self.path(rel)) as handle:
                batches = pq.ParquetFile(handle).iter_batches(batch_size=rows)
                first = next(batches, None)
                return pa.Table.from_batches([first]) if first is not None else None
        except FileNotFoundError:
            return None
        except (pa.ArrowInvalid, OSError) as exc:
            raise StorageError(f"cannot read the partition file {self.display(rel)} (damaged, or not written by prodq): {exc}") from None

    def written_days(self, dataset: str, name: str = PART_FILE) -> list[date]:
        """The days that have a file ``name`` in their partition folder of ``dataset``, sorted
        (one recursive listing: on an object store, one request per thousand files)."""
        base = self.path(dataset)
        try:
            infos = self.fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True))
        except OSError as exc:
            raise StorageError(f"cannot list {self.display(dataset)}: {exc}") from None
        days = set()
        for info in infos:
            folder, _, file_name = info.path[len(base) + 1 :].rpartition("/")
            if file_name != name or info.type != pafs.FileType.File or not folder.startswith(DAY_PREFIX):
                continue
            try:
                days.add(date.fromisoformat(folder[len(DAY_PREFIX) :]))
            except ValueError:
                continue
        return sorted(days)

    def remove_stale(self, rel: str) -> None:
        """Remove the other visible files of a file's folder (hidden ones belong to live writers)."""
        folder, _, name = rel.rpartition("/")
        for entry in self.listdir(folder):
            if entry.name != name and not entry.is_dir and not entry.is_hidden:
                self._delete(f"{folder}/{entry.name}")

    def _remove_abandoned(self, folder: str) -> None:
        """Delete files of ``folder`` older than ``ABANDONED_AFTER_SECONDS`` (their writer died).

        The listing gives each file's age, so there is no separate look that a file removed
        meanwhile by another run could fail; deleting a file already gone is not an error.
        """
        now = time.time()
        for entry in self.listdir(folder):
            if not entry.is_dir and entry.mtime and now - entry.mtime > ABANDONED_AFTER_SECONDS:
                self._delete(f"{folder}/{entry.name}")

    def scratch_dir(self) -> str:
        """A local folder for temporary spill files: under a local root (same disk as the
        outputs), else under the system's temporary folder. Folders a killed run left there
        (older than ``ABANDONED_AFTER_SECONDS``) are removed."""
        folder = Path(self.path(SCRATCH)) if self.is_local else Path(tempfile.gettempdir()) / "prodq-scratch"
        folder.mkdir(parents=True, exist_ok=True)
        now = time.time()
        for entry in self._list_local(str(folder)):
            if entry.is_dir and entry.mtime and now - entry.mtime > ABANDONED_AFTER_SECONDS:
                shutil.rmtree(folder / entry.name, ignore_errors=True)  # another run may remove it first
        return str(folder)

    def make_dirs(self, *folders: str) -> None:
        """Create folders on a local root; an object store has no folders to create."""
        if self.is_local:
            for folder in folders:
                if folder:
                    self.fs.create_dir(self.path(folder), recursive=True)

    # --------------------------------------------------------------- coordination

    @contextlib.contextmanager
    def lock(self, name: str, fallback_dir: str):
        """Hold an exclusive lock named ``name`` between the processes of one machine.

        A local root keeps the lock file under ``<root>/.locks``; an object store has no
        lock primitive, so the lock file goes to ``fallback_dir`` (a local folder all
        processes of the machine share). Runs on several machines are kept apart by
        Dagster's run queue instead (its per-partition tag limit).
        """
        folder = Path(self.path(".locks")) if self.is_local else Path(fallback_dir)
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"{name}.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


class StagedFile:
    """A Parquet file written row group by row group under a hidden name, not yet visible.

    ``Store.publish`` moves it into place whole; ``abort`` deletes it, leaving the previous
    version of the target untouched.
    """

    def __init__(self, store: Store, schema: pa.Schema):
        self.store, self.schema = store, schema
        store.make_dirs(STAGING)
        self.temp = f"{STAGING}/{uuid.uuid4().hex}.parquet"
        self.writer: pq.ParquetWriter | None = pq.ParquetWriter(store.path(self.temp), schema, filesystem=store.fs, **parquet_options(schema))
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self.writer.write_table(table)
            self.rows += table.num_rows

    def finish(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def abort(self) -> None:
        self.finish()
        self.store._delete(self.temp)
