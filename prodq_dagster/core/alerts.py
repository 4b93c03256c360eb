"""Alert rules over a day's load statistics and metrics.

Each rule either raises alerts, stays quiet, or (when the data it needs is not there)
lands in ``skipped`` with the reason. Thresholds come from an ``AlertPolicy`` (built
from the settings); none is a literal here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from .contract import ENTITIES
from .freshness import Lateness
from .stats import EntityStats
from .vocab import VOCABULARY_COLUMNS

HOURLY_COVERAGE = "hourly_coverage"
VOLUME_DROP = "volume_drop"
MISSING_FEED = "missing_feed"
SCHEMA_DRIFT = "schema_drift"
FRESHNESS = "late_raw_partition"
UNKNOWN_CATEGORY_VALUE = "unknown_category_value"
QUARANTINE_RATE = "quarantine_rate"
MASTER_HISTORY_GAP = "master_history_gap"
ALERT_TYPES = (
    MISSING_FEED,
    SCHEMA_DRIFT,
    UNKNOWN_CATEGORY_VALUE,
    QUARANTINE_RATE,
    HOURLY_COVERAGE,
    VOLUME_DROP,
    MASTER_HISTORY_GAP,
    FRESHNESS,
)

WARNING, CRITICAL = "warning", "critical"
SEVERITY_RANK = {WARNING: 1, CRITICAL: 2}
FAIL_ON_LEVELS = ("none", WARNING, CRITICAL)
# (entity, column) -> vocabulary name, for the unknown-value alert's advice.
_VOCABULARY_OF = {columns: name for name, columns in VOCABULARY_COLUMNS.items()}


@dataclass(frozen=True)
class AlertPolicy:
    """The thresholds of the alert rules (their meaning and defaults: the settings)."""

    hourly_max_empty_hours: int
    volume_drop_ratio: float
    volume_baseline_days: int
    volume_lookback_days: int
    quarantine_rate_max: float
    quarantine_rate_margin: float
    unknown_value_min_share: float
    unknown_value_min_rows: int


@dataclass(frozen=True)
class PriorDay:
    """What the baselines need from one earlier day: its metrics and whether it alerted."""

    day: date
    events_feed_present: bool
    events_clean: int
    feed_present: dict[str, bool] = field(default_factory=dict)
    quarantine_rate: dict[str, float] = field(default_factory=dict)
    # Per entity: did the day raise a quarantine-rate alert? Empty when its alerts.json is missing
    # (then the day cannot serve that baseline: whether it alerted is unknown).
    quarantine_alerted: dict[str, bool] = field(default_factory=dict)


def _alert(kind: str, severity: str, message: str, **details) -> dict:
    return {"type": kind, "severity": severity, "message": message, "details": details}


def hourly_coverage(hourly_counts: list[int], policy: AlertPolicy) -> list[dict]:
    empty = [hour for hour, count in enumerate(hourly_counts) if count == 0]
    if len(empty) <= policy.hourly_max_empty_hours:
        return []
    return [
        _alert(
            HOURLY_COVERAGE,
            WARNING,
            f"{len(empty)} of 24 UTC hours have no clean events (threshold {policy.hourly_max_empty_hours}): partial load?",
            empty_hours=empty,
            threshold=policy.hourly_max_empty_hours,
        )
    ]


def _too_few(found: int, policy: AlertPolicy, what: str) -> str:
    return (
        f"only {found} prior day(s) with {what} in the last {policy.volume_lookback_days} days; "
        f"{policy.volume_baseline_days} needed for a baseline"
    )


def volume_baseline(prior: list[PriorDay], policy: AlertPolicy) -> tuple[float | None, list[PriorDay], str | None]:
    """Median clean events of the last N available prior days, or the reason there is none."""
    available = sorted((p for p in prior if p.events_feed_present), key=lambda p: p.day)[-policy.volume_baseline_days :]
    if len(available) < policy.volume_baseline_days:
        return None, available, _too_few(len(available), policy, "an events feed")
    return float(np.median([p.events_clean for p in available])), available, None


def volume_drop(events_clean: int, prior: list[PriorDay], policy: AlertPolicy) -> tuple[list[dict], str | None]:
    median, used, reason = volume_baseline(prior, policy)
    if median is None:
        return [], reason
    floor = median * (1 - policy.volume_drop_ratio)
    if events_clean >= floor:
        return [], None
    drop = 1 - events_clean / median if median else 0.0
    return [
        _alert(
            VOLUME_DROP,
            CRITICAL,
            f"clean events {events_clean} are {drop:.0%} below the {len(used)}-day median {median:g}",
            clean_events=events_clean,
            baseline_median=median,
            baseline_days=[p.day.isoformat() for p in used],
            drop_ratio=round(drop, 4),
            threshold=policy.volume_drop_ratio,
        )
    ], None


def quarantine_rate(entity: str, stats: EntityStats, prior: list[PriorDay], policy: AlertPolicy) -> tuple[list[dict], str | None]:
    """Critical above the hard limit; a warning above the baseline (median of the last available
    prior days that did not raise this alert) plus the margin."""
    rate = stats.quarantine_rate
    details = dict(entity=entity, quarantine_rate=round(rate, 6), quarantined=stats.quarantine, total=stats.total)
    if rate > policy.quarantine_rate_max:
        top = ", ".join(f"{code} {n:,}" for code, n in sorted(stats.by_reason.items(), key=lambda kv: -kv[1])[:3])
        message = f"{entity}: {rate:.1%} of {stats.total:,} rows quarantined, above the {policy.quarantine_rate_max:.0%} limit"
        return [_alert(QUARANTINE_RATE, CRITICAL, message + (f" (top reasons: {top})" if top else ""), limit=policy.quarantine_rate_max, **details)], None
    available = sorted(
        (p for p in prior if p.feed_present.get(entity) and entity in p.quarantine_alerted and not p.quarantine_alerted[entity]),
        key=lambda p: p.day,
    )[-policy.volume_baseline_days :]
    if len(available) < policy.volume_baseline_days:
        return [], _too_few(len(available), policy, "a feed and no quarantine-rate alert")
    baseline = float(np.median([p.quarantine_rate[entity] for p in available]))
    if rate <= baseline + policy.quarantine_rate_margin:
        return [], None
    message = (
        f"{entity}: {rate:.1%} of {stats.total:,} rows quarantined, {rate - baseline:+.1%} over the "
        f"{len(available)}-day baseline {baseline:.1%} (margin {policy.quarantine_rate_margin:.1%})"
    )
    return [
        _alert(
            QUARANTINE_RATE,
            WARNING,
            message,
            baseline=round(baseline, 6),
            baseline_days=[p.day.isoformat() for p in available],
            margin=policy.quarantine_rate_margin,
            **details,
        )
    ], None


def unknown_category_values(entity: str, stats: EntityStats, policy: AlertPolicy) -> list[dict]:
    """One warning per raw category value no vocabulary knows that is common enough to matter."""
    alerts = []
    for column, values in stats.unknown_values.items():
        vocabulary = _VOCABULARY_OF[(entity, column)]
        for item in values:
            share = item.rows / stats.total if stats.total else 0.0
            if item.rows < policy.unknown_value_min_rows or share < policy.unknown_value_min_share:
                continue
            action = f"add it to the {vocabulary} vocabulary (a {vocabulary}.toml in PRODQ_VOCAB_DIR) or fix the feed"
            alerts.append(
                _alert(
                    UNKNOWN_CATEGORY_VALUE,
                    WARNING,
                    f"{entity}.{column}: {item.value!r} is not in the {vocabulary} vocabulary "
                    f"({item.rows:,} rows, {share:.1%} of {stats.total:,}); {action}",
                    entity=entity,
                    column=column,
                    vocabulary=vocabulary,
                    value=item.value,
                    spellings=item.spellings,
                    rows=item.rows,
                    share=round(share, 6),
                    action=action,
                )
            )
    return alerts


def _missing_feed(entity: str, day: date, unmatched_files: list[str]) -> dict:
    near = [name for name in unmatched_files if entity in name.lower()]
    message = f"no {entity} file arrived for {day.isoformat()}"
    if near:
        prefix = ENTITIES[entity].file_prefix
        message += f" (found {', '.join(near)}: expected a name starting with {prefix} and ending in .csv or .csv.gz)"
    return _alert(MISSING_FEED, CRITICAL, message, entity=entity, similar_files=near)


def master_history_gap(day: date, gaps: list[date]) -> list[dict]:
    if not gaps:
        return []
    listed = ", ".join(d.isoformat() for d in gaps[:10]) + (f" and {len(gaps) - 10} more" if len(gaps) > 10 else "")
    return [
        _alert(
            MASTER_HISTORY_GAP,
            WARNING,
            f"the customer master of {day.isoformat()} lacks {len(gaps)} earlier customers day(s) found in the raw folder "
            f"({listed}): their customers were never processed, so their events and orders may be counted as orphans; "
            "materialize the customers assets of those days first",
            days=[d.isoformat() for d in gaps],
        )
    ]


def evaluate_alerts(
    day: date,
    stats: dict[str, EntityStats],
    hourly_counts: list[int],
    prior: list[PriorDay],
    policy: AlertPolicy,
    arrival: Lateness | None = None,
    unmatched_files: list[str] | None = None,
    master_gaps: list[date] | None = None,
) -> dict:
    """The alerts document of a day: ``{"ingest_date", "alerts", "skipped"}``."""
    alerts: list[dict] = []
    skipped: list[dict] = []
    for name in ENTITIES:
        s = stats[name]
        if not s.feed_present:
            alerts.append(_missing_feed(name, day, unmatched_files or []))
            skipped.append({"type": QUARANTINE_RATE, "reason": f"the {name} feed is missing for the day"})
            continue
        if s.missing_columns or s.extra_columns or s.unmatched_headers:
            message = f"{name} columns differ from the contract"
            if s.unmatched_headers:
                message += ": no contract column in the header of " + ", ".join(sorted(s.unmatched_headers))
            alerts.append(
                _alert(
                    SCHEMA_DRIFT,
                    CRITICAL if s.unmatched_headers else WARNING,
                    message,
                    entity=name,
                    missing_columns=s.missing_columns,
                    extra_columns=s.extra_columns,
                    unmatched_headers=s.unmatched_headers,
                )
            )
        alerts += unknown_category_values(name, s, policy)
        raised, reason = quarantine_rate(name, s, prior, policy)
        alerts += raised
        if reason and not raised:
            skipped.append({"type": QUARANTINE_RATE, "reason": f"{name}: {reason}"})
    if stats["events"].feed_present:
        alerts += hourly_coverage(hourly_counts, policy)
        drop, reason = volume_drop(stats["events"].clean, prior, policy)
        alerts += drop
        if reason:
            skipped.append({"type": VOLUME_DROP, "reason": reason})
    else:
        reason = "the events feed is missing for the day"
        skipped += [{"type": HOURLY_COVERAGE, "reason": reason}, {"type": VOLUME_DROP, "reason": reason}]
    alerts += master_history_gap(day, master_gaps or [])
    if arrival is None:
        skipped.append({"type": FRESHNESS, "reason": "no arrival record: the raw-folder sensor has not seen this day"})
    elif arrival.late:
        alerts.append(_alert(FRESHNESS, WARNING, arrival.message, first_seen=arrival.first_seen, deadline=arrival.deadline.isoformat()))
    return {"ingest_date": day.isoformat(), "alerts": alerts, "skipped": skipped}


def quarantine_alerted(document: dict) -> dict[str, bool]:
    """Per entity: did this alerts document raise a quarantine-rate alert?"""
    raised = {a["details"].get("entity") for a in document.get("alerts", []) if a["type"] == QUARANTINE_RATE}
    return {name: name in raised for name in ENTITIES}


def worst_severity(document: dict) -> str | None:
    """The highest severity among a day's alerts (None when there are none)."""
    return max((a["severity"] for a in document.get("alerts", [])), key=SEVERITY_RANK.__getitem__, default=None)
