"""The HTML report pages (``core/html_report.py``) as a real command-line run writes them.

A fixture generates three days of raw data (days 1 and 3 lose six UTC hours of events,
day 3 has 30% of the volume), appends a few hostile event rows to day 3's feed, and runs
``python -m prodq_dagster`` over them in a subprocess with a two-day volume baseline, so
day 1 is a warning (hourly coverage), day 2 ok and day 3 critical (volume drop) with a
baseline. The ``html_report`` asset of that run writes ``reports/ingest_date=D/report.html``
and ``reports/index.html``; the tests read those files. Where a test needs the page inputs
it gets them as the asset does, from ``prodq_dagster.reporting`` over a ``ProdqStorage``
with the run's settings, and the expected values come from the run's JSON reports and a
direct read of its Parquet outputs. The run is shared with ``test_browser.py``.
"""

from __future__ import annotations

import csv
import json
import os
import re
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from prodq_dagster import reporting
from prodq_dagster.core.html_report import ENTITIES, DayPage, IndexRow, day_status, render_day, render_index
from prodq_dagster.core.privacy import mask_email_text
from prodq_dagster.resources import ProdqStorage
from prodq_dagster.settings import ProdqSettings

REPO_ROOT = Path(__file__).resolve().parent.parent
DAYS = [date(2025, 12, 1), date(2025, 12, 2), date(2025, 12, 3)]
BASELINE_DAYS = 2  # PRODQ_VOLUME_BASELINE_DAYS of the run: day 3 gets a volume baseline
HOSTILE_SCRIPT = "<script>alert(1)</script>"
HOSTILE_ATTR = '"><img src=x onerror=alert(2)>'
HOSTILE_LONG = "9" * 10_000
# The quarantine partition is ordered by primary key and the page samples its first rows
# (one per reject reason first); "-" sorts before the digits of the generated ids, so the
# three hostile rows (one per reason) are in day 3's sample.
HOSTILE_ID = "E-HOSTILE-"


# --------------------------------------------------------------------------- the run


def run_pipeline(root: Path) -> dict[str, Path]:
    """Generate 3 days, add hostile rows to day 3, run the CLI; the run's folders."""
    raw, out, reports, home = root / "raw", root / "out", root / "reports", root / "dagster_home"
    home.mkdir(parents=True)
    generate = [
        sys.executable, str(REPO_ROOT / "scripts" / "generate_data.py"), "--out_dir", str(raw),
        "--start", DAYS[0].isoformat(), "--end", DAYS[-1].isoformat(),
        "--customers", "300", "--events", "3000", "--orders", "300",
        "--partial-load-every", "2", "--low-volume-day", DAYS[-1].isoformat(),
    ]  # fmt: skip
    subprocess.run(generate, check=True, capture_output=True, text=True, timeout=300)
    day = DAYS[-1].isoformat()
    with open(raw / f"ingest_date={day}" / "events_raw.csv", "a", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([f"{HOSTILE_ID}1", "C00000001", f"{day}T10:00:00Z", HOSTILE_SCRIPT, "web", "S1", "100", day])
        writer.writerow([f"{HOSTILE_ID}2", "C00000001", f"{day}T10:00:01Z", "login", HOSTILE_ATTR, "S2", "100", day])
        writer.writerow([f"{HOSTILE_ID}3", "C00000001", f"{day}T10:00:02Z", "login", "web", "S3", HOSTILE_LONG, day])
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRODQ_")}
    env.update(DAGSTER_HOME=str(home), PRODQ_VOLUME_BASELINE_DAYS=str(BASELINE_DAYS))
    cli = [
        sys.executable, "-m", "prodq_dagster", "--data_dir", str(raw), "--out_dir", str(out),
        "--reports_dir", str(reports), "--start", DAYS[0].isoformat(), "--end", DAYS[-1].isoformat(),
    ]  # fmt: skip
    done = subprocess.run(cli, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return {"raw": raw, "out": out, "reports": reports}


_RUNS: dict[str, dict[str, Path]] = {}


def shared_run(tmp_path_factory) -> dict[str, Path]:
    """One run per test session for this module and ``test_browser.py`` (both only read it)."""
    key = str(tmp_path_factory.getbasetemp())
    if key not in _RUNS:
        _RUNS[key] = run_pipeline(tmp_path_factory.mktemp("html_run"))
    return _RUNS[key]


def run_storage(run: dict[str, Path]) -> ProdqStorage:
    """The storage resource of the run, with the run's volume baseline (its PRODQ_VOLUME_BASELINE_DAYS)."""
    settings = ProdqSettings(
        raw_dir=str(run["raw"]), out_dir=str(run["out"]), reports_dir=str(run["reports"]), volume_baseline_days=BASELINE_DAYS
    )
    return ProdqStorage(settings=settings)


def day_html(run: dict[str, Path], day: date) -> Path:
    """Where the run wrote the day's page."""
    return run["reports"] / f"ingest_date={day.isoformat()}" / "report.html"


def index_html(run: dict[str, Path]) -> Path:
    return run["reports"] / "index.html"


# --------------------------------------------------------------------------- expected values, read directly


def _partition(root: Path, dataset: str, day: date) -> Path:
    return root / dataset / f"ingest_date={day.isoformat()}"


def read_report(run: dict[str, Path], day: date, name: str) -> dict:
    """A JSON report of the run (``validation_report.json`` or ``alerts.json``)."""
    return json.loads((run["reports"] / f"ingest_date={day.isoformat()}" / name).read_text(encoding="utf-8"))


def read_metrics_row(out: Path, day: date) -> dict:
    return pq.read_table(_partition(out, "metrics/daily_metrics", day)).to_pylist()[0]


def read_hourly_counts(out: Path, day: date) -> list[int]:
    """The clean events per UTC hour, placed by the ``hour`` column."""
    counts = [0] * 24
    for row in pq.read_table(_partition(out, "metrics/hourly_events", day)).to_pylist():
        counts[int(row["hour"])] = int(row["event_count"])
    return counts


def read_quarantine(out: Path, entity: str, day: date) -> list[dict]:
    folder = _partition(out, f"quarantine/{entity}", day)
    return pq.read_table(folder).to_pylist() if folder.exists() else []


# --------------------------------------------------------------------------- reading the pages back


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    parts: list[str] = field(default_factory=list)
    end: int | None = None  # index in Page.elements just past the element's last descendant

    @property
    def text(self) -> str:
        return "".join(self.parts)


_VOID = {"meta", "br", "img", "input", "link", "hr", "wbr", "source", "area", "base", "col", "embed", "param", "track"}


class Page(HTMLParser):
    """Every element with its attributes and its whole text (entities decoded)."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.elements.append(element)
        if tag not in _VOID:
            self._open.append(element)

    def handle_startendtag(self, tag, attrs):
        self.elements.append(Element(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag):
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i].tag == tag:
                for element in self._open[i:]:
                    element.end = len(self.elements)
                del self._open[i:]
                return

    def handle_data(self, data):
        for element in self._open:
            element.parts.append(data)

    def find(self, **attrs) -> list[Element]:
        return [e for e in self.elements if all(e.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())]

    def metrics(self) -> dict[str, Element]:
        found: dict[str, Element] = {}
        for e in self.elements:
            if "data-metric" in e.attrs:
                found.setdefault(e.attrs["data-metric"], e)
        return found

    def chart(self, name: str) -> Element:
        (svg,) = [e for e in self.elements if e.tag == "svg" and e.attrs.get("data-chart") == name]
        return svg

    def plotted(self, name: str) -> list[Element]:
        """The elements with data-value inside the chart's <svg> (document order)."""
        svg = self.chart(name)
        return [e for e in self.elements[self.elements.index(svg) + 1 : svg.end] if "data-value" in e.attrs]


def shown_number(text: str) -> float:
    return float(text.replace(",", "").replace("%", "").strip())


_FETCHING_TAGS = {"script", "link", "img", "iframe", "frame", "object", "embed", "video", "audio", "source", "track", "base", "image", "use", "form", "input"}
_FETCHING_ATTRS = {"src", "srcset", "action", "formaction", "poster", "xlink:href", "background", "ping", "data", "manifest"}


def assert_self_contained(document: str) -> None:
    """No resource reference of any kind: nothing the page could fetch, no script, no handler."""
    assert document.startswith("<!DOCTYPE html>")
    lowered = document.lower()
    assert "http://" not in lowered and "https://" not in lowered
    assert "\x00" not in document
    parsed = Page(document)
    for element in parsed.elements:
        assert element.tag not in _FETCHING_TAGS, element.tag
        for name, value in element.attrs.items():
            assert name not in _FETCHING_ATTRS and not name.startswith("on"), name
            assert "url(" not in value.lower() and "@import" not in value.lower()
            if name == "href":
                assert value and not value.startswith(("//", "\\")) and ":" not in value, value
    styles = "".join(e.text for e in parsed.elements if e.tag == "style").lower()
    assert styles and "url(" not in styles and "@import" not in styles and "//" not in styles


# --------------------------------------------------------------------------- fixtures


@dataclass
class DayView:
    """A day of the run: the page the run wrote, its inputs as ``reporting`` gathers them, its JSON reports."""

    page: DayPage  # reporting.day_page(storage, day)
    document: str  # reports/ingest_date=D/report.html as written by the run
    parsed: Page
    report: dict  # validation_report.json
    alerts: dict  # alerts.json


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict[str, Path]:
    return shared_run(tmp_path_factory)


@pytest.fixture(scope="module")
def storage(run) -> ProdqStorage:
    return run_storage(run)


@pytest.fixture(scope="module")
def pages(run, storage) -> dict[date, DayView]:
    built = {}
    for day in DAYS:
        document = day_html(run, day).read_text(encoding="utf-8")
        built[day] = DayView(
            reporting.day_page(storage, day),
            document,
            Page(document),
            read_report(run, day, "validation_report.json"),
            read_report(run, day, "alerts.json"),
        )
    return built


# --------------------------------------------------------------------------- day page


def test_the_run_covers_the_cases(run, storage, pages):
    """The fixture's days are what the other tests rely on: warning, ok, critical; every day has
    its page and the index lists them; the inputs ``reporting`` gathers render exactly the pages
    the run wrote."""
    assert reporting.report_days(storage) == DAYS
    statuses = [day_status(pages[d].alerts) for d in DAYS]
    assert statuses == ["warning", "ok", "critical"]
    assert pages[DAYS[0]].page.volume_baseline is None and pages[DAYS[2]].page.volume_baseline is not None
    for day in DAYS:
        view = pages[day]
        assert view.page.report == view.report and view.page.alerts == view.alerts
        assert render_day(view.page) == view.document, day
    assert render_index(reporting.index_rows(storage)) == index_html(run).read_text(encoding="utf-8")


def test_accounting_cells_equal_the_report(pages):
    for day in DAYS:
        view = pages[day]
        metrics = view.parsed.metrics()
        for entity in ENTITIES:
            section = view.report[entity]
            for key in ("total", "clean", "quarantine", "dropped_duplicates", "malformed"):
                cell = metrics[f"{entity}.{key}"]
                assert int(cell.attrs["data-value"]) == section[key], (day, entity, key)
                assert int(shown_number(cell.text)) == section[key]
                if key != "total":
                    rate = float(metrics[f"{entity}.{key}_rate"].attrs["data-value"])
                    assert rate == pytest.approx(section[key] / section["total"])
            assert section["total"] == section["clean"] + section["quarantine"] + section["dropped_duplicates"]
            assert metrics[f"{entity}.conservation_ok"].attrs["data-value"] == "true"
        fired = view.alerts["alerts"]
        assert int(metrics["alerts.critical"].attrs["data-value"]) == sum(a["severity"] == "critical" for a in fired)
        assert int(metrics["alerts.warning"].attrs["data-value"]) == sum(a["severity"] == "warning" for a in fired)
        status = metrics["day.status"]
        assert status.attrs["data-value"] == status.text == day_status(view.alerts)


def test_coverage_strip_has_every_hour_and_flags_empty_ones(run, pages):
    empty_days = 0
    for day in DAYS:
        view = pages[day]
        hourly = read_hourly_counts(run["out"], day)
        assert view.page.hourly_counts == hourly
        cells = [e for e in view.parsed.plotted("coverage") if "data-hour" in e.attrs]
        assert [int(e.attrs["data-hour"]) for e in cells] == list(range(24))
        assert [int(e.attrs["data-value"]) for e in cells] == hourly
        assert [e.attrs["data-empty"] == "true" for e in cells] == [c == 0 for c in hourly]
        empty = [h for h, c in enumerate(hourly) if c == 0]
        labels = [e for e in view.parsed.elements if e.attrs.get("class") == "empty-label"]
        assert len(labels) == len(empty) and all(e.text == "empty" for e in labels)
        assert int(view.parsed.metrics()["coverage.empty_hours"].attrs["data-value"]) == len(empty)
        empty_days += bool(empty)
        coverage_alerts = [a for a in view.alerts["alerts"] if a["type"] == "hourly_coverage"]
        if coverage_alerts:
            assert coverage_alerts[0]["details"]["empty_hours"] == empty
    assert empty_days == 2  # days 1 and 3 lost six hours


def test_reason_charts_and_combinations_equal_the_report(pages):
    view = pages[DAYS[2]]
    for entity in ENTITIES:
        bars = view.parsed.plotted(f"reasons-{entity}")
        assert {b.attrs["data-label"]: int(b.attrs["data-value"]) for b in bars} == view.report[entity]["by_reason"]
        values = [int(b.attrs["data-value"]) for b in bars]
        assert values == sorted(values, reverse=True)
        combos = [int(e.attrs["data-value"]) for e in view.parsed.find(data_metric=f"{entity}.reason_combination")]
        assert combos == [c["count"] for c in view.report[entity]["top_reason_combinations"]]


def test_unknown_values_alerts_and_volume(run, pages):
    view = pages[DAYS[2]]
    parsed = view.parsed
    for entity in ENTITIES:
        expected = {(col, v["value"]): v["rows"] for col, items in view.report[entity]["unknown_values"].items() for v in items}
        (section,) = [e for e in parsed.elements if e.tag == "section" and e.attrs.get("data-entity") == entity]
        inside = parsed.elements[parsed.elements.index(section) : section.end]
        rows = [e for e in inside if e.tag == "tr" and "data-unknown" in e.attrs]
        assert {(e.attrs["data-column"], e.attrs["data-unknown"]) for e in rows} == set(expected)
        cells = [int(e.attrs["data-value"]) for e in parsed.find(data_metric=f"{entity}.unknown.rows")]
        assert sorted(cells) == sorted(expected.values())
    assert any(v["value"] == HOSTILE_SCRIPT for items in view.report["events"]["unknown_values"].values() for v in items)

    alert_rows = [e for e in parsed.elements if e.tag == "tr" and "data-alert-type" in e.attrs]
    assert [(e.attrs["data-alert-type"], e.attrs["data-severity"]) for e in alert_rows] == sorted(
        ((a["type"], a["severity"]) for a in view.alerts["alerts"]), key=lambda t: t[1] != "critical"
    )
    (skipped,) = [e for e in parsed.elements if e.tag == "details" and "data-skipped" in e.attrs]
    assert int(skipped.attrs["data-skipped"]) == len(view.alerts["skipped"])
    for item in view.alerts["skipped"]:
        assert item["reason"] in skipped.text

    # the baseline shown is the volume alert's, which is the median clean events of the baseline days
    (drop,) = [a for a in view.alerts["alerts"] if a["type"] == "volume_drop"]
    prior = [read_metrics_row(run["out"], DAYS[2] - timedelta(days=back))["events_clean"] for back in range(1, BASELINE_DAYS + 1)]
    metrics = parsed.metrics()
    baseline = float(metrics["volume.baseline"].attrs["data-value"])
    assert baseline == drop["details"]["baseline_median"] == view.page.volume_baseline == statistics.median(prior)
    assert int(metrics["volume.clean"].attrs["data-value"]) == view.report["events"]["clean"] == drop["details"]["clean_events"]
    diff = float(metrics["volume.diff_pct"].attrs["data-value"])
    assert diff == pytest.approx(-drop["details"]["drop_ratio"] * 100, abs=0.01)
    assert [e.attrs["data-series"] for e in parsed.plotted("volume")] == ["clean", "baseline"]

    first = pages[DAYS[0]].parsed
    assert "no baseline yet" in first.metrics()["volume.baseline"].text
    assert [e.attrs["data-series"] for e in first.plotted("volume")] == ["clean"]


def _matches(sampled: dict, stored: dict) -> bool:
    """``sampled`` is ``stored`` masked, less columns that are null in ``stored``."""
    masked = {c: mask_email_text(v) if isinstance(v, str) else v for c, v in stored.items()}
    return set(sampled) <= set(stored) and all(masked[c] == sampled[c] if c in sampled else masked[c] is None for c in masked)


def test_samples_are_quarantined_rows_masked(run, pages):
    """Every sampled row is a row of the day's quarantine partition (read directly), masked; every
    reject reason of the partition has a row in the sample."""
    for day in DAYS:
        for entity in ENTITIES:
            stored = read_quarantine(run["out"], entity, day)
            sample = pages[day].page.samples[entity]
            assert stored and 0 < len(sample) <= reporting.SAMPLE_ROWS, (day, entity)
            unused = list(stored)
            for row in sample:
                match = next((s for s in unused if _matches(row, s)), None)
                assert match is not None, (day, entity, row)
                unused.remove(match)
            reasons = {r["reject_reason"] for r in stored}
            assert len(reasons) <= reporting.SAMPLE_ROWS and {r["reject_reason"] for r in sample} == reasons
    stored_customers = read_quarantine(run["out"], "customers", DAYS[0])
    assert any("@" in str(r.get("email") or "") and "***@" not in str(r["email"]) for r in stored_customers)  # there is something to mask


def test_samples_show_reason_file_and_line_masked(pages):
    view = pages[DAYS[0]]
    for entity in ENTITIES:
        (table,) = view.parsed.find(data_table=f"sample-{entity}")
        assert table.tag == "table"
        rows = view.page.samples[entity]
        assert rows and all({"reject_reason", "source_file", "source_line"} <= set(r) for r in rows)
        for row in rows:
            assert row["reject_reason"] in table.text and row["source_file"] in table.text
    assert "***@" in view.document  # the sampled customers' addresses, masked
    assert not re.search(r"[\w.+-]{2,}@", view.document)


def test_hostile_raw_values_from_the_run_are_escaped(run, pages):
    view = pages[DAYS[2]]
    document = view.document
    hostile = [r for r in view.page.samples["events"] if str(r.get("event_id", "")).startswith(HOSTILE_ID)]
    assert len(hostile) == 3
    stored = [r for r in read_quarantine(run["out"], "events", DAYS[2]) if str(r["event_id"]).startswith(HOSTILE_ID)]
    assert any(len(str(r["duration_ms"])) > 200 for r in stored)  # the long value reached the page's input
    assert HOSTILE_SCRIPT not in document and "<img" not in document
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in document
    assert "onerror=alert(2)&gt;" in document and "&quot;&gt;&lt;img" in document
    assert HOSTILE_LONG[:200] not in document
    sample_cells = [e for e in view.parsed.elements if e.tag == "td" and e.attrs.get("class") == "raw"]
    assert sample_cells and max(len(e.text) for e in sample_cells) < 120
    assert any(e.text.startswith("9999") for e in sample_cells)  # the long value is shown, cut
    assert_self_contained(document)


def _hostile_page() -> DayPage:
    nasty = ["<script>alert(1)</script>", 'say "hi" & \'bye\'', "nul\x00byte\x07bell\u202eevil", "x" * 10_000, "\ud800lone"]
    entity = {
        "total": 10, "clean": 5, "quarantine": 4, "dropped_duplicates": 1, "malformed": 1, "conservation_ok": True,
        "feed_present": True, "by_reason": {v: 1 for v in nasty}, "by_warning": {nasty[0]: 2},
        "top_reason_combinations": [{"reject_reason": v, "count": 1} for v in nasty],
        "unknown_values": {nasty[1]: [{"value": v, "rows": 1, "share": 0.1, "spellings": [v]} for v in nasty]},
        "duplicates": {"full_row": 1, "id": 0},
        "schema": {"missing_columns": [nasty[0]], "extra_columns": [nasty[3]], "unmatched_headers": {nasty[0]: nasty[2]}},
        "files": [nasty[0]], "encoding_repaired_files": [nasty[2]],
    }  # fmt: skip
    report = {"ingest_date": "2025-12-09", "rule_set_version": nasty[0], "run_id": nasty[1], "unmatched_files": nasty}
    report.update({e: entity for e in ENTITIES})
    alerts = {
        "alerts": [{"type": v, "severity": "critical", "message": v, "details": {v: v}} for v in nasty],
        "skipped": [{"type": v, "reason": v} for v in nasty],
    }
    sample = [{"reject_reason": v, "source_file": v, "source_line": 7, "customer_id": v, nasty[0]: v} for v in nasty]
    hourly = [0] * 12 + [5] * 12
    return DayPage(date(2025, 12, 9), report, alerts, hourly, 100.0, {e: sample for e in ENTITIES}, index_href="../index.html")


def test_hostile_values_are_escaped_and_cut():
    document = render_day(_hostile_page())
    assert "<script" not in document.lower()
    assert document.count("&lt;script&gt;alert(1)&lt;/script&gt;") > 10
    assert "\x00" not in document and "\x07" not in document and "\u202e" not in document
    assert "nul\\x00byte\\x07bell\\u202eevil" in document
    assert "\ud800" not in document
    document.encode("utf-8")  # no lone surrogate left
    assert "x" * 360 not in document  # raw cells are cut at 80, alert messages at 240, alert details at 360
    assert len(document) < 200_000
    assert 'say &quot;hi&quot; &amp; &#x27;bye&#x27;' in document
    parsed = Page(document)
    assert not [e for e in parsed.elements if e.tag in {"script", "img"}]
    for e in parsed.elements:
        for name, value in e.attrs.items():
            assert name.isascii() and not name.startswith("on"), name
            assert len(value) <= 1000
    assert_self_contained(document)


def test_day_page_needs_24_hours():
    with pytest.raises(ValueError, match="24"):
        DayPage(date(2025, 12, 1), {}, {}, [1] * 23, None, {})


def test_links_to_other_hosts_are_dropped():
    bad = ["https://example.org/x", "//example.org/x", "javascript:alert(1)", "data:text/html,x", "\\\\host\\x"]
    rows = [IndexRow(date(2025, 12, i + 1), "ok", 0, 0, 1, None, {}, None, {}, href) for i, href in enumerate(bad)]
    document = render_index(rows)
    assert 'data-link="day"' not in document
    for href in bad:
        assert href not in document
    page = DayPage(date(2025, 12, 1), {}, {}, [1] * 24, None, {}, index_href="https://example.org/")
    assert "example.org" not in render_day(page)


# --------------------------------------------------------------------------- index page


def test_index_from_the_run_equals_the_metrics(run, pages):
    document = index_html(run).read_text(encoding="utf-8")
    assert_self_contained(document)
    parsed = Page(document)
    table_rows = [e for e in parsed.elements if e.tag == "tr" and "data-day" in e.attrs]
    assert [e.attrs["data-day"] for e in table_rows] == [d.isoformat() for d in reversed(DAYS)]
    links = [e for e in parsed.elements if e.tag == "a" and e.attrs.get("data-link") == "day"]
    assert [a.attrs["href"] for a in links] == [f"ingest_date={d.isoformat()}/report.html" for d in reversed(DAYS)]
    assert all((run["reports"] / a.attrs["href"]).is_file() for a in links)
    clean = [int(e.attrs["data-value"]) for e in parsed.find(data_metric="events.clean")]
    metrics = [read_metrics_row(run["out"], d) for d in reversed(DAYS)]
    assert clean == [m["events_clean"] for m in metrics] == [pages[d].report["events"]["clean"] for d in reversed(DAYS)]
    for entity in ENTITIES:
        rates = [float(e.attrs["data-value"]) for e in parsed.find(data_metric=f"quarantine_rate.{entity}")]
        assert rates == [m[f"{entity}_quarantine_rate"] for m in metrics]
    for key, severity in (("alerts.critical", "critical"), ("alerts.warning", "warning")):
        shown = [int(e.attrs["data-value"]) for e in parsed.find(data_metric=key)]
        assert shown == [sum(a["severity"] == severity for a in pages[d].alerts["alerts"]) for d in reversed(DAYS)]
    statuses = [e.attrs["data-status"] for e in table_rows]
    assert statuses == ["critical", "ok", "warning"]
    points = parsed.plotted("trend-events-clean")
    assert [int(p.attrs["data-value"]) for p in points if p.attrs["data-series"] == "clean events"] == clean[::-1]
    # the trailing median: only day 3 has one, the volume alert's
    (drop,) = [a for a in pages[DAYS[2]].alerts["alerts"] if a["type"] == "volume_drop"]
    baseline = [p for p in points if p.attrs["data-series"] == "trailing median"]
    assert [float(p.attrs["data-value"]) for p in baseline] == [drop["details"]["baseline_median"]]
    assert len(parsed.plotted("trend-quarantine-rate")) == 9
    durations = [float(p.attrs["data-value"]) for p in parsed.plotted("trend-duration-p95")]
    assert durations == [m["duration_ms_p95"] for m in reversed(metrics)]
    amounts = parsed.plotted("trend-amount-p95")
    currencies = sorted({k.removeprefix("amount_p95_") for m in metrics for k, v in m.items() if k.startswith("amount_p95_") and v is not None})
    assert currencies and {p.attrs["data-series"] for p in amounts} == set(currencies)
    for currency in currencies:
        shown = [float(p.attrs["data-value"]) for p in amounts if p.attrs["data-series"] == currency]
        assert shown == [m[f"amount_p95_{currency}"] for m in reversed(metrics) if m[f"amount_p95_{currency}"] is not None], currency


def synthetic_rows(n: int = 60) -> list[IndexRow]:
    start = date(2025, 10, 1)
    currencies = ["AUD", "BRL", "CAD", "CHF", "EUR", "GBP", "INR", "JPY", "MXN", "USD"]
    rows = []
    for i in range(n):
        day = start + timedelta(days=i)
        if i in (20, 41):
            rows.append(IndexRow(day, "missing" if i == 20 else "failed", 0, 0, None, None, {}, None, {}, ""))
            continue
        rows.append(
            IndexRow(
                day=day,
                status=["ok", "warning", "critical"][i % 3],
                alerts_critical=int(i % 3 == 2),
                alerts_warning=(i % 3 == 1) * 2,
                events_clean=50_000 + 137 * i,
                events_baseline=None if i < 7 else 50_000.0 + 100 * i,
                quarantine_rate={"customers": 0.04 + i / 1e4, "events": 0.07, "orders": 0.08 + (i % 5) / 100},
                duration_ms_p95=None if i == 30 else 400_000.0 - i,
                amount_p95={c: 300.0 + i + k for k, c in enumerate(currencies)},
                href=f"ingest_date={day.isoformat()}/report.html",
            )
        )
    return rows


def test_index_for_60_days_is_small_and_links_every_day():
    rows = synthetic_rows(60)
    document = render_index(rows)
    size = len(document.encode("utf-8"))
    assert size < 1_000_000, size
    assert size < 400_000, size  # well under: about 0.2 MB
    assert_self_contained(document)
    parsed = Page(document)
    links = [e for e in parsed.elements if e.tag == "a" and e.attrs.get("data-link") == "day"]
    assert len(links) == 58  # the missing and the failed day have no page
    day_rows = [e for e in parsed.elements if e.tag == "tr" and "data-day" in e.attrs]
    assert len(day_rows) == 60
    assert [e.attrs["data-day"] for e in day_rows] == sorted((e.attrs["data-day"] for e in day_rows), reverse=True)
    # gaps: the days without values split the lines
    svg_polylines = {}
    current = None
    for e in parsed.elements:
        if e.tag == "svg":
            current = e.attrs["data-chart"]
        elif e.tag == "polyline":
            svg_polylines[current] = svg_polylines.get(current, 0) + 1
    assert svg_polylines["trend-duration-p95"] == 4  # split at day 20, 30 and 41
    assert svg_polylines["trend-events-clean"] == 3 + 3  # split at days 20 and 41; the baseline starts on day 7
    assert len(parsed.plotted("trend-amount-p95")) == 58 * 10


def test_index_with_60_links():
    rows = [
        IndexRow(date(2025, 10, 1) + timedelta(days=i), "ok", 0, 0, 100 + i, 100.0, {e: 0.1 for e in ENTITIES}, 1.0, {"EUR": 2.0}, f"ingest_date={date(2025, 10, 1) + timedelta(days=i)}/report.html")
        for i in range(60)
    ]
    document = render_index(rows)
    assert len(re.findall(r'<a href="ingest_date=\d{4}-\d\d-\d\d/report\.html" data-link="day">', document)) == 60
    assert len(document.encode("utf-8")) < 1_000_000
