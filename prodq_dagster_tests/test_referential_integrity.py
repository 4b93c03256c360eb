"""Referential integrity against the customer master as of day D, across materialization orders.

Hand-written feeds over four days:

* day 1 delivers customer C1; day 2's customers file is a partial snapshot without C1;
* day 3's events and orders reference C1 (seen two days earlier: not an orphan), C3 (delivered
  the same day) and C9, which is first delivered on day 4 (an orphan on day 3);
* day 4 delivers C9.

Day 3 must give the same clean/quarantine output whether day 4 was materialized before it
or not, and a rerun of day 3 after day 4 must not change it.
"""

from __future__ import annotations

from prodq_dagster_tests.conftest import replace_settings as replace
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from prodq_dagster.settings import ProdqSettings as Settings

from .conftest import materialize_day, write_csv

D1, D2, D3, D4 = "2025-11-01", "2025-11-02", "2025-11-03", "2025-11-04"
ORPHAN = "orphan_customer_id"


def _customer(cid: str, day: str) -> dict:
    return {
        "customer_id": cid,
        "email": f"{cid.lower()}@example.com",
        "created_at": f"{day} 08:00:00",
        "country": "US",
        "status": "active",
        "ingest_date": day,
    }


def _event(eid: str, cid: str, day: str, hour: int) -> dict:
    return {
        "event_id": eid,
        "customer_id": cid,
        "event_time": f"{day} {hour:02d}:15:00",
        "event_type": "page_view",
        "platform": "web",
        "session_id": f"S-{eid}",
        "duration_ms": "1200",
        "ingest_date": day,
    }


def _order(oid: str, cid: str, day: str, hour: int) -> dict:
    return {
        "order_id": oid,
        "customer_id": cid,
        "order_time": f"{day} {hour:02d}:30:00",
        "amount": "19.99",
        "currency": "USD",
        "status": "paid",
        "ingest_date": day,
    }


def _write_feeds(raw_dir: str) -> None:
    customers = {D1: ["C1", "C2"], D2: ["C2"], D3: ["C3"], D4: ["C9"]}
    for day, ids in customers.items():
        write_csv(raw_dir, day, "customers", [_customer(cid, day) for cid in ids])
    for day in (D1, D2, D4):
        write_csv(raw_dir, day, "events", [_event(f"E{day[-1]}01", "C2", day, 10)])
        write_csv(raw_dir, day, "orders", [_order(f"O{day[-1]}01", "C2", day, 11)])
    write_csv(
        raw_dir,
        D3,
        "events",
        [_event("E301", "C1", D3, 9), _event("E302", "C9", D3, 10), _event("E303", "C3", D3, 11)],
    )
    write_csv(
        raw_dir,
        D3,
        "orders",
        [_order("O301", "C1", D3, 9), _order("O302", "C9", D3, 10), _order("O303", "C3", D3, 11)],
    )


def _read(settings, kind: str, entity: str, day: str):
    return pq.read_table(Path(settings.out_dir) / kind / entity / f"ingest_date={day}" / "part-0.parquet")


def _day3_outputs(settings) -> dict:
    return {
        (kind, entity): _read(settings, kind, entity, D3)
        for kind in ("clean", "quarantine")
        for entity in ("events", "orders")
    }


def _assert_day3_integrity(outputs: dict) -> None:
    clean_events = outputs[("clean", "events")].to_pydict()
    assert sorted(clean_events["event_id"]) == ["E301", "E303"]
    assert sorted(clean_events["customer_id"]) == ["C1", "C3"]
    q_events = outputs[("quarantine", "events")].to_pydict()
    assert q_events["event_id"] == ["E302"]
    assert q_events["reject_reason"] == [ORPHAN]

    clean_orders = outputs[("clean", "orders")].to_pydict()
    assert sorted(clean_orders["order_id"]) == ["O301", "O303"]
    q_orders = outputs[("quarantine", "orders")].to_pydict()
    assert q_orders["order_id"] == ["O302"]
    assert q_orders["reject_reason"] == [ORPHAN]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Materialize the four days in two orders, against a temporary Dagster instance.

    ``forward``: days 1, 2, 3 (day-3 snapshot), then day 4 and day 3 again (second snapshot).
    ``backward``: day 4 first, then days 2, 1 and 3, into a separate output root.
    """
    root = tmp_path_factory.mktemp("referential_integrity")
    home = root / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    base = replace(Settings(), raw_dir=str(root / "raw"), partitions_start="2025-01-01")
    _write_feeds(base.raw_dir)
    forward = replace(base, out_dir=str(root / "forward_out"), reports_dir=str(root / "forward_reports"))
    backward = replace(base, out_dir=str(root / "backward_out"), reports_dir=str(root / "backward_reports"))

    snapshots = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(home))
        with dg.DagsterInstance.get() as instance:
            for day in (D1, D2, D3):
                assert materialize_day(forward, day, instance).success, day
            snapshots["forward"] = _day3_outputs(forward)
            for day in (D4, D3):
                assert materialize_day(forward, day, instance).success, day
            snapshots["rerun"] = _day3_outputs(forward)
            for day in (D4, D2, D1, D3):
                assert materialize_day(backward, day, instance).success, day
            snapshots["backward"] = _day3_outputs(backward)
    return {"forward": forward, "backward": backward, **{f"day3_{k}": v for k, v in snapshots.items()}}


def test_customer_seen_days_earlier_is_not_an_orphan_and_later_one_is(runs):
    # The partial day-2 snapshot (no C1) did not drop C1 from the master.
    assert _read(runs["forward"], "clean", "customers", D2).column("customer_id").to_pylist() == ["C2"]
    _assert_day3_integrity(runs["day3_forward"])


def test_rerun_after_a_later_day_gives_the_same_answer(runs):
    _assert_day3_integrity(runs["day3_rerun"])
    for key, table in runs["day3_forward"].items():
        assert runs["day3_rerun"][key].equals(table), key
    # C9 is a customer from day 4 on: in day 4's master, not in day 3's.
    master = {
        day: set(_read(runs["forward"], "master", "customers", day).column("customer_id").to_pylist()) for day in (D3, D4)
    }
    assert master[D3] == {"C1", "C2", "C3"}
    assert master[D4] == {"C1", "C2", "C3", "C9"}


def test_backfill_order_does_not_change_the_answer(runs):
    # Day 4 was materialized first (C9 already clean in the output) and day 3 last.
    _assert_day3_integrity(runs["day3_backward"])
    for key, table in runs["day3_forward"].items():
        assert runs["day3_backward"][key].equals(table), key
