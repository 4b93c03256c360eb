"""Two CLI processes for the same day at the same time: both succeed, the outputs stay whole.

The CLI takes ``ProdqStorage.partition_lock`` (an ``flock`` on ``<out_dir>/.locks/ingest_date=D.lock``)
around each day's run, so two runs of one partition never overlap; partition files are
replaced atomically, so a reader never sees a half-written file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from prodq_dagster.resources import ProdqStorage
from prodq_dagster.settings import ProdqSettings

from .conftest import REPO_ROOT

DAY = "2025-12-10"
ENTITIES = ("customers", "events", "orders")


def partition_lock(out_dir: str, day: date):
    """The lock the CLI takes around a day's run, for the output root ``out_dir``."""
    return ProdqStorage(settings=ProdqSettings(out_dir=out_dir)).partition_lock(day)


def generate(raw: Path, start: str, end: str) -> None:
    subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "generate_data.py"), "--out_dir", str(raw), "--start", start, "--end", end,
         "--customers", "100", "--events", "1000", "--orders", "100"],
        check=True, capture_output=True, cwd=REPO_ROOT,
    )


def cli_env(dagster_home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRODQ_")}
    env.update(DAGSTER_HOME=str(dagster_home), PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")])))
    env.update(extra)
    return env


def start_cli(work: Path, env: dict[str, str], day: str = DAY) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "prodq_dagster", "--data_dir", "raw", "--out_dir", "out", "--date", day],
        cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def finish(proc: subprocess.Popen, timeout: float = 240) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"CLI did not finish in {timeout}s\n{out}\n{err}")
    return proc.returncode, out, err


def partition_files(root: Path) -> list[Path]:
    return sorted(root.rglob("part-*.parquet"))


def hidden_files(*roots: Path) -> list[Path]:
    """Leftover temporary files (hidden names, or under a hidden folder such as .staging/), ignoring
    the lock files under .locks/ (the empty hidden folders themselves hold nothing)."""
    found = []
    for root in roots:
        for path in root.rglob("*"):
            rel = path.relative_to(root)
            if rel.parts[0] == ".locks" or path.is_dir():
                continue
            if any(part.startswith(".") for part in rel.parts):
                found.append(path)
    return found


def test_two_cli_processes_for_the_same_day(tmp_path, dagster_home):
    work = tmp_path
    generate(work / "raw", DAY, DAY)
    # Slow every write a little before its rename, so the two processes really contend.
    env = cli_env(dagster_home, PRODQ_TEST_SLOW_WRITE_SECONDS="0.05")

    procs = [start_cli(work, env), start_cli(work, env)]
    results = [finish(p) for p in procs]
    for code, out, err in results:
        assert code == 0, f"exit {code}\nstdout:\n{out}\nstderr:\n{err}"
        assert out.startswith(f"[1/1] {DAY}  ok"), out

    out_dir, reports = work / "out", work / "reports"
    report = json.loads((reports / f"ingest_date={DAY}" / "validation_report.json").read_text())
    assert json.loads((reports / f"ingest_date={DAY}" / "alerts.json").read_text())["ingest_date"] == DAY

    # Every partition file is readable.
    files = partition_files(out_dir)
    assert files, "no partition written"
    tables = {path: pq.read_table(path) for path in files}
    assert all(p.parent.name == f"ingest_date={DAY}" for p in files)
    for folder in {p.parent for p in files}:
        assert [f.name for f in folder.iterdir()] == ["part-0.parquet"], f"extra files in {folder}"

    # Row counts equal the report (the last writer's report matches the last writer's files).
    for entity in ENTITIES:
        clean = tables[out_dir / "clean" / entity / f"ingest_date={DAY}" / "part-0.parquet"].num_rows
        quarantine = tables[out_dir / "quarantine" / entity / f"ingest_date={DAY}" / "part-0.parquet"].num_rows
        section = report[entity]
        assert (clean, quarantine) == (section["clean"], section["quarantine"]), entity
        assert section["total"] == clean + quarantine + section["dropped_duplicates"], entity
    manifest = json.loads((work / "raw" / "manifest.json").read_text())["days"][DAY]["expected"]
    for entity in ENTITIES:
        assert report[entity]["clean"] == manifest[entity]["clean"], entity

    assert hidden_files(out_dir, reports) == []
    assert (out_dir / ".locks" / f"ingest_date={DAY}.lock").exists()

    # Both runs are on the shared instance, both succeeded, and they did not overlap in time.
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        records = instance.get_run_records(filters=dg.RunsFilter(tags={"dagster/partition": DAY}))
        assert len(records) == 2
        assert {r.dagster_run.status for r in records} == {dg.DagsterRunStatus.SUCCESS}
        a, b = sorted((r.start_time, r.end_time) for r in records)
        assert a[1] <= b[0], f"the two runs of {DAY} overlapped: {a} {b}"
        assert report["run_id"] in {r.dagster_run.run_id for r in records}


def blocked_on_flock(pid: int) -> bool | None:
    """True when ``pid`` waits for an flock (Linux /proc/locks); None when that cannot be known."""
    try:
        text = Path("/proc/locks").read_text()
    except OSError:
        return None
    return any("->" in line and "FLOCK" in line and str(pid) in line.split() for line in text.splitlines())


def test_cli_waits_for_a_held_partition_lock(tmp_path, dagster_home):
    """While the lock of D is held, a CLI run of D does not start; it runs once the lock is released."""
    work = tmp_path
    generate(work / "raw", DAY, DAY)
    out_dir = work / "out"
    acquired, release = threading.Event(), threading.Event()

    def hold():
        with partition_lock(str(out_dir.resolve()), date.fromisoformat(DAY)):
            acquired.set()
            release.wait(120)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert acquired.wait(10)
        proc = start_cli(work, cli_env(dagster_home))
        deadline = time.time() + 60
        while time.time() < deadline and proc.poll() is None:
            blocked = blocked_on_flock(proc.pid)
            if blocked is None:  # no /proc/locks: give the CLI time to reach the lock
                time.sleep(8)
                break
            if blocked:
                break
            time.sleep(0.2)
        else:
            pytest.fail("the CLI never waited for the partition lock")
        time.sleep(0.5)
        assert proc.poll() is None, "the CLI finished while the partition lock was held"
        assert not (out_dir / "clean").exists(), "the CLI wrote a partition while the lock was held"
        released_at = time.time()
    finally:
        release.set()
        holder.join()
    code, out, err = finish(proc)
    assert code == 0, err
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        (record,) = instance.get_run_records(filters=dg.RunsFilter(tags={"dagster/partition": DAY}))
        assert record.start_time >= released_at - 0.5


HOLDER = """
import sys, time
from datetime import date
from prodq_dagster.resources import ProdqStorage
from prodq_dagster.settings import ProdqSettings
with ProdqStorage(settings=ProdqSettings(out_dir=sys.argv[1])).partition_lock(date.fromisoformat(sys.argv[2])):
    print("held", time.time(), flush=True)
    time.sleep(float(sys.argv[3]))
    print("released", time.time(), flush=True)
"""


def hold_in_process(out_dir: Path, day: str, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(out_dir), day, str(seconds)],
        cwd=REPO_ROOT, env=cli_env(out_dir), stdout=subprocess.PIPE, text=True,
    )
    kind, _ = proc.stdout.readline().split()
    assert kind == "held"
    return proc


def test_partition_lock_serializes_processes(tmp_path):
    other = hold_in_process(tmp_path, DAY, 1.0)
    try:
        with partition_lock(str(tmp_path), date.fromisoformat(DAY)):
            got_at = time.time()
        kind, released_at = other.stdout.readline().split()
        assert kind == "released"
        assert got_at >= float(released_at) - 0.05, "acquired the lock while another process held it"
    finally:
        other.wait(10)

    # Another day's lock is independent: it is free while D's is held.
    other = hold_in_process(tmp_path, DAY, 1.0)
    try:
        start = time.time()
        with partition_lock(str(tmp_path), date(2025, 12, 11)):
            assert time.time() - start < 0.5
    finally:
        other.wait(10)
