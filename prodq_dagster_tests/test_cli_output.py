"""What the command line prints and the ``prodq`` command itself, run as a user runs them.

The installed ``prodq`` script (and ``python -m prodq_dagster``) in a subprocess on a
generated range: a line per day as it finishes, the roll-up and the verdict; ``--quiet``
prints the verdict only; ``--json`` prints one JSON document whose numbers are the
reports'; no Dagster log line and no alert that cannot apply to a CLI run is printed;
``prodq report`` rebuilds the HTML pages; ``prodq generate`` writes sample data.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO_ROOT

PRODQ = Path(sys.executable).parent / "prodq"
DAYS = ("2025-12-10", "2025-12-11")


def prodq(args: list, home: Path, *, script: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRODQ_")}
    env["DAGSTER_HOME"] = str(home)
    command = [str(PRODQ)] if script else [sys.executable, "-m", "prodq_dagster"]
    return subprocess.run([*command, *map(str, args)], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def feed(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cli_output")
    home = root / "home"
    home.mkdir()
    done = prodq(["generate", "--out_dir", root / "raw", "--start", DAYS[0], "--end", DAYS[1],
                  "--customers", 60, "--events", 600, "--orders", 80, "--low-volume-day", DAYS[1]], home)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (root / "raw" / "manifest.json").is_file()
    return root


def _run(feed: Path, name: str, *extra) -> tuple[subprocess.CompletedProcess, Path]:
    out = feed / name
    args = ["run", "--data-dir", feed / "raw", "--out-dir", out / "data", "--reports-dir", out / "reports", "--start", DAYS[0], "--end", DAYS[1], *extra]
    return prodq(args, feed / "home"), out


def test_text_output_has_a_line_per_day_a_rollup_and_a_verdict(feed):
    done, out = _run(feed, "text")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    report = json.loads((out / "reports" / f"ingest_date={DAYS[0]}" / "validation_report.json").read_text())
    first = next(line for line in lines if line.startswith(f"[1/2] {DAYS[0]}  ok"))
    assert f"events {report['events']['total']:,} in / {report['events']['clean']:,} clean" in first
    assert any(line.startswith(f"[2/2] {DAYS[1]}  ok") for line in lines)
    assert any(line.startswith("Totals over 2 processed day(s)") for line in lines)
    assert f"HTML report: {out / 'reports' / 'index.html'}" in lines
    assert lines[-1].startswith("Done: 2 days, 2 ok, 0 failed; alerts ")
    # Dagster's own log lines stay out of the default output, and the freshness alert (it needs
    # the sensor's arrival record, which a CLI run never has) is not listed as skipped.
    said = done.stdout + done.stderr
    assert " - dagster - " not in said and "RUN_START" not in said
    assert "late_raw_partition" not in said


def test_quiet_prints_the_verdict_only(feed):
    done, _ = _run(feed, "quiet", "--quiet")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [done.stdout.strip()]
    assert done.stdout.startswith("Done: 2 days, 2 ok, 0 failed; alerts ")


def test_json_is_one_document_with_the_reports_numbers(feed):
    done, out = _run(feed, "json", "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)  # nothing but the document on stdout
    assert [d["day"] for d in document["days"]] == list(DAYS)
    for day in document["days"]:
        report = json.loads((out / "reports" / f"ingest_date={day['day']}" / "validation_report.json").read_text())
        alerts = json.loads((out / "reports" / f"ingest_date={day['day']}" / "alerts.json").read_text())
        assert day["status"] == "ok"
        for entity in ("customers", "events", "orders"):
            counts = day["entities"][entity]
            assert (counts["total"], counts["clean"], counts["quarantine"]) == (
                report[entity]["total"], report[entity]["clean"], report[entity]["quarantine"],
            )  # fmt: skip
        assert [a["type"] for a in day["alerts"]] == [a["type"] for a in alerts["alerts"]]
    totals = document["totals"]["events"]
    assert totals["total"] == sum(d["entities"]["events"]["total"] for d in document["days"])
    assert document["verdict"].startswith("Done: 2 days, 2 ok, 0 failed")
    assert document["exit_code"] == 0
    assert document["outputs"]["index_html"] == str(out / "reports" / "index.html")


def test_underscore_flags_and_python_m_are_the_same_command(feed):
    out = feed / "underscore"
    args = ["--data_dir", feed / "raw", "--out_dir", out / "data", "--reports_dir", out / "reports", "--date", DAYS[0], "--quiet"]
    done = prodq(args, feed / "home", script=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Done: 1 day, 1 ok, 0 failed")


def test_report_rebuilds_the_html_from_existing_outputs(feed):
    done, out = _run(feed, "rebuild", "--quiet")
    assert done.returncode == 0, done.stderr
    page = out / "reports" / f"ingest_date={DAYS[0]}" / "report.html"
    index = out / "reports" / "index.html"
    page.unlink()
    index.unlink()
    rebuilt = prodq(["report", "--out-dir", out / "data", "--reports-dir", out / "reports"], feed / "home")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert page.is_file() and index.is_file()
    assert str(page) in rebuilt.stdout.splitlines()
    assert f'href="ingest_date={DAYS[1]}/report.html"' in index.read_text()


def test_a_bad_argument_is_one_line_for_every_command(feed, tmp_path):
    for args in (["run", "--data-dir", tmp_path / "nope", "--out-dir", tmp_path, "--date", DAYS[0]],
                 ["report", "--out-dir", tmp_path / "empty"],
                 ["run", "--data-dir", feed / "raw", "--out-dir", tmp_path, "--date", DAYS[0], "--quiet", "--json"]):  # fmt: skip
        done = prodq(args, feed / "home")
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert done.stdout == "" and len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert done.stderr.startswith("prodq: error: ")
