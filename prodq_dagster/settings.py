"""The one configuration source: ``ProdqSettings``, a Dagster resource read from ``PRODQ_*`` variables.

Each field is a setting; its environment variable is ``PRODQ_`` plus the field name in
upper case. ``ProdqSettings.from_env`` validates every variable that is set, and the code
location passes text and integer settings to Dagster as ``EnvVar``s, so the UI shows
which variable a value comes from and run workers resolve it in their own environment
(float settings are passed as values: Dagster's ``EnvVar`` carries text and integers only).
What must be known before the definitions load (the partitions start, the schedule, the
sensor's grace period, the CI gate that makes alert checks blocking) is read from the
same object when the code location loads.
"""

from __future__ import annotations

import os
from datetime import date
import tempfile
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
from pathlib import Path

import dagster as dg
from pydantic import Field

from .core.alerts import FAIL_ON_LEVELS, AlertPolicy
from .core.storage import Store, open_store
from .core.vocab import Vocabularies, load_vocabularies

ENV_PREFIX = "PRODQ_"


class ProdqSettings(dg.ConfigurableResource):
    """prodq's settings: where data lives, alert thresholds, memory bounds, schedule."""

    raw_dir: str = Field(default="data/raw", description="Raw root holding ingest_date=YYYY-MM-DD/ folders: a local folder or an s3:// URL.")
    out_dir: str = Field(default="data", description="Root of clean/, quarantine/, master/ and metrics/: a local folder or an s3:// URL.")
    reports_dir: str = Field(default="reports", description="Root of the per-day reports (JSON and HTML) and index.html: a local folder or an s3:// URL.")
    partitions_start: str = Field(default="2025-01-01", description="First daily partition (YYYY-MM-DD).")
    hourly_max_empty_hours: int = Field(default=4, description="hourly_coverage: alert when more UTC hours than this have no clean events.")
    volume_drop_ratio: float = Field(default=0.5, description="volume_drop: alert when clean events fall more than this fraction below the baseline median.")
    volume_baseline_days: int = Field(default=7, description="Prior days in the volume and quarantine-rate baselines.")
    volume_lookback_days: int = Field(default=60, description="How far back the baselines look for those prior days.")
    quarantine_rate_max: float = Field(default=0.2, description="quarantine_rate: critical above this share of an entity's raw rows.")
    quarantine_rate_margin: float = Field(default=0.05, description="quarantine_rate: warning when the rate is this many points above its baseline median.")
    unknown_value_min_share: float = Field(default=0.01, description="unknown_category_value: one unknown value in at least this share of the rows ...")
    unknown_value_min_rows: int = Field(default=20, description="... and at least this many rows.")
    fail_on: str = Field(default="none", description="CI gate: alerts of this severity or higher fail the alert checks (none, warning, critical).")
    vocab_dir: str = Field(default="", description="Folder of user vocabulary files that extend or replace the shipped ones ('' = none).")
    bucket_rows: int = Field(default=1_000_000, description="Bounded memory: rows per dedupe bucket.")
    read_block_mb: int = Field(default=64, description="Bounded memory: MB per raw read block.")
    sensor_grace_minutes: int = Field(default=120, description="Sensor: minutes a day with an incomplete feed set waits before it runs anyway.")
    freshness_deadline_hour_utc: int = Field(default=6, description="Freshness: today's raw folder is expected by this UTC hour.")
    schedule_hour: int = Field(default=2, description="Daily schedule: hour of the tick.")
    schedule_minute: int = Field(default=0, description="Daily schedule: minute of the tick.")
    schedule_timezone: str = Field(default="UTC", description="Daily schedule: time zone of the tick.")
    lock_dir: str = Field(
        default="",
        description="Local folder of the per-partition write locks when PRODQ_OUT_DIR is an object store "
        "(default: DAGSTER_HOME, else the system temp folder); a local output root keeps them in <out_dir>/.locks.",
    )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, env_vars: bool = False) -> ProdqSettings:
        """Settings from ``PRODQ_*`` variables (unset or empty: the default), validated.

        With ``env_vars`` the text and integer settings that are set are passed as Dagster
        ``EnvVar``s (resolved where the run executes) instead of values.
        """
        env = os.environ if environ is None else environ
        values, deferred = {}, {}
        for name, field in cls.model_fields.items():
            variable = ENV_PREFIX + name.upper()
            raw = env.get(variable)
            if raw is None or raw == "":
                continue
            kind = field.annotation if isinstance(field.annotation, type) else type(field.default)
            try:
                values[name] = kind(raw)
            except ValueError:
                raise ValueError(f"{variable}={raw!r} is not a valid {kind.__name__}") from None
            if env_vars and kind is str:
                deferred[name] = dg.EnvVar(variable)
            elif env_vars and kind is int:
                deferred[name] = dg.EnvVar.int(variable)
        checked = cls(**values)
        checked.validate_values()
        return cls(**{**values, **deferred}) if deferred else checked

    def validate_values(self) -> None:
        """ValueError naming the variable when a setting is out of its range."""
        try:
            date.fromisoformat(self.partitions_start)
        except ValueError as exc:
            raise ValueError(f"PRODQ_PARTITIONS_START={self.partitions_start!r} is not a date (YYYY-MM-DD): {exc}") from None
        try:
            ZoneInfo(self.schedule_timezone)
        except (ValueError, ZoneInfoNotFoundError):
            raise ValueError(f"PRODQ_SCHEDULE_TIMEZONE={self.schedule_timezone!r} is not a time zone (e.g. UTC, Europe/Berlin)") from None
        if self.fail_on not in FAIL_ON_LEVELS:
            raise ValueError(f"PRODQ_FAIL_ON={self.fail_on!r} must be one of {', '.join(FAIL_ON_LEVELS)}")
        for name, (low, high) in _BOUNDS.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise ValueError(f"PRODQ_{name.upper()}={value!r} must be between {low} and {high}")

    # ------------------------------------------------------------------ derived records

    def alert_policy(self) -> AlertPolicy:
        return AlertPolicy(**{name: getattr(self, name) for name in AlertPolicy.__dataclass_fields__})

    def vocabularies(self) -> Vocabularies:
        return load_vocabularies(self.vocab_dir or None)

    @property
    def block_bytes(self) -> int:
        return self.read_block_mb << 20

    def raw_store(self) -> Store:
        return open_store(self.raw_dir)

    def out_store(self) -> Store:
        return open_store(self.out_dir)

    def reports_store(self) -> Store:
        return open_store(self.reports_dir)

    def local_lock_dir(self) -> str:
        """Where per-partition lock files go when the output root is an object store."""
        if self.lock_dir:
            return self.lock_dir
        home = os.environ.get("DAGSTER_HOME")
        return str(Path(home) / ".prodq-locks") if home else str(Path(tempfile.gettempdir()) / "prodq-locks")


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
