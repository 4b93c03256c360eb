"""Settings from ``PRODQ_*`` environment variables: paths, partitions start and thresholds.

Every threshold the alerts and the sensor use lives here, so none is a literal in
code; the README lists each variable with its default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from datetime import date


FAIL_ON_LEVELS = ("none", "warning", "critical")


@dataclass(frozen=True)
class Settings:
    raw_dir: str = "data/raw"
    out_dir: str = "data"
    reports_dir: str = "reports"
    partitions_start: str = "2025-01-01"
    # hourly_coverage: alert when more than this many UTC hours of the day have no clean events
    hourly_max_empty_hours: int = 4
    # volume_drop: alert when clean events fall more than this fraction below the baseline median
    volume_drop_ratio: float = 0.5
    volume_baseline_days: int = 7
    volume_lookback_days: int = 60
    # quarantine_rate: critical above this share of an entity's raw rows; a warning when the rate
    # is more than the margin (in rate points) above the median of the baseline days
    quarantine_rate_max: float = 0.2
    quarantine_rate_margin: float = 0.05
    # unknown_category_value: one unknown raw value in at least this share of the entity's rows
    # and at least this many rows
    unknown_value_min_share: float = 0.01
    unknown_value_min_rows: int = 20
    # CI gate: the lowest alert severity that fails the run ("none", "warning" or "critical")
    fail_on: str = "none"
    # folder of user vocabulary files that extend or replace the shipped ones ("" = none)
    vocab_dir: str = ""
    # bounded memory: rows per dedupe bucket and bytes per raw read block
    bucket_rows: int = 1_000_000
    read_block_mb: int = 64
    # sensor: how long a day with an incomplete feed set waits before it runs anyway
    sensor_grace_minutes: int = 120
    # freshness: raw partition of today expected (first seen by the sensor) by this UTC hour
    freshness_deadline_hour_utc: int = 6
    # schedule
    schedule_hour: int = 2
    schedule_minute: int = 0
    schedule_timezone: str = "UTC"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = env.get(f"PRODQ_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            kind = type(f.default)
            try:
                values[f.name] = kind(raw)
            except ValueError as exc:
                raise ValueError(f"PRODQ_{f.name.upper()}={raw!r} is not a valid {kind.__name__}") from exc
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        """ValueError naming the variable when a setting is out of its range."""
        try:
            date.fromisoformat(self.partitions_start)
        except ValueError as exc:
            raise ValueError(f"PRODQ_PARTITIONS_START={self.partitions_start!r} is not a date (YYYY-MM-DD): {exc}") from None
        if self.fail_on not in FAIL_ON_LEVELS:
            raise ValueError(f"PRODQ_FAIL_ON={self.fail_on!r} must be one of {', '.join(FAIL_ON_LEVELS)}")
        for name, (low, high) in _BOUNDS.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise ValueError(f"PRODQ_{name.upper()}={value!r} must be between {low} and {high}")


_BOUNDS = {
    "hourly_max_empty_hours": (0, 24),
    "volume_drop_ratio": (0.0, 1.0),
    "volume_baseline_days": (1, 366),
    "volume_lookback_days": (1, 3660),
    "quarantine_rate_max": (0.0, 1.0),
    "quarantine_rate_margin": (0.0, 1.0),
    "unknown_value_min_share": (0.0, 1.0),
    "unknown_value_min_rows": (1, 10**12),
    "bucket_rows": (1, 10**12),
    "read_block_mb": (1, 4096),
    "sensor_grace_minutes": (0, 10**6),
    "freshness_deadline_hour_utc": (0, 23),
    "schedule_hour": (0, 23),
    "schedule_minute": (0, 59),
}

