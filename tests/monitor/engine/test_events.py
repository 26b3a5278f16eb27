"""Reading events: every format, every kind of bad row reported with its rows and skipped."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb
import pytest

from monitor.engine.engines import open_engine
from monitor.engine.events import BadRows, Events, open_events
from playbook.core.errors import UsageError
from tests.conftest import EXAMPLE_GOVERNANCE

HEADER = "timestamp,agent,outcome,latency_s,cost_usd,reviewer_minutes,reworked\n"
GOOD = "2026-11-20T10:00:00+00:00,refunds,success,1.5,0.02,3,false\n"
BAD = {
    "bad_timestamp": "yesterday,refunds,success,1,0.01,1,false\n",
    "bad_outcome": "2026-11-20T10:00:00Z,refunds,maybe,1,0.01,1,false\n",
    "bad_value": "2026-11-20T10:00:00Z,refunds,success,fast,0.01,1,false\n",
    "negative_value": "2026-11-20T10:00:00Z,refunds,success,1,-0.01,1,false\n",
    "unknown_agent": "2026-11-20T10:00:00Z,ghost,success,1,0.01,1,false\n",
    "missing_agent": "2026-11-20T10:00:00Z,,success,1,0.01,1,false\n",
}


class Loaded:
    """A source's checked rows: its bad rows, and its valid rows to query as table `events`."""

    def __init__(self, events: Events, bad_rows: BadRows) -> None:
        self.events, self.bad_rows = events, bad_rows

    def query(self, sql: str) -> duckdb.DuckDBPyConnection:
        connection = duckdb.connect()
        connection.execute("SET TimeZone = 'UTC'")
        connection.register("events", self.events.run(self.events.valid()))
        return connection.execute(sql)


def load(spec: str | Path, max_bad_fraction: float = 1.0) -> Loaded:
    events = open_events(
        str(spec), open_engine("duckdb"), agents={"refunds"}, hourly_rate=60.0, custom=set()
    )
    return Loaded(events, events.check(max_bad_fraction))


def test_each_bad_row_is_counted_by_reason_with_its_row(tmp_path):
    rows = [GOOD] * 3 + list(BAD.values()) + [GOOD]
    path = tmp_path / "events.csv"
    path.write_text(HEADER + "".join(rows))

    store = load(path)

    assert store.bad_rows.by_reason == dict.fromkeys(BAD, 1)
    assert store.bad_rows.examples == {
        reason: [f"events.csv:{4 + index}"] for index, reason in enumerate(BAD)
    }
    assert store.query("SELECT count(*) FROM events").fetchone() == (4,)


def test_valid_rows_skip_the_checks_only_when_a_pass_found_no_row_failing_them(tmp_path):
    """`valid(reasons)` is the summary pass's shortcut: with no bad row among the reasons the
    pass found (an agent without a charter is not bad), the rows are joined to the charters
    unchecked; with any bad row, the checks run again. Either way: the same valid rows."""

    def valid_rows(store, reasons=None):
        table = store.events.valid(reasons).select("agent", "_row", "cost_usd")
        return sorted(store.events.run(table).to_pylist(), key=lambda row: row["_row"])

    clean = tmp_path / "clean.csv"
    clean.write_text(HEADER + GOOD * 3 + BAD["unknown_agent"])
    store = load(clean)
    assert store.bad_rows.by_reason == {"unknown_agent": 1}
    checked = valid_rows(store)
    assert [row["_row"] for row in checked] == [1, 2, 3]
    assert valid_rows(store, {"unknown_agent"}) == checked
    assert "reason" not in store.events.valid({"unknown_agent"}).columns  # no checks computed

    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + GOOD * 3 + BAD["unknown_agent"] + BAD["negative_value"])
    store = load(bad)
    assert valid_rows(store, set(store.bad_rows.by_reason)) == checked


def test_a_custom_column_reads_numbers_and_flags_alike(tmp_path):
    """A catalog's own column is a number or a flag: true/false (any spelling a flag may have,
    pandas' 1.0/0.0 too) count as 1 and 0, numbers as themselves; text that is neither is a bad
    value."""
    cells = ["true", "false", "1", "0", "2.5", "1.0", "TRUE", " yes ", "", "-3"]
    lines = [f"2026-11-20T10:00:00Z,refunds,success,{cell}\n" for cell in cells]
    path = tmp_path / "events.csv"
    path.write_text(
        "timestamp,agent,outcome,tokens\n"
        + "".join(lines)
        + "2026-11-20T10:00:00Z,refunds,success,many\n"
    )
    events = open_events(
        str(path), open_engine("duckdb"), agents={"refunds"}, hourly_rate=60.0, custom={"tokens"}
    )
    read = events.run(events.valid().select("_row", "tokens").order_by("_row")).to_pylist()

    assert [row["tokens"] for row in read] == [1.0, 0.0, 1.0, 0.0, 2.5, 1.0, 1.0, 1.0, None, -3.0]
    assert events.check().by_reason == {"bad_value": 1}


EPOCH_2026_11_20 = 1795132800  # 2026-11-20T00:00:00Z in epoch seconds


@pytest.mark.parametrize(
    ("name", "stamps", "hint"),
    [
        ("ms.csv", [EPOCH_2026_11_20 * 1000 + i * 60_000 for i in range(40)],
         "Hint: the timestamps look like epoch milliseconds (1795135140000 is "
         "2026-11-20T00:39:00Z in milliseconds); govkit reads epoch seconds: divide them by "
         "1,000, or write ISO 8601"),
        ("us.parquet", [EPOCH_2026_11_20 * 10**6] * 40,
         "Hint: the timestamps look like epoch microseconds (1795132800000000 is "
         "2026-11-20T00:00:00Z in microseconds); govkit reads epoch seconds: divide them by "
         "1,000,000, or write ISO 8601"),
        ("ns.csv", [str(EPOCH_2026_11_20 * 10**9)] * 40, "epoch nanoseconds"),
        ("far.csv", [str(10**20)] * 40,  # past 2999 in every unit
         "Hint: the first bad timestamp (far.csv:1) reads"),
        ("us.csv", ["11/20/2026 10:00"] * 40,
         "Hint: the first bad timestamp (us.csv:1) reads '11/20/2026 10:00'; a timestamp is "
         "ISO 8601 with an offset (2026-11-20T10:00:00Z) or epoch seconds, from 1970 to 2999"),
    ],
)  # fmt: skip
def test_a_refusal_for_bad_timestamps_says_what_they_look_like(tmp_path, name, stamps, hint):
    """Epoch milliseconds (JavaScript's Date.now()) and finer are bad_timestamp, as the contract
    says; the refusal says which unit they look like and what to do, or else what the first bad
    timestamp reads and what a timestamp must be."""
    path = tmp_path / name
    values = ", ".join(f"({stamp!r})" for stamp in stamps)
    duckdb.sql(
        f"COPY (SELECT col0 AS timestamp, 'refunds' AS agent, 'success' AS outcome "
        f"FROM (VALUES {values})) TO '{path}'"
    )
    with pytest.raises(UsageError) as caught:
        load(path, max_bad_fraction=0.01)
    message = str(caught.value)
    assert "40 of 40 rows are invalid (100.0%)" in message
    assert hint in message and message.count("Hint") == 1


EXPORTS = (
    "SELECT TIMESTAMPTZ '2026-11-20 10:00:00+00' AS timestamp, 'refunds' AS agent, "
    "'success' AS outcome, {latency} AS latency_s{more} FROM range({rows})"
)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
@pytest.mark.parametrize("older_first", [True, False])
def test_files_of_one_glob_line_up_by_column_name(tmp_path, suffix, older_first):
    """Daily exports gain a column, or a wider type, over time: a glob over them reads every
    column any file has (empty where a file lacks it) and every value in full (before, the
    first file's columns won: a later column vanished, 2.75 s read as 3 s)."""
    older = EXPORTS.format(latency="CAST(2 AS INTEGER)", more="", rows=3)
    newer = EXPORTS.format(latency="2.75::DOUBLE", more=", 4.5::DOUBLE AS reviewer_minutes", rows=2)
    names = ["a", "b"] if older_first else ["b", "a"]
    for name, select in zip(names, [older, newer], strict=True):
        duckdb.sql(f"COPY ({select}) TO '{tmp_path / (name + suffix)}'")
    loaded = load(tmp_path / f"*{suffix}")
    assert loaded.bad_rows.by_reason == {}
    rows = loaded.query(
        "SELECT latency_s, reviewer_minutes FROM events ORDER BY latency_s, reviewer_minutes"
    ).fetchall()
    assert rows == [(2.0, None)] * 3 + [(2.75, 4.5)] * 2


def test_a_csv_excel_saved_with_its_sep_line_is_read_by_it(tmp_path):
    """Excel (in a locale whose lists use ';') saves `sep=;` above the header: the file is read
    with that delimiter, beside a plain CSV of the same glob; a line that does not parse is
    still named by its line in the file (the sep line counts)."""
    (tmp_path / "a-excel.csv").write_text(
        "sep=;\r\ntimestamp;agent;outcome;latency_s\r\n"
        "2026-11-20T10:00:00Z;refunds;success;1,5\r\n"  # a decimal comma: bad_value
        "2026-11-20T11:00:00Z;refunds;failure;2\r\n"
        "2026-11-20T12:00:00Z;refunds;success;3;extra\r\n",  # a column too many: bad_csv
        encoding="utf-8-sig",
    )
    (tmp_path / "b-plain.csv").write_text(
        "timestamp,agent,outcome,latency_s\n2026-11-21T10:00:00Z,refunds,success,4\n"
    )
    loaded = load(tmp_path / "*.csv")
    assert loaded.bad_rows.by_reason == {"bad_csv": 1, "bad_value": 1}
    assert loaded.bad_rows.examples == {
        "bad_csv": ["a-excel.csv:line 5"], "bad_value": ["a-excel.csv:1"]
    }  # fmt: skip
    assert loaded.query("SELECT outcome, latency_s FROM events ORDER BY 2").fetchall() == [
        ("failure", 2.0), ("success", 4.0)
    ]  # fmt: skip


def test_a_sep_line_does_not_hide_a_header_naming_a_column_twice(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("sep=,\ntimestamp,agent,outcome,Agent\n2026-11-20T10:00:00Z,a,success,b\n")
    with pytest.raises(UsageError) as caught:
        load(path)
    assert str(caught.value) == (
        f"{path}:2: the header names column 'agent' twice (columns 2 and 4, as 'Agent'); "
        "expected each column once"
    )


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".json"])
def test_a_gzipped_text_export_is_read_as_it_is(tmp_path, suffix):
    plain = tmp_path / f"events{suffix}"
    options = {".csv": "HEADER", ".tsv": "HEADER, DELIMITER '\t'"}.get(suffix, "FORMAT json")
    rows = [GOOD, BAD["bad_outcome"], GOOD]
    source = tmp_path / "source.csv"
    source.write_text(HEADER + "".join(rows))
    duckdb.sql(
        f"COPY (SELECT * FROM read_csv('{source}', all_varchar=true)) TO '{plain}' ({options})"
    )
    zipped = tmp_path / f"events{suffix}.gz"
    zipped.write_bytes(gzip.compress(plain.read_bytes()))
    read = load(zipped)
    assert read.bad_rows.by_reason == {"bad_outcome": 1}
    assert read.bad_rows.examples == {"bad_outcome": [f"events{suffix}.gz:2"]}
    assert read.query("SELECT count(*), sum(latency_s) FROM events").fetchall() == [(2, 3.0)]


def test_a_gzipped_csv_header_is_checked_too(tmp_path):
    zipped = tmp_path / "events.csv.gz"
    zipped.write_bytes(gzip.compress(b"timestamp,agent,outcome,Agent\n" + GOOD.encode()))
    with pytest.raises(UsageError, match="the header names column 'agent' twice"):
        load(zipped)


def test_an_unsupported_compressed_file_says_what_is_read(tmp_path):
    (tmp_path / "events.parquet.gz").write_bytes(b"")
    with pytest.raises(UsageError) as caught:
        load(tmp_path / "events.parquet.gz")
    assert str(caught.value).endswith(
        "unsupported events format '.gz'; expected .csv, .tsv, .jsonl, .json (each may be "
        "gzipped: .csv.gz), .parquet or a .duckdb database"
    )


def test_at_most_five_examples_per_reason(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(HEADER + BAD["bad_outcome"] * 8)
    bad = load(path).bad_rows
    assert bad.by_reason == {"bad_outcome": 8}
    assert bad.examples["bad_outcome"] == [f"events.csv:{n}" for n in range(1, 6)]


def test_too_many_bad_rows_stop_the_run(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(HEADER + GOOD * 97 + BAD["bad_outcome"] * 3)
    with pytest.raises(UsageError) as caught:
        load(path, max_bad_fraction=0.01)
    assert "3 of 100 rows are invalid (3.0%), more than --max-bad-fraction 0.01" in str(
        caught.value
    )
    assert "bad_outcome: events.csv:98, events.csv:99, events.csv:100" in str(caught.value)


def test_rows_of_agents_without_a_charter_are_reported_not_fatal(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(HEADER + GOOD * 10 + BAD["unknown_agent"] * 10)
    bad = load(path, max_bad_fraction=0.01).bad_rows
    assert bad.by_reason == {"unknown_agent": 10}


def test_timestamps_with_offsets_and_epoch_seconds(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(
        HEADER
        + "2026-11-20T11:00:00+01:00,refunds,success,1,0.01,1,false\n"
        + "1795168800,refunds,failure,1,0.01,1,false\n"
    )
    store = load(path)
    times = store.query("SELECT epoch(ts) FROM events ORDER BY outcome").fetchall()
    assert times == [(1795168800.0,), (1795168800.0,)]


def test_flags_as_pandas_writes_them_are_read(tmp_path):
    """pandas writes a flag column with gaps as floats (1.0, 0.0, empty): read as true, false
    and unknown; a number other than 1 or 0 is still a bad value."""
    path = tmp_path / "events.csv"
    path.write_text(
        "timestamp,agent,outcome,reworked,rolled_back\n"
        "2026-11-20T10:00:00Z,refunds,success,1.0,0.0\n"
        "2026-11-20T11:00:00Z,refunds,success,0.0,\n"
        "2026-11-20T12:00:00Z,refunds,success, 1 ,TRUE\n"
        "2026-11-20T13:00:00Z,refunds,success,2.0,0\n"
    )
    loaded = load(path)
    assert loaded.bad_rows.by_reason == {"bad_value": 1}
    assert loaded.bad_rows.examples == {"bad_value": ["events.csv:4"]}
    rows = loaded.query("SELECT reworked, rolled_back FROM events ORDER BY ts").fetchall()
    assert rows == [(True, False), (False, None), (True, True)]


def test_missing_required_column_is_a_usage_error(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("timestamp,agent\n2026-11-20T10:00:00Z,refunds\n")
    with pytest.raises(UsageError, match=r"missing required column\(s\) outcome; found agent, "):
        load(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "events.csv: missing required column(s) timestamp, agent, outcome; found column0. "
             "Is the file empty? Expected a header line naming the columns."),
        ("timestamp;agent;outcome\n2026-11-20T10:00:00Z;refunds;success\n",
         "events.csv: missing required column(s) timestamp, agent, outcome; found "
         "timestamp;agent;outcome. Is it separated by ';'? A .csv file is read comma-separated, "
         "a .tsv file tab-separated."),
        ("Timestamp,agent,outcome\n2026-11-20T10:00:00Z,refunds,success\n",
         "events.csv: missing required column(s) timestamp; found Timestamp, agent, outcome. "
         "Did you mean 'Timestamp'?"),
        ("timestamp,agent,outcome,agent\n2026-11-20T10:00:00Z,refunds,success,docs-qa\n",
         "events.csv:1: the header names column 'agent' twice (columns 2 and 4); expected each "
         "column once"),
        ("timestamp,Agent,outcome,agent\n2026-11-20T10:00:00Z,refunds,success,docs-qa\n",
         "events.csv:1: the header names column 'Agent' twice (columns 2 and 4, as 'agent'); "
         "expected each column once"),
    ],
    ids=["empty", "semicolons", "case", "repeated", "repeated-case"],
)  # fmt: skip
def test_a_header_govkit_cannot_read_says_what_it_found(tmp_path, monkeypatch, text, expected):
    """An export with the wrong separator, a renamed or repeated column: exit 2 naming the
    file, what was found and what to change; a repeated `agent` is never guessed."""
    monkeypatch.chdir(tmp_path)
    Path("events.csv").write_text(text)
    with pytest.raises(UsageError) as raised:
        load(Path("events.csv"))
    assert raised.value.format_message() == expected


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(UsageError, match="no such file"):
        load(tmp_path / "nope.csv")
    (tmp_path / "events.xlsx").write_text("x")
    with pytest.raises(UsageError, match=r"unsupported events format '\.xlsx'"):
        load(tmp_path / "events.xlsx")


@pytest.fixture
def csv_events(tmp_path) -> Path:
    path = tmp_path / "events.csv"
    path.write_text(HEADER + GOOD * 4 + BAD["negative_value"])
    return path


def test_jsonl_parquet_duckdb_and_glob_sources_read_the_same(tmp_path, csv_events):
    rows = duckdb.sql(f"SELECT * FROM read_csv('{csv_events}', all_varchar=true)").fetchall()
    columns = HEADER.strip().split(",")
    (tmp_path / "events.jsonl").write_text(
        "".join(json.dumps(dict(zip(columns, row, strict=True))) + "\n" for row in rows)
    )
    duckdb.sql(f"COPY (SELECT * FROM read_csv('{csv_events}')) TO '{tmp_path / 'a.parquet'}'")
    duckdb.sql(f"COPY (SELECT * FROM read_csv('{csv_events}')) TO '{tmp_path / 'b.parquet'}'")
    database = tmp_path / "events.duckdb"
    with duckdb.connect(str(database)) as connection:
        connection.execute(f"CREATE TABLE events AS SELECT * FROM read_csv('{csv_events}')")
        connection.execute(f"CREATE TABLE other AS SELECT * FROM read_csv('{csv_events}')")

    for spec, valid, bad in [
        (csv_events, 4, 1),
        (tmp_path / "events.jsonl", 4, 1),
        (tmp_path / "a.parquet", 4, 1),
        (f"{tmp_path}/*.parquet", 8, 2),
        (database, 4, 1),
        (f"{database}::other", 4, 1),
    ]:
        store = load(spec)
        assert store.query("SELECT count(*) FROM events").fetchone() == (valid,), spec
        assert store.bad_rows.by_reason == {"negative_value": bad}, spec


def test_cli_reports_bad_rows_in_json(tmp_path, govkit):
    path = tmp_path / "events.csv"
    path.write_text(HEADER + GOOD * 200 + BAD["bad_timestamp"])
    result = govkit(
        "monitor", "run", "--governance", str(EXAMPLE_GOVERNANCE), "--events", str(path),
        "--state", str(tmp_path / "m.db"), "--now", "2026-11-24T12:00:00Z", "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["bad_rows"] == {
        "count": 1,
        "by_reason": {"bad_timestamp": 1},
        "examples": {"bad_timestamp": ["events.csv:201"]},
    }


def test_cli_too_many_bad_rows_exit_2_without_traceback(tmp_path, govkit):
    path = tmp_path / "events.csv"
    path.write_text(HEADER + GOOD + BAD["bad_outcome"])
    result = govkit(
        "monitor", "run", "--governance", str(EXAMPLE_GOVERNANCE), "--events", str(path),
        "--state", str(tmp_path / "m.db"),
    )  # fmt: skip
    assert result.exit_code == 2
    assert "rows are invalid" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "m.db").with_suffix(".json").exists()


# --- hostile input (issue 10) ------------------------------------------------------------------

GOOD_JSON = {"timestamp": "2026-11-20T10:00:00Z", "agent": "refunds", "outcome": "success"}


@pytest.mark.parametrize(
    ("odd", "reason"),
    [({"agent": 42}, "bad_value"), ({"agent": ["refunds"]}, "bad_value"),
     ({"agent": {"id": "refunds"}}, "bad_value"), ({"latency_s": {"p50": 1}}, "bad_value"),
     ({"task_id": [1, 2]}, "bad_value"), ({"outcome": {"ok": True}}, "bad_outcome"),
     ({"timestamp": {"s": 1}}, "bad_timestamp")],
)  # fmt: skip
def test_item_06_one_oddly_typed_json_value_is_one_bad_row(tmp_path, odd, reason):
    rows = [GOOD_JSON | {"latency_s": 1.5}] * 40
    rows.insert(7, GOOD_JSON | odd)
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows) + "not json\n[1]\n")

    store = load(path)

    assert store.bad_rows.by_reason == {"bad_json": 2, reason: 1}
    assert store.bad_rows.examples[reason] == ["events.jsonl:8"]
    assert store.bad_rows.examples["bad_json"] == ["events.jsonl:42", "events.jsonl:43"]
    assert store.query(
        "SELECT count(*), sum(latency_s) FROM events WHERE agent = 'refunds'"
    ).fetchone() == (40, 60.0)


def test_item_06_a_csv_line_that_does_not_parse_is_one_bad_row(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(HEADER + GOOD * 5 + GOOD.strip() + ",extra,more\n" + '"2026,refunds\n' + GOOD)

    store = load(path)

    assert store.bad_rows.by_reason == {"bad_csv": 2}
    assert store.bad_rows.examples["bad_csv"] == ["events.csv:line 7", "events.csv:line 8"]
    assert store.query("SELECT count(*) FROM events").fetchone() == (6,)


def test_item_06_events_of_agents_without_a_charter_raise_unknown_agents(
    workspace, govkit, tmp_path
):
    rows = [GOOD_JSON | {"agent": "support-bot"}] * 30 + [GOOD_JSON] * 10
    (workspace.root / "events.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))

    result = govkit(
        "monitor", "run", "--events", "events.jsonl", "--now", "2026-11-24T12:00:00Z",
        "--format", "json", "--fail-on-alert",
    )  # fmt: skip

    assert result.exit_code == 1
    alerts = json.loads(result.stdout)["alerts"]
    unknown = [a for a in alerts if a["labels"]["alertname"] == "UnknownAgents"]
    assert [a["labels"] for a in unknown] == [{"alertname": "UnknownAgents", "severity": "warning"}]
    assert (
        unknown[0]["annotations"]["summary"]
        == "75% of the events belong to agents without a charter"
    )
    assert "support-bot (30)" in unknown[0]["annotations"]["description"]
    assert "75% of the events belong to agents without a charter" in result.stderr


@pytest.mark.parametrize(
    ("value", "reason"),
    [("NaN", "bad_value"), ("inf", "bad_value"), ("-Infinity", "bad_value"),
     ("1e308", "bad_value"), ("2e12", "bad_value")],
)  # fmt: skip
def test_item_07_a_number_that_is_not_finite_or_huge_is_a_bad_row(tmp_path, value, reason):
    path = tmp_path / "events.csv"
    bad = f"2026-11-20T10:00:00Z,refunds,success,{value},0.01,1,false\n"
    path.write_text(HEADER + GOOD * 9 + bad)

    store = load(path)

    assert store.bad_rows.by_reason == {reason: 1}
    assert store.bad_rows.examples[reason] == ["events.csv:10"]
    assert store.query("SELECT sum(latency_s) FROM events").fetchone() == (13.5,)


@pytest.mark.parametrize(
    "timestamp",
    ["1700000000000000000", "1.7e18", "10000-01-01T00:00:00Z", "1969-12-31T23:59:59Z",
     "-99999999999999"],
)  # fmt: skip
def test_item_07_a_timestamp_out_of_range_is_a_bad_row(tmp_path, timestamp):
    path = tmp_path / "events.csv"
    path.write_text(HEADER + GOOD * 3 + f"{timestamp},refunds,success,1,0.01,1,false\n")

    store = load(path)

    assert store.bad_rows.by_reason == {"bad_timestamp": 1}
    assert store.query("SELECT count(*) FROM events").fetchone() == (3,)


def test_item_07_huge_values_never_poison_a_drift(workspace, govkit):
    """10% of rows with customer_feedback = 1e308 are bad rows each; the drift stays a drift."""
    import numpy as np

    rng = np.random.default_rng(3)
    rows = []
    for day in range(1, 23):  # baseline 2026-09-01..: ok; recent week: feedback drops
        for _ in range(60):
            feedback = rng.normal(4.5 if day < 16 else 3.2, 0.3)
            rows.append(
                {"timestamp": f"2026-11-{day:02d}T10:00:00Z", "agent": "support-replies",
                 "outcome": "success", "customer_feedback": round(float(feedback), 3)}
            )  # fmt: skip
    for index in range(0, len(rows), 10):
        rows[index] = rows[index] | {"customer_feedback": 1e308}
    (workspace.root / "events.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    workspace.edit(
        "agents/support-replies.yaml",
        'baseline:\n    from: "2026-09-01"\n    to: "2026-09-28"',
        "baseline:\n    rolling: 14d",
    )

    result = govkit(
        "monitor", "run", "--events", "events.jsonl", "--now", "2026-11-23T00:00:00Z",
        "--format", "json", "--max-bad-fraction", "0.2",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["bad_rows"]["by_reason"] == {"bad_value": len(rows) // 10}
    (finding,) = [
        f for f in report["findings"]
        if f["metric"] == "customer_feedback" and f["aspect"] == "center"
    ]  # fmt: skip
    assert finding["verdict"] == "drift"
    assert 4.3 < finding["baseline"] < 4.7 and 3.0 < finding["recent"] < 3.4


def test_examples_name_the_right_rows_of_a_large_csv_read_in_parallel(tmp_path):
    """DuckDB reads a large CSV in parallel chunks: the rows are still numbered as in the file."""
    path = tmp_path / "events.csv"
    lines = [GOOD] * 300_000
    for row in (150_001, 299_999):
        lines[row - 1] = BAD["bad_outcome"]
    path.write_text(HEADER + "".join(lines))

    bad = load(path).bad_rows

    assert bad.examples == {"bad_outcome": ["events.csv:150001", "events.csv:299999"]}


def test_examples_of_a_csv_glob_are_numbered_within_each_file(tmp_path):
    """Each file of a glob is numbered from its own first row, as its editor shows it."""
    for name, bad_rows in [("a.csv", (3,)), ("b.csv", (2, 5))]:
        lines = [GOOD] * 6
        for row in bad_rows:
            lines[row - 1] = BAD["bad_outcome"]
        (tmp_path / name).write_text(HEADER + "".join(lines))

    bad = load(f"{tmp_path}/*.csv").bad_rows

    assert bad.examples == {"bad_outcome": ["a.csv:3", "b.csv:2", "b.csv:5"]}
    assert bad.total == 12


def test_examples_of_a_json_lines_glob_are_numbered_within_each_file(tmp_path):
    for name, bad_rows in [("a.jsonl", (2,)), ("b.jsonl", (4,))]:
        rows = [json.dumps(GOOD_JSON)] * 5
        for row in bad_rows:
            rows[row - 1] = json.dumps(GOOD_JSON | {"outcome": "done"})
        (tmp_path / name).write_text("\n".join(rows) + "\n")

    bad = load(f"{tmp_path}/*.jsonl").bad_rows

    assert bad.examples == {"bad_outcome": ["a.jsonl:2", "b.jsonl:4"]}
    assert bad.total == 10
