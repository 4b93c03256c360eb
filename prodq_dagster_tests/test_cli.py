"""The real command line (``python -m prodq_dagster``) in a subprocess.

A generated three-day range is run end to end and the whole output tree is checked
against the generator's manifest; bad arguments must exit 2 with one line on stderr
and write nothing; a range with missing day folders processes the days it has.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq
import pytest

from .conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "scripts"))
import generate_data  # noqa: E402

D1, D2, D3 = "2025-12-10", "2025-12-11", "2025-12-12"
ENTITY_NAMES = ("customers", "events", "orders")


def run_cli(args: list[str], dagster_home: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRODQ_")}
    env["DAGSTER_HOME"] = str(dagster_home)
    return subprocess.run(
        [sys.executable, "-m", "prodq_dagster", *[str(a) for a in args]],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _part(root: Path, *parts: str, day: str) -> Path:
    return root.joinpath(*parts, f"ingest_date={day}", "part-0.parquet")


def _files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()] if path.exists() else []


def test_cli_range_matches_the_manifest(tmp_path, dagster_home):
    raw = tmp_path / "raw"
    manifest = generate_data.generate(
        raw, D1, D3, seed=3, customers=200, events=3000, orders=400, partial_load_every=2
    )
    out = tmp_path / "data"
    reports = tmp_path / "reports"  # the default: 'reports' beside --out_dir

    proc = run_cli(["--data_dir", raw, "--out_dir", out, "--start", D1, "--end", D3], dagster_home)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    for position, day in enumerate((D1, D2, D3), start=1):
        summary = [line for line in lines if line.startswith(f"[{position}/3] {day}  ok")]
        assert len(summary) == 1, proc.stdout

    # One run of the whole chain per day, run day after day (a day's look-backs read the days before it).
    with dg.DagsterInstance.get() as instance:
        newest_first = instance.get_runs()
    runs = {r.tags["dagster/partition"]: r for r in newest_first}
    assert sorted(runs) == [D1, D2, D3] and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs.values())
    assert [r.tags["dagster/partition"] for r in reversed(newest_first)] == [D1, D2, D3]

    for day in (D1, D2, D3):
        expected = manifest["days"][day]["expected"]
        report_dir = reports / f"ingest_date={day}"
        report = json.loads((report_dir / "validation_report.json").read_text(encoding="utf-8"))
        assert (report_dir / "alerts.json").is_file()
        assert report["ingest_date"] == day
        for entity in ENTITY_NAMES:
            section, want = report[entity], expected[entity]
            for key in ("total", "clean", "quarantine", "dropped_duplicates"):
                assert section[key] == want[key], (day, entity, key)
            assert {code: n for code, n in section["by_reason"].items() if n} == want["by_reason"], (day, entity)

            clean = pq.read_table(_part(out, "clean", entity, day=day))
            quarantine = pq.read_table(_part(out, "quarantine", entity, day=day))
            assert clean.num_rows == section["clean"], (day, entity)
            assert quarantine.num_rows == section["quarantine"], (day, entity)
            reasons = quarantine.column("reject_reason").to_pylist()
            assert all(isinstance(r, str) and r.strip() for r in reasons), (day, entity)

        hourly = pq.read_table(_part(out, "metrics", "hourly_events", day=day)).to_pandas().sort_values("hour")
        assert hourly["hour"].tolist() == list(range(24))
        assert hourly["event_count"].tolist() == expected["events"]["hourly_clean_events"], day
        daily = pq.read_table(_part(out, "metrics", "daily_metrics", day=day)).to_pylist()
        assert len(daily) == 1
        assert daily[0]["events_outside_day"] == expected["events"]["events_outside_day"], day

    # The partition folders make one dataset with an ingest_date column.
    events = pd.read_parquet(out / "clean" / "events")
    counts = events["ingest_date"].astype(str).value_counts().to_dict()
    assert counts == {day: manifest["days"][day]["expected"]["events"]["clean"] for day in (D1, D2, D3)}


def _future_day() -> str:
    return (datetime.now(timezone.utc).date() + timedelta(days=3)).isoformat()


BAD_ARGUMENTS = {
    "unparseable_date": lambda raw: ["--data_dir", raw, "--start", "2025-13-45", "--end", D1],
    "future_date": lambda raw: ["--data_dir", raw, "--start", D1, "--end", _future_day()],
    "start_after_end": lambda raw: ["--data_dir", raw, "--start", D2, "--end", D1],
    "missing_data_dir": lambda raw: ["--data_dir", raw.parent / "no_such_folder", "--start", D1, "--end", D1],
    "no_day_folder_in_range": lambda raw: ["--data_dir", raw, "--start", "2025-06-01", "--end", "2025-06-03"],
}


@pytest.mark.parametrize("case", sorted(BAD_ARGUMENTS))
def test_bad_arguments_exit_2_and_write_nothing(case, tmp_path, dagster_home):
    raw = tmp_path / "raw"
    generate_data.generate(raw, D1, D1, customers=5, events=10, orders=5)
    out = tmp_path / "data"
    proc = run_cli([*BAD_ARGUMENTS[case](raw), "--out_dir", out], dagster_home, timeout=120)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    stderr_lines = proc.stderr.splitlines()
    assert len(stderr_lines) == 1 and stderr_lines[0].strip(), proc.stderr
    assert _files_under(out) == []
    assert _files_under(tmp_path / "reports") == []


def test_range_with_missing_day_folders_processes_the_others(tmp_path, dagster_home):
    raw = tmp_path / "raw"
    generate_data.generate(raw, D1, D3, seed=5, customers=20, events=200, orders=30)
    shutil.rmtree(raw / f"ingest_date={D2}")
    out = tmp_path / "data"
    reports = tmp_path / "my_reports"

    proc = run_cli(
        ["--data_dir", raw, "--out_dir", out, "--reports_dir", reports, "--start", D1, "--end", D3],
        dagster_home,
    )
    assert proc.returncode == 0, proc.stderr
    mentions = [line for line in proc.stdout.splitlines() if D2 in line]
    assert mentions and any("no raw folder" in line for line in mentions), proc.stdout
    for day in (D1, D3):
        assert (reports / f"ingest_date={day}" / "validation_report.json").is_file()
        assert _part(out, "clean", "events", day=day).is_file()
    assert not (reports / f"ingest_date={D2}").exists()
    assert not _part(out, "clean", "events", day=D2).exists()
    # --reports_dir was honoured: nothing went to the default location.
    assert not (tmp_path / "reports").exists()


def test_a_failed_day_stops_the_later_days(tmp_path, dagster_home):
    """A failed day exits 1 and the later days are not run: their customer master and volume
    baseline would read the failed day's missing partitions."""
    raw = tmp_path / "raw"
    generate_data.generate(raw, datetime(2025, 12, 1).date(), datetime(2025, 12, 3).date(), customers=50, events=300, orders=50)
    broken = raw / "ingest_date=2025-12-02"
    (broken / "events_raw.csv").unlink()
    (broken / "events_raw.csv.gz").write_bytes(b"this is not gzip data")
    result = run_cli(
        ["--data_dir", str(raw), "--out_dir", str(tmp_path / "data"), "--start", "2025-12-01", "--end", "2025-12-03"],
        dagster_home,
    )
    assert result.returncode == 1, result.stderr
    assert "[2/3] 2025-12-02  failed" in result.stdout
    assert "[3/3] 2025-12-03  not run: an earlier day of the range failed" in result.stdout
    assert "Done: 3 days, 1 ok, 1 failed, 1 not run" in result.stdout
    assert "events_raw.csv.gz" in result.stderr and "Traceback" not in result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "reports" / "ingest_date=2025-12-01" / "alerts.json").exists()
    # The later day was not run at all: no output, no report, no Dagster run.
    assert not (tmp_path / "reports" / "ingest_date=2025-12-03").exists()
    assert not (tmp_path / "data" / "clean" / "events" / "ingest_date=2025-12-03").exists()
    assert not (tmp_path / "data" / "clean" / "customers" / "ingest_date=2025-12-03").exists()
    with dg.DagsterInstance.get() as instance:
        assert sorted(r.tags["dagster/partition"] for r in instance.get_runs()) == ["2025-12-01", "2025-12-02"]
