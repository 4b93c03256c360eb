"""Tests for scripts/generate_data.py, the synthetic raw-feed generator.

Besides determinism and the manifest's bookkeeping, the files are re-read and every
row is classified by a small, independent, row-by-row reading of the rule catalogue (docs/contract.md)
(``_Reference`` below). Its counts must equal the manifest's, which checks that each
injected reject row breaks exactly one rule and that clean rows really are clean.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import json
import math
import re
import tomllib
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "generate_data.py"
MODULE = ROOT / "prodq_dagster" / "generate.py"
CORE = ROOT / "prodq_dagster" / "core"

START, END = "2025-12-10", "2025-12-12"
PARAMS = dict(customers=200, events=2000, orders=300, partial_load_every=2, low_volume_day="2025-12-11", seed=7)


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# Loaded from its file, apart from the package, as it is meant to stand alone.
gen = _load(MODULE, "prodq_generate_data")


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _read(path: Path, entity: str) -> pa.Table:
    columns = gen.COLUMNS[entity]
    return pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in columns}, strings_can_be_null=False, quoted_strings_can_be_null=False
        ),
    )


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("raw")
    manifest = gen.generate(out, START, END, **PARAMS)
    return out, manifest


@pytest.fixture(scope="module")
def tables(generated):
    out, manifest = generated
    return {
        day: {e: _read(out / info["files"][e], e) for e in gen.COLUMNS} for day, info in manifest["days"].items()
    }


# ---------------------------------------------------------------------------------------
# Determinism, layout, bookkeeping
# ---------------------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes(generated, tmp_path):
    out, manifest = generated
    again = gen.generate(tmp_path / "again", START, END, **PARAMS)
    assert again == manifest
    assert _files(out) == _files(tmp_path / "again")


def test_other_seed_gives_other_data(generated, tmp_path):
    out, _ = generated
    gen.generate(tmp_path / "other", START, END, **(PARAMS | {"seed": 8}))
    name = f"ingest_date={START}/events_raw.csv"
    assert (out / name).read_bytes() != (tmp_path / "other" / name).read_bytes()


def test_gzip_output_is_deterministic_and_readable(tmp_path):
    kwargs = dict(customers=150, events=500, orders=150, gzip=True)
    m1 = gen.generate(tmp_path / "a", START, START, **kwargs)
    gen.generate(tmp_path / "b", START, START, **kwargs)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    day = m1["days"][START]
    for entity in gen.COLUMNS:
        assert day["files"][entity].endswith(".csv.gz")
        table = _read(tmp_path / "a" / day["files"][entity], entity)
        assert table.num_rows == day["expected"][entity]["total"]


def test_layout_and_headers(generated):
    out, manifest = generated
    assert manifest["generator"] == "prodq"
    assert manifest["seed"] == PARAMS["seed"]
    assert list(manifest["days"]) == ["2025-12-10", "2025-12-11", "2025-12-12"]
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8")) == manifest
    for day, info in manifest["days"].items():
        for entity, rel in info["files"].items():
            assert rel == f"ingest_date={day}/{gen.FILE_PREFIX[entity]}.csv"
            header = (out / rel).read_text(encoding="utf-8").splitlines()[0]
            assert [h.strip('"') for h in header.split(",")] == list(gen.COLUMNS[entity])


def test_manifest_totals_match_files_and_conserve(generated, tables):
    _, manifest = generated
    for day, info in manifest["days"].items():
        for entity, exp in info["expected"].items():
            assert tables[day][entity].num_rows == exp["total"], (day, entity)
            assert exp["total"] == exp["clean"] + exp["quarantine"] + exp["dropped_duplicates"]
            assert sum(exp["by_reason"].values()) == exp["quarantine"]
            assert exp["dropped_duplicates"] == info["injected"][entity]["full_row_duplicates"]
            assert exp["by_reason"][f"duplicate_{gen.COLUMNS[entity][0]}"] == info["injected"][entity]["id_duplicates"]


def test_every_mess_kind_is_present(generated):
    _, manifest = generated
    for day, info in manifest["days"].items():
        for entity, kinds in gen.MESS_KINDS.items():
            by_reason = info["expected"][entity]["by_reason"]
            assert set(by_reason) == set(kinds) | {f"duplicate_{gen.COLUMNS[entity][0]}"}, (day, entity)
            base = info["injected"]["events"]["base_events"] if entity == "events" else PARAMS[entity]
            k = max(1, round(0.01 * base))
            if entity == "events" and info["partial_load_hours"]:
                # rows whose instant fell in the missing hours were dropped; bad timestamps have none
                assert by_reason["invalid_event_time"] == k
                assert all(0 < v <= k for v in by_reason.values()), (day, by_reason)
            else:
                assert all(v == k for v in by_reason.values()), (day, entity, by_reason)


def test_events_extras(generated):
    _, manifest = generated
    for info in manifest["days"].values():
        ev = info["expected"]["events"]
        assert len(ev["hourly_clean_events"]) == 24
        assert sum(ev["hourly_clean_events"]) + ev["events_outside_day"] == ev["clean"]
        assert ev["events_outside_day"] == info["injected"]["events"]["late_events"] >= 1
        inj = info["injected"]["events"]
        assert inj["offset_timestamps"] > 0 and inj["naive_timestamps"] > 0 and inj["z_timestamps"] > 0
        assert inj["fractional_timestamps"] > 0
        assert inj["missing_session_id"] > 0 and inj["missing_platform"] > 0 and inj["missing_duration"] > 0


def test_partial_load_hours_are_empty(generated):
    _, manifest = generated
    days = manifest["days"]
    assert [d["day_index"] for d in days.values() if d["partial_load_hours"]] == [0, 2]
    for info in days.values():
        hours = info["partial_load_hours"]
        hourly = info["expected"]["events"]["hourly_clean_events"]
        if hours:
            assert len(hours) == 6 and hours == list(range(hours[0], hours[0] + 6)) and 0 <= hours[0] <= 18
            assert info["injected"]["events"]["partial_load_dropped"] > 0
        for h in range(24):
            assert (hourly[h] == 0) == (h in hours), (info["day_index"], h, hourly)


def test_low_volume_day(generated):
    _, manifest = generated
    low = manifest["days"]["2025-12-11"]
    assert low["low_volume"] is True and not low["partial_load_hours"]
    assert low["injected"]["events"]["base_events"] == 600
    clean = low["expected"]["events"]["clean"]
    assert 0.28 * PARAMS["events"] <= clean <= 0.32 * PARAMS["events"]
    normal = manifest["days"]["2025-12-12"]
    assert normal["low_volume"] is False and normal["injected"]["events"]["base_events"] == 2000


def test_orphans_are_not_in_the_master_as_of_the_day(generated, tables):
    _, manifest = generated
    delivered: set[str] = set()
    days = list(manifest["days"])
    for i, day in enumerate(days):
        delivered |= {v.strip() for v in tables[day]["customers"]["customer_id"].to_pylist()}
        later = set()
        if i + 1 < len(days):
            later = {v.strip() for v in tables[days[i + 1]]["customers"]["customer_id"].to_pylist()}
        for entity in ("events", "orders"):
            ids = [v.strip() for v in tables[day][entity]["customer_id"].to_pylist()]
            orphans = [v for v in ids if v not in delivered]
            exp = manifest["days"][day]
            assert len(orphans) == exp["expected"][entity]["by_reason"]["orphan_customer_id"], (day, entity)
            next_day = sum(v in later for v in orphans)
            assert next_day == exp["injected"][entity]["orphan_next_day_customer"], (day, entity)
            if later:
                assert next_day > 0, (day, entity)


def test_customer_master_grows_with_redeliveries(generated, tables):
    _, manifest = generated
    counts = [d["expected"]["customers"]["clean_ids_cumulative_count"] for d in manifest["days"].values()]
    assert counts == [200, 300, 400]
    day2 = manifest["days"]["2025-12-11"]["injected"]["customers"]
    assert day2["redelivered_customers"] == 100 and day2["new_customers"] == 100


def test_generator_does_not_import_the_package():
    """The generator never uses the pipeline's rules or vocabularies: its ground truth is its own."""
    source = MODULE.read_text(encoding="utf-8")
    assert not re.search(r"^\s*(from|import)\s+(prodq_dagster|\.)", source, flags=re.M)


def test_cli(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--out_dir", str(tmp_path), "--start", START, "--end", START,
         "--customers", "120", "--events", "300", "--orders", "120", "--partial-load-every", "1",
         "--mess-rate", "0.02"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["params"]["partial_load_every"] == 1 and manifest["params"]["mess_rate"] == 0.02
    assert len(manifest["days"][START]["partial_load_hours"]) == 6
    bad = subprocess.run(
        [sys.executable, str(SCRIPT), "--out_dir", str(tmp_path), "--start", END, "--end", START],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert bad.returncode == 2


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError):
        gen.generate(tmp_path, END, START)
    with pytest.raises(ValueError):
        gen.generate(tmp_path, START, END, low_volume_day="2026-01-01")


# ---------------------------------------------------------------------------------------
# Independent row-by-row reference classification
# ---------------------------------------------------------------------------------------

NULLS = {"", "null", "none", "nan", "n/a", "-"}
MAX_DURATION = 86_400_000


class _Vocab:
    """The shipped vocabulary files read straight from their TOML (not through the package)."""

    def __init__(self):
        folder = CORE / "vocabularies"
        tables = {}
        for name in ("country", "platform", "currency", "order_status", "customer_status", "event_type"):
            document = tomllib.loads((folder / f"{name}.toml").read_text(encoding="utf-8"))
            fold = _fold_event_type if document["fold"] == "snake_case" else str.lower
            tables[name] = {fold(s.strip()): c for c, extra in document["values"].items() for s in [c, *extra]}
        self.COUNTRY = tables["country"]
        self.PLATFORM = tables["platform"]
        self.CURRENCY = tables["currency"]
        self.ORDER_STATUS = tables["order_status"]
        self.CUSTOMER_STATUS = tables["customer_status"]
        self.EVENT_TYPE = tables["event_type"]


def _vocab():
    return _Vocab()


def _missing(v: str) -> bool:
    return v.strip().lower() in NULLS


def _ts(v: str) -> dt.datetime | None:
    v = v.strip()
    if _missing(v):
        return None
    try:
        t = dt.datetime.fromisoformat(v)
    except ValueError:
        return None
    return t.replace(tzinfo=dt.timezone.utc) if t.tzinfo is None else t.astimezone(dt.timezone.utc)


def _number(v: str) -> float | None:
    v = v.strip()
    for sym in "$€£₹¥,":
        v = v.replace(sym, "")
    try:
        x = float(v)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def _fold_event_type(v: str) -> str:
    v = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", v.strip())
    return re.sub(r"[\s\-_]+", "_", v.lower()).strip("_")


class _Reference:
    """Applies the catalogue's rules row by row to one day of raw files."""

    def __init__(self, vocab, day: str, master: set[str]):
        self.v, self.day, self.master = vocab, day, master

    def reasons(self, entity: str, r: dict) -> list[str]:
        v, out = self.v, []
        key = gen.COLUMNS[entity][0]
        if _missing(r[key]):
            out.append(f"missing_{key}")
        time_col = gen.COLUMNS[entity][2]
        if _ts(r[time_col]) is None:
            out.append(f"invalid_{time_col}")
        if entity != "customers" and r["customer_id"].strip() not in self.master:
            out.append("orphan_customer_id")
        if entity == "events":
            if _fold_event_type(r["event_type"]) not in v.EVENT_TYPE:
                out.append("invalid_event_type")
            if not _missing(r["platform"]) and r["platform"].strip().lower() not in v.PLATFORM:
                out.append("unknown_platform")
            if not _missing(r["duration_ms"]):
                d = _number(r["duration_ms"]) if "," not in r["duration_ms"] else None
                if d is None or d < 0 or d > MAX_DURATION:
                    out.append("invalid_duration")
        if entity == "orders":
            amount = None if _missing(r["amount"]) else _number(r["amount"])
            if amount is None or amount < 0:
                out.append("invalid_amount")
            if _missing(r["currency"]) or r["currency"].strip().lower() not in v.CURRENCY:
                out.append("invalid_currency")
            status = v.ORDER_STATUS.get(r["status"].strip().lower()) if not _missing(r["status"]) else None
            if status is None:
                out.append("invalid_order_status")
            if status in ("paid", "refunded", "chargeback") and amount is not None and round(amount, 2) <= 0:
                out.append("amount_status_mismatch")
        if not _missing(r["ingest_date"]) and r["ingest_date"].strip() != self.day:
            out.append("ingest_date_mismatch")
        return out

    def warns(self, entity: str, r: dict) -> list[str]:
        v, out = self.v, []
        if entity == "customers":
            if _missing(r["email"]) or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", r["email"].strip()):
                out.append("invalid_email")
            c = r["country"].strip()
            if _missing(c) or c.lower() not in v.COUNTRY:
                out.append("unknown_country")
            if _missing(r["status"]) or r["status"].strip().lower() not in v.CUSTOMER_STATUS:
                out.append("unknown_customer_status")
        elif entity == "events":
            for col, code in (("platform", "missing_platform"), ("session_id", "missing_session_id"),
                              ("duration_ms", "missing_duration")):  # fmt: skip
                if _missing(r[col]):
                    out.append(code)
        else:
            a = r["amount"].strip().split(".")
            if len(a) == 2 and len(a[1]) > 2:
                out.append("amount_rounded")
        return out

    def rank(self, entity: str, r: dict, reasons: list[str]) -> tuple:
        """Higher is better (the dedupe order of docs/policies.md)."""
        t = _ts(r[gen.COLUMNS[entity][2]])
        latest = t.timestamp() if t else float("-inf")
        ok = [not reasons]
        if entity == "customers":
            ok += ["invalid_email" not in self.warns(entity, r), t is not None]
        elif entity == "events":
            ok += [t is not None, "orphan_customer_id" not in reasons, "invalid_event_type" not in reasons,
                   not _missing(r["platform"]) and "unknown_platform" not in reasons, not _missing(r["session_id"]),
                   not _missing(r["duration_ms"]) and "invalid_duration" not in reasons]  # fmt: skip
        else:
            ok += [t is not None, "orphan_customer_id" not in reasons, "invalid_amount" not in reasons,
                   "invalid_currency" not in reasons, "invalid_order_status" not in reasons]  # fmt: skip
        digest = hashlib.sha256("\x1f".join(r.values()).encode()).hexdigest()
        return (*ok, latest, digest)

    def classify(self, entity: str, table: pa.Table) -> dict:
        rows = table.to_pylist()
        seen, kept, dropped = set(), [], 0
        for r in rows:  # full-row duplicates: equal after trimming
            sig = tuple(r[c].strip() for c in gen.COLUMNS[entity])
            if sig in seen:
                dropped += 1
            else:
                seen.add(sig)
                kept.append(r)
        labelled = [(r, self.reasons(entity, r)) for r in kept]
        key = gen.COLUMNS[entity][0]
        groups: dict[str, list[int]] = {}
        for i, (r, _) in enumerate(labelled):
            if not _missing(r[key]):
                groups.setdefault(r[key].strip(), []).append(i)
        for members in groups.values():
            if len(members) > 1:
                best = max(members, key=lambda i: self.rank(entity, *labelled[i]))
                for i in members:
                    if i != best:
                        labelled[i][1].append(f"duplicate_{key}")
        by_reason, combos, warns, clean_rows = Counter(), Counter(), Counter(), []
        for r, reasons in labelled:
            if reasons:
                combos["|".join(reasons)] += 1
                by_reason.update(reasons)
            else:
                clean_rows.append(r)
                warns.update(self.warns(entity, r))
        return {
            "total": len(rows),
            "clean": len(clean_rows),
            "quarantine": sum(combos.values()),
            "dropped_duplicates": dropped,
            "by_reason": dict(by_reason),
            "combos": combos,
            "warns": warns,
            "clean_rows": clean_rows,
        }


def test_reference_classification_matches_manifest(generated, tables):
    vocab = _vocab()
    _, manifest = generated
    master: set[str] = set()
    for day, info in manifest["days"].items():
        ref = _Reference(vocab, day, master)
        customers = ref.classify("customers", tables[day]["customers"])
        master |= {r["customer_id"].strip() for r in customers["clean_rows"]}
        assert len(master) == info["expected"]["customers"]["clean_ids_cumulative_count"]
        results = {"customers": customers}
        results["events"] = ref.classify("events", tables[day]["events"])
        results["orders"] = ref.classify("orders", tables[day]["orders"])
        for entity, got in results.items():
            exp = info["expected"][entity]
            for field in ("total", "clean", "quarantine", "dropped_duplicates", "by_reason"):
                assert got[field] == exp[field], (day, entity, field)
            # each quarantined row breaks exactly one rule
            assert all("|" not in combo for combo in got["combos"]), (day, entity, got["combos"])
            assert {c: got["warns"][c] for c in gen.WARN_CODES[entity]} == exp["warn_by_reason"], (day, entity)
        # hourly clean events recomputed from the text of the timestamps
        day_start = dt.datetime.fromisoformat(day).replace(tzinfo=dt.timezone.utc)
        hourly, outside = [0] * 24, 0
        for r in results["events"]["clean_rows"]:
            offset = (_ts(r["event_time"]) - day_start).total_seconds()
            if 0 <= offset < 86400:
                hourly[int(offset // 3600)] += 1
            else:
                assert -3600 <= offset < 0  # late events: 23:xx of the previous day
                outside += 1
        assert hourly == info["expected"]["events"]["hourly_clean_events"]
        assert outside == info["expected"]["events"]["events_outside_day"]


def test_no_event_row_of_a_partial_load_day_falls_in_the_missing_hours(generated, tables):
    _, manifest = generated
    for day, info in manifest["days"].items():
        day_start = dt.datetime.fromisoformat(day).replace(tzinfo=dt.timezone.utc)
        for value in tables[day]["events"]["event_time"].to_pylist():
            t = _ts(value)
            if t is None:
                continue
            offset = (t - day_start).total_seconds()
            assert -3600 <= offset < 86400, value
            if offset >= 0:
                assert int(offset // 3600) not in info["partial_load_hours"], value
