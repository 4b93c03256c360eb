"""Alert rules over a day's metrics: hourly coverage, volume drop, missing feeds, schema drift.

Each rule either raises alerts, stays quiet, or (when the data it needs is not
there) lands in ``skipped`` with the reason. Thresholds come from ``Settings``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from .config import Settings
from .contract import ENTITIES
from .freshness import Lateness

HOURLY_COVERAGE = "hourly_coverage"
VOLUME_DROP = "volume_drop"
MISSING_FEED = "missing_feed"
SCHEMA_DRIFT = "schema_drift"
FRESHNESS = "late_raw_partition"


@dataclass(frozen=True)
class PriorDay:
    day: date
    events_feed_present: bool
    events_clean: int


def _alert(kind: str, severity: str, message: str, **details) -> dict:
    return {"type": kind, "severity": severity, "message": message, "details": details}


def hourly_coverage(hourly_counts: list[int], settings: Settings) -> list[dict]:
    empty = [hour for hour, count in enumerate(hourly_counts) if count == 0]
    if len(empty) <= settings.hourly_max_empty_hours:
        return []
    return [
        _alert(
            HOURLY_COVERAGE,
            "warning",
            f"{len(empty)} of 24 UTC hours have no clean events (threshold {settings.hourly_max_empty_hours}): partial load?",
            empty_hours=empty,
            threshold=settings.hourly_max_empty_hours,
        )
    ]


def volume_baseline(prior: list[PriorDay], settings: Settings) -> tuple[float | None, list[PriorDay], str | None]:
    """Median clean events of the last N available prior days, or the reason there is none."""
    available = sorted((p for p in prior if p.events_feed_present), key=lambda p: p.day)[-settings.volume_baseline_days :]
    if len(available) < settings.volume_baseline_days:
        reason = (
            f"only {len(available)} prior day(s) with an events feed in the last "
            f"{settings.volume_lookback_days} days; {settings.volume_baseline_days} needed for a baseline"
        )
        return None, available, reason
    return float(np.median([p.events_clean for p in available])), available, None


def volume_drop(events_clean: int, prior: list[PriorDay], settings: Settings) -> tuple[list[dict], str | None]:
    median, used, reason = volume_baseline(prior, settings)
    if median is None:
        return [], reason
    floor = median * (1 - settings.volume_drop_ratio)
    if events_clean >= floor:
        return [], None
    drop = 1 - events_clean / median if median else 0.0
    return [
        _alert(
            VOLUME_DROP,
            "critical",
            f"clean events {events_clean} are {drop:.0%} below the {len(used)}-day median {median:g}",
            clean_events=events_clean,
            baseline_median=median,
            baseline_days=[p.day.isoformat() for p in used],
            drop_ratio=round(drop, 4),
            threshold=settings.volume_drop_ratio,
        )
    ], None


def evaluate_alerts(
    day: date,
    stats: dict[str, dict],
    hourly_counts: list[int],
    prior: list[PriorDay],
    settings: Settings,
    arrival: Lateness | None = None,
) -> dict:
    """The alerts document of a day: ``{"ingest_date", "alerts", "skipped"}``."""
    alerts: list[dict] = []
    skipped: list[dict] = []
    for name in ENTITIES:
        if not stats[name]["feed_present"]:
            alerts.append(_alert(MISSING_FEED, "critical", f"no {name} file arrived for {day.isoformat()}", entity=name))
        schema = stats[name]["schema"]
        if schema["missing_columns"] or schema["extra_columns"]:
            alerts.append(
                _alert(
                    SCHEMA_DRIFT,
                    "warning",
                    f"{name} columns differ from the contract",
                    entity=name,
                    missing_columns=schema["missing_columns"],
                    extra_columns=schema["extra_columns"],
                )
            )
    if stats["events"]["feed_present"]:
        alerts += hourly_coverage(hourly_counts, settings)
        drop, reason = volume_drop(stats["events"]["clean"], prior, settings)
        alerts += drop
        if reason:
            skipped.append({"type": VOLUME_DROP, "reason": reason})
    else:
        reason = "the events feed is missing for the day"
        skipped += [{"type": HOURLY_COVERAGE, "reason": reason}, {"type": VOLUME_DROP, "reason": reason}]
    if arrival is None:
        skipped.append({"type": FRESHNESS, "reason": "no arrival record: the raw-folder sensor has not seen this day"})
    elif arrival.late:
        alerts.append(_alert(FRESHNESS, "warning", arrival.message, first_seen=arrival.first_seen, deadline=arrival.deadline.isoformat()))
    return {"ingest_date": day.isoformat(), "alerts": alerts, "skipped": skipped}
