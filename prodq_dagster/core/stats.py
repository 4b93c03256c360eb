"""Load statistics of one entity-day: the numbers the clean and quarantine files cannot give back.

An ``EntityStats`` is built per dedupe bucket, merged over the buckets of a day, and
persisted as JSON beside the outputs; the metrics, the validation report, the alerts
and the checks all read this one record. Conservation (raw rows = clean + quarantine +
dropped full-row duplicates) is defined here and nowhere else.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field, fields

from .rules import CODE_ORDER

TOP_COMBINATIONS = 10
TOP_UNKNOWN_VALUES = 10
SPELLING_EXAMPLES = 3


@dataclass
class UnknownValue:
    """A raw category value no vocabulary knows: its lookup key, row count and raw spellings seen."""

    value: str
    rows: int
    spellings: list[str] = field(default_factory=list)


@dataclass
class EntityStats:
    entity: str
    feed_present: bool = False
    files: list[str] = field(default_factory=list)
    total: int = 0
    clean: int = 0
    quarantine: int = 0
    dropped_duplicates: int = 0
    malformed: int = 0
    id_duplicates: int = 0
    reason_combinations: dict[str, int] = field(default_factory=dict)  # reject_reason value -> rows
    by_warning: dict[str, int] = field(default_factory=dict)  # warn code -> clean rows
    null_counts: dict[str, int] = field(default_factory=dict)  # key raw column -> rows with a null marker
    missing_columns: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    unmatched_headers: dict[str, list[str]] = field(default_factory=dict)  # file -> its header, when no contract column matched
    encoding_repaired_files: list[str] = field(default_factory=list)
    unknown_values: dict[str, list[UnknownValue]] = field(default_factory=dict)  # column -> commonest first

    @property
    def conservation_ok(self) -> bool:
        return self.total == self.clean + self.quarantine + self.dropped_duplicates

    @property
    def quarantine_rate(self) -> float:
        return self.quarantine / self.total if self.total else 0.0

    @property
    def by_reason(self) -> dict[str, int]:
        """Rows per single reason code (``missing_column:<name>`` per name), in catalogue order."""
        counts: Counter = Counter()
        for combination, n in self.reason_combinations.items():
            for code in combination.split("|"):
                counts[code] += n
        return dict(sorted(counts.items(), key=lambda kv: (CODE_ORDER.get(kv[0].split(":")[0], len(CODE_ORDER)), kv[0])))

    def top_reason_combinations(self, limit: int = TOP_COMBINATIONS) -> list[dict]:
        """The commonest ``reject_reason`` values, most frequent first (ties by name)."""
        ranked = sorted(self.reason_combinations.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        return [{"reject_reason": value, "count": count} for value, count in ranked]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> EntityStats:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["unknown_values"] = {
            column: [UnknownValue(**item) for item in items] for column, items in data.get("unknown_values", {}).items()
        }
        return cls(**values)

    @classmethod
    def merge(cls, parts: list[EntityStats]) -> EntityStats:
        """The stats of a day from the stats of its buckets (same entity and files)."""
        first = parts[0]
        out = cls(
            entity=first.entity,
            feed_present=first.feed_present,
            files=list(first.files),
            missing_columns=list(first.missing_columns),
            extra_columns=list(first.extra_columns),
            unmatched_headers=dict(first.unmatched_headers),
            encoding_repaired_files=list(first.encoding_repaired_files),
        )
        combos: Counter = Counter()
        warn: Counter = Counter()
        nulls: Counter = Counter()
        unknown: dict[str, dict[str, UnknownValue]] = {}
        for part in parts:
            out.total += part.total
            out.clean += part.clean
            out.quarantine += part.quarantine
            out.dropped_duplicates += part.dropped_duplicates
            out.malformed += part.malformed
            out.id_duplicates += part.id_duplicates
            combos.update(part.reason_combinations)
            warn.update(part.by_warning)
            nulls.update(part.null_counts)
            for column, values in part.unknown_values.items():
                merged = unknown.setdefault(column, {})
                for item in values:
                    seen = merged.setdefault(item.value, UnknownValue(item.value, 0))
                    seen.rows += item.rows
                    seen.spellings = sorted(set(seen.spellings) | set(item.spellings))[:SPELLING_EXAMPLES]
        out.reason_combinations = dict(combos)
        out.by_warning = {k: int(warn.get(k, 0)) for k in first.by_warning}
        out.null_counts = {k: int(nulls.get(k, 0)) for k in first.null_counts}
        out.unknown_values = {column: rank_unknown(list(values.values())) for column, values in unknown.items()}
        return out


def rank_unknown(values: list[UnknownValue]) -> list[UnknownValue]:
    """Commonest first (ties by value)."""
    return sorted(values, key=lambda u: (-u.rows, u.value))
