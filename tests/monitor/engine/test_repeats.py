"""Tasks read more than once: overlapping exports globbed together count a task once per copy.
The run says how many rows repeat a `task_id` and where two copies are; below 1% it says
nothing, and a large source is judged from a hash sample of its ids."""

from __future__ import annotations

import json

import duckdb
import pytest

from tests.monitor.conftest import write_events

NOW = "2026-11-24T12:00:00Z"


def _overlapping_exports(workspace, suffix: str = "parquet") -> tuple[str, int, int]:
    """Two exports of the refunds events with ids: everything, then November again, as a job
    exporting "recent days" writes them. (the glob, rows in all, rows that repeat an id)"""
    events = write_events(workspace.root / "all.parquet")
    number = "lpad(CAST(row_number() OVER (ORDER BY timestamp) AS TEXT), 6, '0')"
    with_ids = f"SELECT *, 't' || {number} AS task_id FROM '{events}'"
    folder = workspace.root / "exports"
    folder.mkdir()
    options = "(FORMAT parquet)" if suffix == "parquet" else "(HEADER)"
    duckdb.sql(f"COPY ({with_ids}) TO '{folder}/a-all.{suffix}' {options}")
    november = f"SELECT * FROM ({with_ids}) WHERE timestamp >= TIMESTAMPTZ '2026-11-01 00:00:00+00'"
    duckdb.sql(f"COPY ({november}) TO '{folder}/b-november.{suffix}' {options}")
    total = duckdb.sql(f"SELECT count(*) FROM '{events}'").fetchall()[0][0]
    repeated = duckdb.sql(f"SELECT count(*) FROM ({november})").fetchall()[0][0]
    return f"{folder}/*.{suffix}", total + repeated, repeated


def _run(govkit, events: str):
    result = govkit("monitor", "run", "--events", events, "--state", "state/monitor.db",
                    "--now", NOW, "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    return result


def _repeat_warnings(result) -> list[str]:
    found = [w for w in json.loads(result.stdout)["warnings"] if w.startswith("task_id:")]
    printed = [line for line in result.stderr.splitlines() if "task_id:" in line]
    assert printed == [f"govkit: WARNING: {w}" for w in found]
    return found


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_overlapping_exports_are_named_with_two_copies_of_a_task(govkit, workspace, suffix):
    events, rows, repeated = _overlapping_exports(workspace, suffix)
    first = duckdb.sql(  # the first repeated id in the November export, as numbered by its file
        f"SELECT task_id FROM '{workspace.root}/exports/b-november.{suffix}' LIMIT 1"
    ).fetchall()[0][0]
    result = _run(govkit, events)
    (warning,) = _repeat_warnings(result)
    share = f"{repeated / rows:.0%}"
    head, _, tail = warning.partition(" at ")
    assert head.startswith(f"task_id: {repeated:,} of {rows:,} events ({share}) repeat a task_id ")
    task_id = head.split("(")[-1].strip("'")
    row = int(task_id[1:])
    assert tail.startswith(
        f"a-all.{suffix}:{row} and b-november.{suffix}:{row - int(first[1:]) + 1}): every copy "
        "counts as a task, so counts, rates and the drift tests' confidence are inflated."
    )
    snapshot = json.loads((workspace.root / "state" / "monitor.json").read_text())
    assert warning in snapshot["warnings"]  # the dashboard shows it


def test_a_large_source_is_judged_from_a_sample_of_its_ids(govkit, workspace, monkeypatch):
    """Past SAMPLE_ROWS rows only 1 id in `every` is looked at (every copy of it): the share is
    an estimate, said as one, close to the truth."""
    monkeypatch.setattr("monitor.engine.repeats.SAMPLE_ROWS", 1_000)
    events, rows, repeated = _overlapping_exports(workspace)
    (warning,) = _repeat_warnings(_run(govkit, events))
    every = rows // 1_000
    assert f" of {rows:,} events (" in warning
    assert f", estimated from 1 task_id in {every:,}) repeat a task_id" in warning
    estimate = int(warning.split("about ")[1].split(" of")[0].replace(",", ""))
    assert abs(estimate - repeated) < 0.25 * repeated


def test_unique_ids_few_repeats_or_no_ids_say_nothing(govkit, workspace):
    events = write_events(workspace.root / "all.parquet")
    unique = workspace.root / "unique.parquet"
    duckdb.sql(f"COPY (SELECT *, 't' || row_number() OVER () AS task_id FROM '{events}') "
               f"TO '{unique}' (FORMAT parquet)")  # fmt: skip
    few = workspace.root / "few.parquet"  # 0.5% of the rows twice: not worth a warning
    duckdb.sql(f"COPY (SELECT * FROM '{unique}' UNION ALL (SELECT * FROM '{unique}' "
               f"USING SAMPLE 0.5 PERCENT (bernoulli, 1))) TO '{few}' (FORMAT parquet)")  # fmt: skip
    for source in (events, unique, few):
        assert _repeat_warnings(_run(govkit, str(source))) == []
