"""Regressions from a hostile pass over storage locations, settings and the ``report`` command.

Each case is something a user can type; each must end in one clear line on stderr (exit 2)
or a clear per-day message, never a traceback or a hang, and a bad location must be caught
before anything is written.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO_ROOT
from .services import S3Service

DAY = "2025-12-01"


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile_cli") / "raw"
    done = subprocess.run(
        [sys.executable, "-m", "prodq_dagster", "generate", "--out_dir", str(root), "--start", DAY, "--end", DAY,
         "--customers", "20", "--events", "100", "--orders", "20"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return root


def prodq(args: list, home: Path, extra_env: dict | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRODQ_", "AWS_"))}
    env.update(DAGSTER_HOME=str(home), **(extra_env or {}))
    return subprocess.run([sys.executable, "-m", "prodq_dagster", *map(str, args)], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip


def assert_one_line_usage_error(done: subprocess.CompletedProcess, *needles: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stdout == "" and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert done.stderr.startswith("prodq: error: ") and "Traceback" not in done.stderr
    for needle in needles:
        assert needle in done.stderr, done.stderr


def nothing_under(path: Path) -> bool:
    return not path.exists() or not any(p.is_file() for p in path.rglob("*"))


@pytest.mark.parametrize(
    "location, needle",
    [("s3://", "names no bucket"), ("gs://bucket/prefix", "only local folders and s3://"), ("ftp://host/x", "only local folders and s3://")],
)
def test_unsupported_or_bucketless_urls_are_one_line(raw, tmp_path, location, needle):
    as_out = prodq(["--data-dir", raw, "--out-dir", location, "--reports-dir", tmp_path / "rep", "--date", DAY], tmp_path / "home")
    assert_one_line_usage_error(as_out, needle)
    as_raw = prodq(["--data-dir", location, "--out-dir", tmp_path / "out", "--date", DAY], tmp_path / "home", timeout=60)
    assert_one_line_usage_error(as_raw, needle)
    assert nothing_under(tmp_path / "out") and nothing_under(tmp_path / "rep")


@pytest.mark.skipif(not Path("/sys").is_dir(), reason="needs /sys, a folder even root cannot write")
@pytest.mark.parametrize("flag", ["--out-dir", "--reports-dir"])
def test_an_unwritable_location_is_caught_before_anything_is_written(raw, tmp_path, flag):
    args = {"--out-dir": tmp_path / "out", "--reports-dir": tmp_path / "rep", flag: "/sys/prodq-test/x"}
    done = prodq(["--data-dir", raw, "--date", DAY, *[v for kv in args.items() for v in kv]], tmp_path / "home")
    assert_one_line_usage_error(done, flag, "not writable")
    assert nothing_under(tmp_path / "out") and nothing_under(tmp_path / "rep")


@pytest.mark.parametrize("flag", ["--out-dir", "--reports-dir"])
def test_outputs_inside_the_raw_folder_are_refused(raw, tmp_path, flag):
    args = {"--out-dir": tmp_path / "out", "--reports-dir": tmp_path / "rep", flag: raw}
    done = prodq(["--data-dir", raw, "--date", DAY, *[v for kv in args.items() for v in kv]], tmp_path / "home")
    assert_one_line_usage_error(done, "inside --data-dir")
    assert sorted(p.name for p in (raw / f"ingest_date={DAY}").iterdir()) == ["customers_raw.csv", "events_raw.csv", "orders_raw.csv"]


def test_a_bad_schedule_timezone_names_the_variable(raw, tmp_path):
    done = prodq(["--data-dir", raw, "--out-dir", tmp_path / "out", "--date", DAY], tmp_path / "home", {"PRODQ_SCHEDULE_TIMEZONE": "Mars/Olympus"})
    assert_one_line_usage_error(done, "PRODQ_SCHEDULE_TIMEZONE")


def test_a_lock_dir_that_is_a_file_is_one_line(raw, tmp_path, s3_service: S3Service):
    (tmp_path / "afile").write_text("x")
    env = {**s3_service.env(), "PRODQ_LOCK_DIR": str(tmp_path / "afile")}
    out = s3_service.uri(f"lockdir-{tmp_path.name}")
    done = prodq(["--data-dir", raw, "--out-dir", f"{out}/out", "--reports-dir", f"{out}/rep", "--date", DAY], tmp_path / "home", env)
    assert_one_line_usage_error(done, "PRODQ_LOCK_DIR")


def test_report_needs_a_reports_dir_with_a_url_out_dir(tmp_path):
    assert_one_line_usage_error(prodq(["report", "--out-dir", "s3://bucket/out"], tmp_path / "home"), "--reports-dir is required")


def test_report_without_the_outputs_of_a_day_says_so_and_goes_on(raw, tmp_path):
    out, rep = tmp_path / "out", tmp_path / "rep"
    ran = prodq(["--data-dir", raw, "--out-dir", out, "--reports-dir", rep, "--date", DAY, "--quiet"], tmp_path / "home")
    assert ran.returncode == 0, ran.stderr
    done = prodq(["report", "--out-dir", tmp_path / "elsewhere", "--reports-dir", rep], tmp_path / "home")
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()] and f"prodq: {DAY}: no HTML report" in done.stderr
    assert (rep / "index.html").is_file()


def test_one_huge_value_does_not_stall_the_day(raw, tmp_path):
    """A 200,000-character value once took minutes (e-mail masking rescanned it from every
    position); the run must finish well inside the subprocess timeout, with the row quarantined."""
    import shutil

    day_dir = tmp_path / "raw" / f"ingest_date={DAY}"
    shutil.copytree(raw / f"ingest_date={DAY}", day_dir)
    with open(day_dir / "events_raw.csv", "a", encoding="utf-8") as handle:
        handle.write(f'EHUGE,C1,{DAY}T07:12:14Z,{"A" * 200_000},web,S1,12,{DAY}\n')
    done = prodq(["--data-dir", tmp_path / "raw", "--out-dir", tmp_path / "out", "--date", DAY, "--json"], tmp_path / "home", timeout=120)
    assert done.returncode == 0, done.stderr
    import json

    events = json.loads(done.stdout)["days"][0]["entities"]["events"]
    assert events["by_reason"].get("invalid_event_type", 0) >= 1
