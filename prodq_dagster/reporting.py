"""The HTML reports: gather a day's documents and outputs through ``ProdqStorage`` and render them.

``reports/ingest_date=D/report.html`` shows one day; ``reports/index.html`` lists every day
with a validation report and draws the trends. The ``html_report`` asset writes both after
each day; ``prodq report`` rebuilds them from existing outputs. Rendering lives in
``core.html_report``; this module only reads what it needs (the JSON reports, the day's
hourly counts, the daily metrics and a masked sample of each quarantine partition) and
the look-back of earlier days that the alerts also use.
"""

from __future__ import annotations

from datetime import date, timedelta

import pyarrow as pa

from .core import alerts as core_alerts
from .core.contract import ENTITIES
from .core.html_report import DayPage, IndexRow, day_status, render_day, render_index
from .core.privacy import mask_email_text
from .core.storage import DAY_PREFIX
from .resources import ProdqStorage

REPORT_FILE = "validation_report.json"
ALERTS_FILE = "alerts.json"
HTML_FILE = "report.html"
INDEX_FILE = "index.html"
SAMPLE_ROWS = 20
_PRIOR_COLUMNS = ["events_clean"] + [f"{e}_feed_present" for e in ENTITIES] + [f"{e}_quarantine_rate" for e in ENTITIES]


def prior_days(storage: ProdqStorage, day: date, lookback_days: int, with_alerts: bool = True) -> list[core_alerts.PriorDay]:
    """The history of the days before ``day`` that have daily metrics (and, with ``with_alerts``,
    whether they raised a quarantine-rate alert, which only the quarantine-rate baseline needs)."""
    days = [day - timedelta(days=i) for i in range(lookback_days, 0, -1)]
    found = storage.read_days("daily_metrics", days, columns=_PRIOR_COLUMNS)
    return [_prior(storage, d, table, with_alerts) for d, table in found.items()]


def _prior(storage: ProdqStorage, day: date, table: pa.Table, with_alerts: bool = True) -> core_alerts.PriorDay:
    row = table.to_pylist()[0]
    document = storage.read_report(day, ALERTS_FILE) if with_alerts else None
    return core_alerts.PriorDay(
        day,
        bool(row["events_feed_present"]),
        int(row["events_clean"]),
        feed_present={e: bool(row[f"{e}_feed_present"]) for e in ENTITIES},
        quarantine_rate={e: float(row[f"{e}_quarantine_rate"]) for e in ENTITIES},
        quarantine_alerted=core_alerts.quarantine_alerted(document) if document is not None else {},
    )


def report_days(storage: ProdqStorage) -> list[date]:
    """The days that have a validation report, sorted."""
    days = []
    for entry in storage.reports.listdir():
        if entry.is_dir and entry.name.startswith(DAY_PREFIX):
            try:
                day = date.fromisoformat(entry.name[len(DAY_PREFIX) :])
            except ValueError:
                continue
            if storage.read_report(day, REPORT_FILE) is not None:
                days.append(day)
    return sorted(days)


def quarantine_sample(storage: ProdqStorage, entity: str, day: date, rows: int = SAMPLE_ROWS) -> list[dict]:
    """The first quarantined rows of a day (one per reason first), e-mail addresses masked."""
    table = storage.head(f"quarantine_{entity}", day, rows * 50)
    if table is None or table.num_rows == 0:
        return []
    records = table.to_pylist()
    picked, reasons = [], set()
    for record in records:
        if record["reject_reason"] not in reasons:
            reasons.add(record["reject_reason"])
            picked.append(record)
    picked += [r for r in records if r not in picked][: max(0, rows - len(picked))]
    keep = [c for c in table.column_names if any(r[c] is not None for r in picked[:rows])]
    return [{c: mask_email_text(r[c]) if isinstance(r[c], str) else r[c] for c in keep} for r in picked[:rows]]


def day_page(storage: ProdqStorage, day: date) -> DayPage:
    policy = storage.settings.alert_policy()
    baseline, _, _ = core_alerts.volume_baseline(prior_days(storage, day, policy.volume_lookback_days, with_alerts=False), policy)
    hourly = storage.read("hourly_events", day, ["event_count"]).column("event_count").to_pylist()
    return DayPage(
        day=day,
        report=storage.read_report(day, REPORT_FILE),
        alerts=storage.read_report(day, ALERTS_FILE),
        hourly_counts=hourly,
        volume_baseline=baseline,
        samples={e: quarantine_sample(storage, e, day) for e in ENTITIES},
    )


def index_rows(storage: ProdqStorage) -> list[IndexRow]:
    """One row per day with a validation report; the volume baseline of each day is computed
    from the daily metrics of the days before it, as the volume alert computes it."""
    policy = storage.settings.alert_policy()
    days = report_days(storage)
    metrics = storage.read_days("daily_metrics", days)
    history: list[core_alerts.PriorDay] = []
    rows = []
    for day in days:
        alerts = storage.read_report(day, ALERTS_FILE)
        table = metrics.get(day)
        if alerts is None or table is None:
            rows.append(IndexRow(day, "missing", 0, 0, None, None, {}, None, {}, ""))
            continue
        row = table.to_pylist()[0]
        window = [p for p in history if (day - p.day).days <= policy.volume_lookback_days]
        baseline, _, _ = core_alerts.volume_baseline(window, policy)
        history.append(_prior(storage, day, table.select(_PRIOR_COLUMNS), with_alerts=False))
        fired = alerts["alerts"]
        rows.append(
            IndexRow(
                day=day,
                status=day_status(alerts),
                alerts_critical=sum(a["severity"] == core_alerts.CRITICAL for a in fired),
                alerts_warning=sum(a["severity"] == core_alerts.WARNING for a in fired),
                events_clean=int(row["events_clean"]),
                events_baseline=baseline,
                quarantine_rate={e: float(row[f"{e}_quarantine_rate"]) for e in ENTITIES},
                duration_ms_p95=row.get("duration_ms_p95"),
                amount_p95={k.removeprefix("amount_p95_"): v for k, v in row.items() if k.startswith("amount_p95_") and v is not None},
                href=f"{DAY_PREFIX}{day}/{HTML_FILE}",
            )
        )
    return rows


def write_day_html(storage: ProdqStorage, day: date) -> str:
    """Write ``report.html`` of a day; returns its location."""
    return storage.write_report_bytes(day, HTML_FILE, render_day(day_page(storage, day)).encode("utf-8"))


def write_index_html(storage: ProdqStorage) -> str:
    """Write ``index.html`` over every day with a report; returns its location."""
    return storage.reports.write_bytes(INDEX_FILE, render_index(index_rows(storage)).encode("utf-8"))


def index_location(storage: ProdqStorage) -> str | None:
    """Where the index is, when it has been written."""
    return storage.reports.display(INDEX_FILE) if storage.reports.exists(INDEX_FILE) else None
