"""The HTML report pages in a real headless browser (Playwright driving the system's Chromium).

The pages are the ones a command-line run writes: the run of ``test_html_report.py`` over
three generated days (a warning day, an ok day and a critical day with a volume baseline,
empty hours and hostile raw values), whose ``html_report`` asset wrote
``ingest_date=D/report.html`` beside each day's JSON reports and ``index.html`` at the
reports root. They are opened from disk (``file://``). Checked: the SVG charts are drawn
(elements with ``data-value`` and a non-empty box), the numbers on the page equal the report
JSON and the metrics, and the page makes no request besides loading its own document.
Screenshots go to the test's ``tmp_path``.

The browser is Debian's ``chromium`` (``apt-get install chromium``), never one downloaded by
Playwright; without it (or without the ``playwright`` package) these tests are skipped.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from prodq_dagster import reporting
from prodq_dagster.core.html_report import ENTITIES, day_status

from .test_html_report import (
    DAYS,
    HOSTILE_ATTR,
    HOSTILE_SCRIPT,
    day_html,
    index_html,
    read_hourly_counts,
    read_metrics_row,
    read_report,
    run_storage,
    shared_run,
)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NO_CHROMIUM = "no chromium browser: apt-get install chromium"
DAY_CHARTS = ["volume", "coverage", *(f"reasons-{e}" for e in ENTITIES)]
INDEX_CHARTS = ["trend-events-clean", "trend-quarantine-rate", "trend-duration-p95", "trend-amount-p95"]

# Reads every hook of the page in one call: data-metric elements, and per chart the plotted elements.
_READ_PAGE = """() => {
  const metrics = {};
  for (const el of document.querySelectorAll('[data-metric]')) {
    const name = el.getAttribute('data-metric');
    if (!(name in metrics)) metrics[name] = {value: el.getAttribute('data-value'), text: el.textContent.trim()};
  }
  const charts = {};
  for (const svg of document.querySelectorAll('svg[data-chart]')) {
    const box = svg.getBoundingClientRect();
    const plotted = [...svg.querySelectorAll('[data-value]')].map(el => {
      const b = el.getBBox();
      return {tag: el.tagName, value: el.getAttribute('data-value'), hour: el.getAttribute('data-hour'),
              empty: el.getAttribute('data-empty'), label: el.getAttribute('data-label'),
              series: el.getAttribute('data-series'), width: b.width, height: b.height};
    });
    charts[svg.getAttribute('data-chart')] = {width: box.width, height: box.height, plotted,
      emptyLabels: [...svg.querySelectorAll('.empty-label')].map(t => t.textContent)};
  }
  return {metrics, charts,
          scripts: document.scripts.length,
          resources: performance.getEntriesByType('resource').map(r => r.name),
          text: document.body.innerText};
}"""


@pytest.fixture(scope="module")
def chromium_path() -> str:
    if not CHROMIUM:
        pytest.skip(NO_CHROMIUM)
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install -e '.[dev]'")
    return CHROMIUM


@pytest.fixture(scope="module")
def site(chromium_path, tmp_path_factory) -> dict:
    """The pages a real run wrote, with the day page inputs as ``reporting`` gathers them."""
    run = shared_run(tmp_path_factory)
    storage = run_storage(run)
    pages = {}
    for day in DAYS:
        path = day_html(run, day)
        assert path.is_file(), path
        reports = {name: read_report(run, day, name) for name in ("validation_report.json", "alerts.json")}
        pages[day] = (reporting.day_page(storage, day), reports["validation_report.json"], reports["alerts.json"], path)
    index = index_html(run)
    assert index.is_file(), index
    return {"run": run, "pages": pages, "index": index}


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path, headless=True)
        yield launched
        launched.close()


def open_page(browser, path: Path, screenshot: Path) -> dict:
    """Load ``path`` and read its hooks; every request, dialog and console error is recorded."""
    url = path.resolve().as_uri()
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    requests, dialogs, errors = [], [], []
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(url, wait_until="load")
        page.wait_for_load_state("networkidle")
        found = page.evaluate(_READ_PAGE)
        page.screenshot(path=str(screenshot), full_page=True)
    finally:
        context.close()
    # Chromium reports file:// loads too (a sub-resource, file or http, would show up here)
    assert requests == [url], f"requests besides the document: {[r for r in requests if r != url]}"
    assert found["resources"] == [], found["resources"]
    assert dialogs == [] and errors == [], (dialogs, errors)
    assert found["scripts"] == 0
    found["url"] = url
    return found


def _number(text: str) -> float:
    return float(text.replace(",", "").replace("%", "").strip())


def assert_charts_drawn(found: dict, names: list[str]) -> None:
    for name in names:
        chart = found["charts"].get(name)
        assert chart is not None, f"no <svg data-chart={name!r}>"
        assert chart["width"] > 100 and chart["height"] > 20, (name, chart["width"], chart["height"])
        assert chart["plotted"], f"{name}: nothing plotted"
        drawn = [p for p in chart["plotted"] if p["width"] > 0 and p["height"] > 0]
        nonzero = [p for p in chart["plotted"] if float(p["value"]) != 0]
        assert len(drawn) >= len(nonzero), f"{name}: {len(nonzero) - len(drawn)} element(s) not drawn"


def test_day_pages_in_the_browser(site, browser, tmp_path):
    for day in DAYS:
        page, report, alerts, path = site["pages"][day]
        shot = tmp_path / ("day.png" if day == DAYS[-1] else f"day-{day.isoformat()}.png")
        found = open_page(browser, path, shot)
        assert shot.stat().st_size > 10_000
        assert_charts_drawn(found, DAY_CHARTS)
        metrics = found["metrics"]

        # the row accounting shown equals the report
        for entity in ENTITIES:
            section = report[entity]
            for key in ("total", "clean", "quarantine", "dropped_duplicates", "malformed"):
                cell = metrics[f"{entity}.{key}"]
                assert int(cell["value"]) == section[key] == int(_number(cell["text"])), (day, entity, key)
            bars = found["charts"][f"reasons-{entity}"]["plotted"]
            assert {b["label"]: int(b["value"]) for b in bars} == section["by_reason"]

        # alerts and status
        fired = alerts["alerts"]
        assert int(metrics["alerts.critical"]["text"]) == sum(a["severity"] == "critical" for a in fired)
        assert int(metrics["alerts.warning"]["text"]) == sum(a["severity"] == "warning" for a in fired)
        assert metrics["day.status"]["text"].lower() == day_status(alerts)
        for alert in fired:
            assert alert["message"] in found["text"]

        # coverage: 24 cells with the hourly counts, empty ones labelled
        hourly = read_hourly_counts(site["run"]["out"], day)
        cells = [p for p in found["charts"]["coverage"]["plotted"] if p["hour"] is not None]
        assert [int(c["hour"]) for c in cells] == list(range(24))
        assert [int(c["value"]) for c in cells] == hourly
        assert [c["empty"] == "true" for c in cells] == [n == 0 for n in hourly]
        assert found["charts"]["coverage"]["emptyLabels"] == ["empty"] * hourly.count(0)

        # volume against the baseline: the volume alert's
        assert int(metrics["volume.clean"]["value"]) == report["events"]["clean"]
        drops = [a for a in fired if a["type"] == "volume_drop"]
        if page.volume_baseline is None:
            assert metrics["volume.baseline"]["text"] == "no baseline yet"
            assert not drops
        else:
            (drop,) = drops
            assert float(metrics["volume.baseline"]["value"]) == page.volume_baseline == drop["details"]["baseline_median"]
            assert _number(metrics["volume.diff_pct"]["text"]) == pytest.approx(-drop["details"]["drop_ratio"] * 100, abs=0.05)

    # the hostile raw values of the last day are shown as text, not run or parsed as markup
    assert page.volume_baseline is not None  # the last day had its baseline checked
    assert HOSTILE_SCRIPT in found["text"]
    assert HOSTILE_ATTR in found["text"]


def test_index_in_the_browser(site, browser, tmp_path):
    shot = tmp_path / "index.png"
    found = open_page(browser, site["index"], shot)
    assert shot.stat().st_size > 10_000
    assert_charts_drawn(found, INDEX_CHARTS)
    charts = found["charts"]

    metrics_rows = {d: read_metrics_row(site["run"]["out"], d) for d in DAYS}
    clean = [int(p["value"]) for p in charts["trend-events-clean"]["plotted"] if p["series"] == "clean events"]
    assert clean == [metrics_rows[d]["events_clean"] for d in DAYS] == [site["pages"][d][1]["events"]["clean"] for d in DAYS]
    rates = charts["trend-quarantine-rate"]["plotted"]
    for entity in ENTITIES:
        assert [float(p["value"]) for p in rates if p["series"] == entity] == [metrics_rows[d][f"{entity}_quarantine_rate"] for d in DAYS]
    assert [float(p["value"]) for p in charts["trend-duration-p95"]["plotted"]] == [metrics_rows[d]["duration_ms_p95"] for d in DAYS]

    # the newest day's cells (the table lists the newest day first) equal its metrics and alerts
    newest = DAYS[-1]
    _, _, alerts, _ = site["pages"][newest]
    (drop,) = [a for a in alerts["alerts"] if a["type"] == "volume_drop"]
    assert int(found["metrics"]["events.clean"]["value"]) == metrics_rows[newest]["events_clean"]
    assert int(found["metrics"]["alerts.critical"]["text"]) == sum(a["severity"] == "critical" for a in alerts["alerts"])
    assert found["metrics"]["events.baseline"]["value"] is not None
    assert float(found["metrics"]["events.baseline"]["value"]) == drop["details"]["baseline_median"]


def test_index_links_open_the_day_pages(site, browser):
    """Each link of the index, as the browser resolves it, is one of the day pages on disk."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(site["index"].resolve().as_uri())
        hrefs = page.eval_on_selector_all('a[data-link="day"]', "links => links.map(a => a.href)")
    finally:
        context.close()
    expected = [site["pages"][d][3].resolve() for d in sorted(DAYS, reverse=True)]
    assert [Path(unquote(urlsplit(h).path)) for h in hrefs] == expected
    assert all(urlsplit(h).scheme == "file" for h in hrefs)
    back = site["pages"][DAYS[0]][3].parent / "../index.html"
    assert back.resolve() == site["index"].resolve()
