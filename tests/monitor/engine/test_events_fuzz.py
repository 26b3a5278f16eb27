"""Fuzz: the event reader ends in validated events or a located error (UsageError naming the
file), never another exception; what it keeps is typed, finite and in range, whatever the rows."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from monitor.engine.engines import open_engine
from monitor.engine.event_checks import MAX_MAGNITUDE
from monitor.engine.events import open_events
from playbook.core.errors import UsageError

COLUMNS = ["timestamp", "agent", "outcome", "latency_s", "cost_usd", "reworked", "task_id"]
ANY_JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=12),
        st.sampled_from(["NaN", "inf", "-Infinity", "1e308", "2026-11-20T10:00:00Z", "refunds"]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
PLAUSIBLE = {
    "timestamp": st.one_of(
        st.sampled_from(["2026-11-20T10:00:00Z", "2026-11-20 10:00:00+02:00", "10000-01-01"]),
        st.floats(min_value=-1e20, max_value=1e20),
        st.integers(min_value=-(2**63), max_value=2**63),
    ),
    "agent": st.sampled_from(["refunds", "ghost", "", " refunds ", 42]),
    "outcome": st.sampled_from(["success", "FAILURE", "escalated", "maybe", ""]),
}


def _row() -> st.SearchStrategy[dict]:
    values = {name: st.one_of(PLAUSIBLE.get(name, ANY_JSON), ANY_JSON) for name in COLUMNS}
    return st.fixed_dictionaries({}, optional=values)


def _assert_sane(path: Path) -> None:
    engine = open_engine("duckdb")
    try:
        events = open_events(str(path), engine, agents={"refunds"}, hourly_rate=60.0, custom=set())
        bad = events.check(max_fraction=1.0)
    except UsageError as exc:
        assert path.name in str(exc)
        engine.close()
        return
    try:
        valid = events.valid()
        (row,) = events.run(
            valid.aggregate(
                count=valid.count(),
                latency=valid.latency_s.sum(),
                cost_squares=(valid.cost_usd * valid.cost_usd).sum(),
                first=valid.ts.min(),
                last=valid.ts.max(),
            )
        ).to_pylist()
        count = row["count"]
        for total in (row["latency"], row["cost_squares"]):
            assert total is None or (
                math.isfinite(total) and abs(total) <= count * MAX_MAGNITUDE**2
            )
        if count:
            assert row["first"].year >= 1970 and row["last"].year <= 2999
        assert bad.total == count + bad.count
    finally:
        events.close()


@given(
    st.lists(_row(), min_size=1, max_size=12),
    st.lists(st.sampled_from(["", "x", "[1]", "{"]), max_size=2),
)
def test_json_lines_of_any_shape(tmp_path_factory, rows: list[dict], junk: list[str]) -> None:
    path = tmp_path_factory.mktemp("ev") / "events.jsonl"
    lines = [json.dumps(row) for row in rows] + junk
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _assert_sane(path)


@given(
    st.lists(
        st.lists(
            st.one_of(st.text(max_size=10), st.sampled_from(["nan", "1e308", "-1", "true"])),
            max_size=9,
        ),
        min_size=1,
        max_size=10,
    )
)
def test_csv_of_any_shape(tmp_path_factory, rows: list[list[str]]) -> None:
    path = tmp_path_factory.mktemp("ev") / "events.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    _assert_sane(path)
