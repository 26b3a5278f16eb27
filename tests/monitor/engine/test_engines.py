"""DuckDB and Spark give the same answers: the same bad rows, the same summaries, the same findings.

Spark runs as `local[2]` in this process (Java 17 and PySpark are installed by `make test`); the
tests skip, saying why, only where Java or PySpark is missing.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from monitor.engine.engines import open_engine
from monitor.engine.events import open_events
from monitor.engine.metrics import measure, window_stats
from monitor.run import RunOptions, run_monitor
from monitor.simulate import simulate, write_events
from playbook.core.settings import EngineSettings
from playbook.policy import load_governance
from tests.conftest import EXAMPLE_GOVERNANCE
from tests.monitor.conftest import write_events as write_refunds_events

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
SPARK = EngineSettings(kind="spark", master="local[2]")

pytestmark = pytest.mark.slow


def _missing_spark() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "PySpark is not installed (pip install 'agent-governance-kit[spark]')"
    if shutil.which("java") is None:
        return "Java is not on PATH: the Spark engine needs Java 17 or newer"
    return None


@pytest.fixture(scope="module")
def spark():
    reason = _missing_spark()
    if reason:
        pytest.skip(f"DuckDB/Spark parity not checked: {reason}")
    return open_engine("spark", SPARK)


@pytest.fixture(scope="module")
def governance():
    loaded = load_governance(EXAMPLE_GOVERNANCE, today=NOW.date())
    return dataclasses.replace(loaded, monitor=loaded.monitor.model_copy(update={"engine": SPARK}))


@pytest.fixture(scope="module")
def demo_events(tmp_path_factory, governance) -> Path:
    """The demo's events (`govkit events generate`: one planted drift, one planted breach)."""
    path = tmp_path_factory.mktemp("demo") / "events.parquet"
    columns, _, _ = simulate(governance, NOW, seed=3, tasks_per_day=60)
    write_events(columns, [c.id for c in governance.agents], path)
    return path


# --- row checks ---------------------------------------------------------------------------------

TEXT_ROWS = [
    # (timestamp, agent, outcome, latency_s, cost_usd, reworked): every row as text, as exports are
    ("2026-11-20T10:00:00Z", "refunds", "success", "1.5", "0.02", "false"),
    ("2026-11-20T11:00:00+01:00", "refunds", "FAILURE", "2", "0.01", "true"),
    ("1795168800", "refunds", "escalated", "", "0.03", ""),
    ("yesterday", "refunds", "success", "1", "0.01", "false"),
    ("2026-11-20T10:00:00Z", "refunds", "maybe", "1", "0.01", "false"),
    ("2026-11-20T10:00:00Z", "refunds", "success", "fast", "0.01", "false"),
    ("2026-11-20T10:00:00Z", "refunds", "success", "1", "-0.5", "false"),
    ("2026-11-20T10:00:00Z", "refunds", "success", "NaN", "0.01", "false"),
    ("2026-11-20T10:00:00Z", "refunds", "success", "1", "0.01", "perhaps"),
    ("2026-11-20T10:00:00Z", "ghost", "success", "1", "0.01", "false"),
    ("2026-11-20T10:00:00Z", "", "success", "1", "0.01", "false"),
    ("10000-01-01T00:00:00Z", "refunds", "success", "1", "0.01", "false"),
    (" 2026-11-20T10:00:00Z\t", " refunds ", " Success ", " 1.5 ", "0.02\t", " TRUE "),
    ("\t1795168800 ", "refunds\t", "ESCALATED", "\t2", " 0.01", "False"),
    ("2026-11-20T10:00:00Z", "refunds", "success", "-Infinity", "0.01", "false"),
    ("2026-11-20T10:00:00Z", "refunds", "success", "1", "1e13", "false"),
    ("2026-11-20T10:00:00Z", "refunds", "success", "1", "0.01", "1.0"),  # pandas' flags
    ("2026-11-20T10:00:00Z", "refunds", "success", "1", "0.01", " 0.0"),
    ("2026-11-20T10:00:00Z", "refunds", "success", "1", "0.01", "2.0"),
]


@pytest.fixture(scope="module")
def text_parquet(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("text") / "events.parquet"
    names = ("timestamp", "agent", "outcome", "latency_s", "cost_usd", "reworked")
    frame = pa.table({name: [row[i] for row in TEXT_ROWS] * 3 for i, name in enumerate(names)})
    pq.write_table(frame, path)
    return path


def _bad_rows(path: Path, engine):
    events = open_events(str(path), engine, agents={"refunds"}, hourly_rate=60.0, custom=set())
    bad = events.check(max_fraction=1.0)
    valid = events.valid()
    (sums,) = events.run(
        valid.aggregate(n=valid.count(), latency=valid.latency_s.sum(), first=valid.ts.min())
    ).to_pylist()
    return bad, sums


def test_the_same_rows_are_bad_for_the_same_reasons_with_the_same_examples(spark, text_parquet):
    duck_bad, duck_sums = _bad_rows(text_parquet, open_engine("duckdb"))
    spark_bad, spark_sums = _bad_rows(text_parquet, spark)

    assert duck_bad.by_reason == {
        "bad_timestamp": 6, "bad_outcome": 3, "bad_value": 18, "negative_value": 3,
        "missing_agent": 3, "unknown_agent": 3,
    }  # fmt: skip
    assert spark_bad.by_reason == duck_bad.by_reason
    assert spark_bad.examples == duck_bad.examples
    assert duck_bad.examples["bad_outcome"] == ["events.parquet:5", "events.parquet:24",
                                                "events.parquet:43"]  # fmt: skip
    assert spark_sums == duck_sums
    assert duck_sums["n"] == 21  # blanks around a value are not an error; 1.0 is a flag


# --- summaries and findings ---------------------------------------------------------------------


def _close(left: float | None, right: float | None) -> bool:
    if left is None or right is None:
        return left is right
    if isinstance(left, float) and math.isnan(left):
        return isinstance(right, float) and math.isnan(right)
    return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-12)


def test_summaries_are_equal_on_both_engines(spark, governance, demo_events):
    duck, duck_bad = measure(str(demo_events), governance, governance.agents, NOW,
                             engine="duckdb")  # fmt: skip
    sparked, spark_bad = measure(str(demo_events), governance, governance.agents, NOW,
                                 engine="spark")  # fmt: skip

    assert duck.valid_tasks() == sparked.valid_tasks() > 10_000
    assert duck_bad.by_reason == spark_bad.by_reason
    left, right = window_stats(duck, governance.agents), window_stats(sparked, governance.agents)
    assert left.keys() == right.keys()
    for key, summary in left.items():
        other = right[key]
        assert (summary.n, summary.matches) == (other.n, other.matches), key
        assert _close(summary.value, other.value), key
        assert summary.sums.keys() == other.sums.keys(), key
        for name, value in summary.sums.items():
            assert _close(value, other.sums[name]), (key, name)
        if summary.histogram is not None:
            assert summary.histogram.codes.tolist() == other.histogram.codes.tolist(), key
            assert summary.histogram.counts.tolist() == other.histogram.counts.tolist(), key


def _run(governance, events: Path, engine: str, state: Path) -> dict:
    options = RunOptions(events=str(events), now=NOW, state=state, engine=engine)
    report = run_monitor(governance, options)
    return report.to_json() | {
        "tasks": report.tasks,
        "checks": [c.to_json() for c in report.checks],
    }


def _findings(report: dict) -> dict:
    return {(f["agent"], f["metric"], f.get("aspect")): f for f in report["findings"]}


def _latency_tail_events(path: Path) -> Path:
    """refunds with its latency's upper tail stretched in the recent week, median unchanged."""
    write_refunds_events(path, rollback_rate=0.03)
    connection = duckdb.connect()
    start = (NOW - timedelta(days=7)).isoformat()
    connection.execute(
        f"COPY (SELECT * REPLACE (CASE WHEN timestamp >= '{start}'::TIMESTAMPTZ "
        "AND latency_s > exp(1.0) THEN exp(1.0) + (latency_s - exp(1.0)) * 1.8 "
        f"ELSE latency_s END AS latency_s) FROM read_parquet('{path}')) "
        f"TO '{path.with_name('tail.parquet')}' (FORMAT parquet)"
    )
    connection.close()
    return path.with_name("tail.parquet")


@pytest.mark.parametrize("scenario", ["demo", "stop-breach-and-tail"])
def test_findings_are_equal_on_both_engines(spark, governance, demo_events, tmp_path, scenario):
    events = demo_events
    if scenario != "demo":
        events = _latency_tail_events(tmp_path / "refunds.parquet")

    duck = _run(governance, events, "duckdb", tmp_path / "duck" / "m.db")
    sparked = _run(governance, events, "spark", tmp_path / "spark" / "m.db")

    assert duck["tasks"] == sparked["tasks"]
    assert duck["bad_rows"] == sparked["bad_rows"]
    left, right = _findings(duck), _findings(sparked)
    assert left.keys() == right.keys()
    verdicts = [f["verdict"] for f in left.values()]
    assert "drift" in verdicts  # the scenario plants a drift that both engines must see
    for key, finding in left.items():
        other = right[key]
        for name in ("verdict", "n_baseline", "n_recent", "test"):
            assert finding[name] == other[name], (key, name)
        for name in ("baseline", "recent", "statistic", "p_value", "q_value", "effect"):
            assert _close(finding[name], other[name]), (key, name, finding[name], other[name])
    assert [c["status"] for c in duck["checks"]] == [c["status"] for c in sparked["checks"]]
    assert sorted(a["labels"]["alertname"] + a["labels"].get("agent", "") for a in duck["alerts"]) \
        == sorted(a["labels"]["alertname"] + a["labels"].get("agent", "") for a in sparked["alerts"])  # fmt: skip


def test_a_missing_column_is_the_same_usage_error(spark, tmp_path):
    path = tmp_path / "events.parquet"
    duckdb.sql(f"COPY (SELECT 'refunds' AS agent) TO '{path}' (FORMAT parquet)")
    from playbook.core.errors import UsageError

    messages = []
    for engine in (open_engine("duckdb"), spark):
        with pytest.raises(UsageError) as caught:
            open_events(str(path), engine, agents={"refunds"}, hourly_rate=60.0, custom=set())
        messages.append(str(caught.value))
    assert "missing required column(s) timestamp, outcome; found agent" in messages[1]
    assert messages[0].split(":", 1)[1] == messages[1].split(":", 1)[1]


def test_columns_the_events_lack_are_unmeasured_alike_on_both_engines(
    spark, governance, demo_events, tmp_path
):
    events = tmp_path / "events.parquet"
    duckdb.sql(f"COPY (SELECT * EXCLUDE (latency_s, rolled_back) FROM '{demo_events}') "
               f"TO '{events}' (FORMAT parquet)")  # fmt: skip
    duck = _run(governance, events, "duckdb", tmp_path / "duck" / "monitor.db")
    sparked = _run(governance, events, "spark", tmp_path / "spark" / "monitor.db")
    lacking = [w for w in duck["warnings"] if "cannot be measured" in w]
    assert [w.split(":")[0] for w in lacking] == [
        "the events have no column latency_s", "the events have no column rolled_back"
    ]  # fmt: skip
    assert sparked["warnings"] == duck["warnings"]
    unmeasured = {key for key, f in _findings(duck).items() if f["verdict"] == "insufficient_data"}
    assert {metric for _, metric, _ in unmeasured} == {"latency_s", "rollback_rate"}
    assert unmeasured == {
        key for key, f in _findings(sparked).items() if f["verdict"] == "insufficient_data"
    }
    assert [c["status"] for c in duck["checks"]] == [c["status"] for c in sparked["checks"]]


def test_parquet_files_that_gained_a_column_are_read_alike(spark, tmp_path):
    select = ("SELECT TIMESTAMPTZ '2026-11-20 10:00:00+00' AS timestamp, 'refunds' AS agent, "
              "'success' AS outcome, 2.5 AS latency_s{more} FROM range({rows})")  # fmt: skip
    duckdb.sql(f"COPY ({select.format(more='', rows=3)}) TO '{tmp_path / 'a.parquet'}'")
    newer = select.format(more=", 4.5::DOUBLE AS reviewer_minutes", rows=2)
    duckdb.sql(f"COPY ({newer}) TO '{tmp_path / 'b.parquet'}'")
    sums = []
    for engine in (open_engine("duckdb"), spark):
        events = open_events(str(tmp_path / "*.parquet"), engine, agents={"refunds"},
                             hourly_rate=60.0, custom=set())  # fmt: skip
        valid = events.valid()
        (found,) = events.run(
            valid.aggregate(n=valid.count(), minutes=valid.reviewer_minutes.sum())
        ).to_pylist()
        sums.append(found)
    assert sums[0] == sums[1] == {"n": 5, "minutes": 9.0}


def test_spark_names_the_column_whose_type_the_files_disagree_on(spark, tmp_path):
    from playbook.core.errors import UsageError

    select = ("SELECT TIMESTAMPTZ '2026-11-20 10:00:00+00' AS timestamp, 'refunds' AS agent, "
              "'success' AS outcome, {latency} AS latency_s")  # fmt: skip
    duckdb.sql(f"COPY ({select.format(latency='2')}) TO '{tmp_path / 'a.parquet'}'")
    duckdb.sql(f"COPY ({select.format(latency='2.75::DOUBLE')}) TO '{tmp_path / 'b.parquet'}'")
    spec = str(tmp_path / "*.parquet")
    with pytest.raises(UsageError) as caught:
        open_events(spec, spark, agents={"refunds"}, hourly_rate=60.0, custom=set())
    assert str(caught.value) == (
        f"{spec}: the files do not agree on a column's type (column 'latency_s' is INTEGER in "
        "a.parquet but DOUBLE in b.parquet); the spark engine reads one type per column across "
        "the files: rewrite them with one type, or use --engine duckdb, which widens them"
    )


def test_spark_refuses_a_gzipped_csv_by_its_format(spark, tmp_path):
    from playbook.core.errors import UsageError

    zipped = tmp_path / "events.csv.gz"
    zipped.write_bytes(b"")
    with pytest.raises(UsageError, match=r"reads Parquet files, directories or globs and tables, "
                       r"not \.csv files; use --engine duckdb"):  # fmt: skip
        open_events(str(zipped), spark, agents={"refunds"}, hourly_rate=60.0, custom=set())


def test_spark_reads_a_table_by_name(spark, demo_events):
    spark.session.read.parquet(str(demo_events)).createOrReplaceTempView("agent_events")
    duck = open_events(str(demo_events), open_engine("duckdb"), agents={"refunds"},
                       hourly_rate=60.0, custom=set()).check()  # fmt: skip
    by_name = open_events("agent_events", spark, agents={"refunds"}, hourly_rate=60.0,
                          custom=set()).check()  # fmt: skip
    assert by_name.by_reason == duck.by_reason
    assert np.isclose(by_name.total, duck.total)


def test_the_cli_runs_on_spark_and_says_what_spark_cannot_read(
    spark, demo_events, govkit, tmp_path
):
    common = ["--governance", str(EXAMPLE_GOVERNANCE), "--now", "2026-11-24T12:00:00Z",
              "--format", "json"]  # fmt: skip
    duck = govkit("monitor", "run", "--events", str(demo_events), "--state",
                  str(tmp_path / "d" / "m.db"), *common)  # fmt: skip
    sparked = govkit("monitor", "run", "--engine", "spark", "--events", str(demo_events),
                     "--state", str(tmp_path / "s" / "m.db"), *common)  # fmt: skip
    assert duck.exit_code == sparked.exit_code == 0, sparked.stderr
    verdicts = [(f["agent"], f["metric"], f["aspect"], f["verdict"])
                for f in json.loads(duck.stdout)["findings"]]  # fmt: skip
    assert verdicts == [(f["agent"], f["metric"], f["aspect"], f["verdict"])
                        for f in json.loads(sparked.stdout)["findings"]]  # fmt: skip

    csv = tmp_path / "events.csv"
    csv.write_text("timestamp,agent,outcome\n2026-11-20T10:00:00Z,refunds,success\n")
    result = govkit("monitor", "run", "--engine", "spark", "--events", str(csv), "--state",
                    str(tmp_path / "c" / "m.db"), *common)  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr == (
        f"{csv}: the spark engine reads Parquet files, directories or globs and tables, "
        "not .csv files; use --engine duckdb, or convert it first (govkit events import writes "
        "Parquet)\n"
    )


def test_uncharted_agents_are_counted_alike_on_both_engines(spark, governance, tmp_path):
    from monitor.engine.uncharted import uncharted

    path = tmp_path / "events.parquet"
    stamps = [NOW - timedelta(days=days, hours=1) for days in (20, 9, 3, 1)] + [NOW]
    frame = pa.table({
        "timestamp": pa.array(stamps * 2, pa.timestamp("us", tz="UTC")),
        "agent": ["ghost"] * 5 + ["refunds"] * 5,
        "outcome": ["success"] * 10,
    })  # fmt: skip
    pq.write_table(frame, path)

    found = {}
    for name in ("duckdb", "spark"):
        summaries, _ = measure(str(path), governance, governance.agents, NOW, engine=name)
        found[name] = uncharted(summaries.groups)

    [ghost] = found["duckdb"]
    # the task at `now` is not before it; 2 of the others are in the last 7 days
    assert (ghost.agent, ghost.tasks, ghost.recent_tasks) == ("ghost", 4, 2)
    assert (ghost.first_seen, ghost.last_seen) == (stamps[0], stamps[3])
    assert found["spark"] == found["duckdb"]


def test_each_rows_windows_are_its_groups_on_spark_too(spark):
    """Spark's microseconds since midnight (`unix_micros`) place rows against bounds a quarter
    second past a minute, at midnights, at half past midnight and at a bound alone at its time
    of day, as DuckDB's do."""
    from tests.monitor.engine.test_segments import _plan, placed

    plan = _plan()
    masks, expected = placed(spark, plan, with_days=True, agents=list(plan.windows))
    assert masks == expected


# --- DuckDB's own result conversion -------------------------------------------------------------


def test_duckdb_results_come_back_as_pyarrow_would_convert_them():
    """DuckDB's results skip Ibis' and pyarrow's conversions (both import pandas): NULLs, the
    HUGEINT of an integer sum and text must come back as those conversions gave them."""
    import ibis.expr.datatypes as dt

    engine = open_engine("duckdb")
    when = datetime(2026, 11, 20, tzinfo=UTC)
    table = engine.small_table(
        {"agent": ["a", "b", None], "n": [1, None, 3], "at": [when, None, when],
         "flag": [True, False, None], "x": [1.5, None, 2.5]},
        {"agent": dt.string, "n": dt.int64, "at": dt.Timestamp(timezone="UTC"),
         "flag": dt.boolean, "x": dt.float64},
    )  # fmt: skip
    query = table.group_by("agent").aggregate(
        total=table.n.sum(), first=table.at.min(), flag=table.flag.any(), x=table.x.max()
    ).order_by("agent")  # fmt: skip
    mine = engine.to_numpy(query)
    arrow = engine.to_arrow(query)
    for name in arrow.column_names:
        expected = arrow.column(name).to_numpy(zero_copy_only=False)
        if name == "agent":
            expected = np.array(arrow.column(name).to_pylist(), dtype=object)
        assert mine[name].dtype == expected.dtype, name
        assert [str(v) for v in mine[name]] == [str(v) for v in expected], name
    assert mine["total"].dtype == np.int64 or np.isnan(mine["total"]).any()
    assert list(mine["agent"]) == ["a", "b", None]


def test_a_monitor_pass_on_duckdb_never_imports_pandas(demo_events):
    """pandas costs a third of a CPU second to import: more than a whole pass on a small source."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from datetime import datetime\n"
        "from pathlib import Path\n"
        "from monitor.engine.metrics import measure\n"
        "from playbook.policy import load_governance\n"
        f"NOW = datetime.fromisoformat({NOW.isoformat()!r})\n"
        f"g = load_governance(Path({str(EXAMPLE_GOVERNANCE)!r}), today=NOW.date())\n"
        f"measure({str(demo_events)!r}, g, g.agents, NOW, engine='duckdb')\n"
        "print('pandas' in sys.modules)\n"
    )
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=root, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize("sample_rows", [200_000, 2_000])
def test_tasks_read_twice_are_found_alike_on_both_engines(
    spark, governance, demo_events, tmp_path, monkeypatch, sample_rows
):
    """Overlapping exports: every id counted exactly on both engines (the same warning), or, past
    the sample size, estimated on each from its own hash sample, both close to the truth."""
    monkeypatch.setattr("monitor.engine.repeats.SAMPLE_ROWS", sample_rows)
    folder = tmp_path / "exports"
    folder.mkdir()
    duckdb.sql(f"COPY (SELECT * FROM '{demo_events}') TO '{folder}/a.parquet' (FORMAT parquet)")
    last_week = f"timestamp >= TIMESTAMPTZ '{(NOW - timedelta(days=7)).isoformat()}'"
    duckdb.sql(f"COPY (SELECT * FROM '{demo_events}' WHERE {last_week}) "
               f"TO '{folder}/b.parquet' (FORMAT parquet)")  # fmt: skip
    repeated = duckdb.sql(f"SELECT count(*) FROM '{folder}/b.parquet'").fetchall()[0][0]
    found = {}
    for engine in ("duckdb", "spark"):
        summaries, _ = measure(f"{folder}/*.parquet", governance, governance.agents, NOW,
                               engine=engine)  # fmt: skip
        found[engine] = summaries.repeats
    duck, sparked = found["duckdb"], found["spark"]
    assert duck.rows == sparked.rows == repeated + len(pq.read_table(demo_events))
    if duck.every == 1:
        assert duck == sparked
        assert duck.repeated == repeated
        row = int(duck.task_id[1:])  # the smallest id read twice: the first of b.parquet
        assert duck.places == [f"a.parquet:{row}", "b.parquet:1"]
    else:
        assert duck.every == sparked.every > 1
        for estimate in (duck.repeated, sparked.repeated):
            assert abs(estimate - repeated) < 0.25 * repeated


def test_a_refusal_gives_the_same_hints_on_both_engines(spark, text_parquet):
    """Too many bad rows: the same counts, examples and hints (the first bad timestamp, the
    outcomes that could not be read) whichever engine read them."""
    from playbook.core.errors import UsageError

    messages = []
    for engine in (open_engine("duckdb"), spark):
        events = open_events(str(text_parquet), engine, agents={"refunds"}, hourly_rate=60.0,
                             custom=set())  # fmt: skip
        with pytest.raises(UsageError) as caught:
            events.check(max_fraction=0.01)
        messages.append(str(caught.value).split(":", 1)[1])
    assert messages[0] == messages[1]
    assert "Hint: the first bad timestamp (events.parquet:4) reads 'yesterday'" in messages[0]
    assert "Hint: the outcomes govkit cannot read are 'maybe' (3 rows)" in messages[0]
    assert messages[0].endswith(
        "Hint: the first bad value (events.parquet:6): latency_s reads 'fast'"
    )
