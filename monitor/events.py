"""Read per-task agent events into DuckDB, typed and validated row by row.

A source is a CSV, JSON Lines or Parquet file or glob, or a table of a DuckDB database
(`events.duckdb`, table `events`, or `events.duckdb::TABLE`). Every row is checked once; a bad row
is skipped and counted by reason, with up to five example rows per reason. The valid rows land in
the in-memory table `events` with the contract's columns, plus `human_cost_usd` (reviewer time
priced at the organisation's hourly rate) and any custom columns the metric catalog names.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from playbook.errors import UsageError

OUTCOMES = ("success", "failure", "escalated")
NON_NEGATIVE = ("latency_s", "cost_usd", "tooling_cost_usd", "reviewer_minutes")
NUMERIC = (*NON_NEGATIVE, "customer_feedback")
BOOLEAN = ("reworked", "policy_hit", "rolled_back")
REQUIRED = ("timestamp", "agent", "outcome")
MAX_EXAMPLES = 5
# DuckDB's own budget; the arrays handed to numpy come on top. A parsed text source spills to disk.
MEMORY_LIMIT = "768MB"

# Reasons a row is skipped, in the order they are checked (a row counts under its first reason).
REASONS = (
    "missing_agent",
    "bad_timestamp",
    "bad_outcome",
    "bad_value",
    "negative_value",
    "unknown_agent",
)


@dataclass
class BadRows:
    """Rows skipped, by reason, with example locations (`file:row`, rows counted from 1)."""

    total: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(self.by_reason.values())

    @property
    def invalid(self) -> int:
        """Rows that are wrong, as opposed to rows of agents without a charter."""
        return self.count - self.by_reason.get("unknown_agent", 0)

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "by_reason": self.by_reason, "examples": self.examples}


@dataclass(frozen=True)
class Source:
    """Where events come from: a DuckDB table expression and how to number its rows.

    Columnar sources (Parquet, a DuckDB table) are cheap to scan again and are read through a
    view; text sources (CSV, JSON Lines) are parsed once into a table.
    """

    relation: str
    description: str
    attach: str | None = None
    row_number: str | None = None  # expression for the 1-based row within its file
    file_name: str = "filename"

    @property
    def materialise(self) -> bool:
        return self.row_number is None


def resolve_source(spec: str) -> Source:
    """Turn `--events` into a DuckDB relation; a missing file is a usage error (exit 2)."""
    path_part, _, table = spec.partition("::")
    if path_part.endswith(".duckdb") or table:
        database = Path(path_part)
        if not database.is_file():
            raise UsageError(f"{spec}: no such DuckDB database")
        table = table or "events"
        if not table.replace("_", "").isalnum():
            raise UsageError(f"{spec}: expected a plain table name but received {table!r}")
        return Source(
            f"(SELECT *, rowid + 1 AS _row FROM src.{_identifier(table)})",
            f"{database}::{table}",
            attach=str(database),
            row_number="_row",
            file_name="NULL",
        )
    matches = sorted(glob.glob(path_part))
    if not matches:
        raise UsageError(f"{spec}: no such file (or no file matches the pattern)")
    suffixes = {Path(match).suffix.lower() for match in matches}
    if len(suffixes) > 1:
        raise UsageError(f"{spec}: expected files of one format but found {sorted(suffixes)}")
    suffix = suffixes.pop()
    files = "[" + ", ".join(_literal(match) for match in matches) + "]"
    if suffix in {".csv", ".tsv"}:
        relation = f"read_csv({files}, header=true, all_varchar=true, filename=true)"
    elif suffix in {".jsonl", ".ndjson", ".json"}:
        relation = f"read_json({files}, format='newline_delimited', sample_size=-1, filename=true)"
    elif suffix == ".parquet":
        relation = f"read_parquet({files}, filename=true, file_row_number=true)"
        return Source(relation, spec, row_number="file_row_number + 1")
    else:
        raise UsageError(
            f"{spec}: unsupported events format {suffix!r}; expected .csv, .jsonl, .parquet "
            "or a .duckdb database"
        )
    return Source(relation, spec)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class EventStore:
    """An in-memory DuckDB database holding the validated `events` table."""

    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection,
        bad_rows: BadRows,
        columns: set[str],
        workdir: Path | None = None,
    ) -> None:
        self.connection = connection
        self.bad_rows = bad_rows
        self.columns = columns  # the columns the source has (plus derived human_cost_usd)
        self._workdir = workdir

    def close(self) -> None:
        self.connection.close()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)


def load_events(
    spec: str,
    *,
    agents: set[str],
    human_hourly_rate_usd: float,
    custom_columns: set[str] = frozenset(),  # type: ignore[assignment]
    max_bad_fraction: float = 0.01,
    threads: int | None = None,
) -> EventStore:
    """Read and validate a source; raise UsageError (exit 2) when too many rows are bad."""
    source = resolve_source(spec)
    # A text source is parsed once into a table; on disk, so that memory stays bounded.
    workdir = Path(tempfile.mkdtemp(prefix="govkit-events-")) if source.materialise else None
    connection = duckdb.connect(str(workdir / "events.duckdb") if workdir else ":memory:")
    connection.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    connection.execute("SET enable_progress_bar = false")  # stdout may be the JSON report
    if workdir is not None:
        connection.execute(f"SET temp_directory = {_literal(str(workdir / 'spill'))}")
    if threads:
        connection.execute(f"SET threads = {int(threads)}")
    connection.execute("SET TimeZone = 'UTC'")
    try:
        if source.attach:
            connection.execute(f"ATTACH {_literal(source.attach)} AS src (READ_ONLY)")
        columns = _describe(connection, source)
        missing = [column for column in REQUIRED if column not in columns]
        if missing:
            raise UsageError(
                f"{source.description}: missing required column(s) {', '.join(missing)}; "
                f"found {', '.join(sorted(columns)) or 'none'}"
            )
        connection.execute("CREATE TEMP TABLE charter_agents (agent VARCHAR PRIMARY KEY)")
        if agents:
            placeholders = ", ".join(["(?)"] * len(agents))
            connection.execute(f"INSERT INTO charter_agents VALUES {placeholders}", sorted(agents))
        select = _typed_select(columns, source, human_hourly_rate_usd, custom_columns)
        kind = "TABLE" if source.materialise else "TEMP VIEW"
        connection.execute(f"CREATE {kind} checked AS {select}")
        bad_rows = _count_bad_rows(connection, source)
        if bad_rows.total and bad_rows.invalid / bad_rows.total > max_bad_fraction:
            raise UsageError(_too_many_bad_rows(source, bad_rows, max_bad_fraction))
        connection.execute(
            "CREATE TEMP VIEW events AS SELECT * EXCLUDE (reason, _file, _row) FROM checked "
            "WHERE reason IS NULL"
        )
    except duckdb.Error as exc:
        EventStore(connection, BadRows(), set(), workdir).close()
        raise UsageError(f"{source.description}: cannot read events: {_first_line(exc)}") from None
    except BaseException:
        EventStore(connection, BadRows(), set(), workdir).close()
        raise
    present = set(columns)
    if "reviewer_minutes" in present:
        present.add("human_cost_usd")
    return EventStore(connection, bad_rows, present, workdir)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]


def _describe(connection: duckdb.DuckDBPyConnection, source: Source) -> dict[str, str]:
    rows = connection.execute(f"DESCRIBE SELECT * FROM {source.relation}").fetchall()
    return {name: str(kind).upper() for name, kind, *_ in rows}


def _typed_select(
    columns: dict[str, str], source: Source, rate: float, custom_columns: set[str]
) -> str:
    """SELECT the contract's columns typed, with the first reason (if any) a row is bad."""

    def column(name: str) -> str:
        return _identifier(name) if name in columns else "NULL"

    def as_double(name: str) -> str:
        if name not in columns:
            return "CAST(NULL AS DOUBLE)"
        return f"TRY_CAST({_identifier(name)} AS DOUBLE)"

    def as_bool(name: str) -> str:
        if name not in columns:
            return "CAST(NULL AS BOOLEAN)"
        return f"TRY_CAST({_identifier(name)} AS BOOLEAN)"

    timestamp_type = columns["timestamp"]
    if "TIMESTAMP" in timestamp_type:
        timestamp = 'CAST("timestamp" AS TIMESTAMPTZ)'
    elif timestamp_type in {"VARCHAR", "JSON"}:
        timestamp = (
            'COALESCE(TRY_CAST("timestamp" AS TIMESTAMPTZ), '
            'TRY_CAST(to_timestamp(TRY_CAST("timestamp" AS DOUBLE)) AS TIMESTAMPTZ))'
        )
    else:
        timestamp = 'TRY_CAST(to_timestamp(TRY_CAST("timestamp" AS DOUBLE)) AS TIMESTAMPTZ)'

    numbers = {name: as_double(name) for name in NUMERIC}
    bools = {name: as_bool(name) for name in BOOLEAN}
    typed = {**numbers, **bools}
    bad_value = (
        " OR ".join(
            f"({column(name)} IS NOT NULL AND TRIM(CAST({column(name)} AS VARCHAR)) <> '' "
            f"AND {typed[name]} IS NULL)"
            for name in typed
            if name in columns
        )
        or "false"
    )
    negative = " OR ".join(f"{numbers[name]} < 0" for name in NON_NEGATIVE) or "false"
    outcome = "LOWER(TRIM(CAST(outcome AS VARCHAR)))"
    agent = "TRIM(CAST(agent AS VARCHAR))"
    outcomes = ", ".join(_literal(o) for o in OUTCOMES)
    reason = f"""CASE
        WHEN {agent} IS NULL OR {agent} = '' THEN 'missing_agent'
        WHEN ts IS NULL THEN 'bad_timestamp'
        WHEN {outcome} IS NULL OR {outcome} NOT IN ({outcomes}) THEN 'bad_outcome'
        WHEN {bad_value} THEN 'bad_value'
        WHEN {negative} THEN 'negative_value'
        WHEN {agent} NOT IN (SELECT agent FROM charter_agents) THEN 'unknown_agent'
    END"""
    extra = sorted(
        name
        for name in custom_columns
        if name in columns and name not in {*NUMERIC, *BOOLEAN, *REQUIRED}
    )
    # A custom column is a number or a flag; flags written as true/false (CSV) count as 1/0.
    custom = "".join(
        f", COALESCE(TRY_CAST({_identifier(name)} AS DOUBLE), "
        f"TRY_CAST(TRY_CAST({_identifier(name)} AS BOOLEAN) AS DOUBLE)) AS {_identifier(name)}"
        for name in extra
    )
    booleans = "".join(f", {bools[name]} AS {name}" for name in BOOLEAN)
    numeric = "".join(f", {numbers[name]} AS {name}" for name in NUMERIC)
    row = source.row_number or "NULL"
    return f"""
        SELECT ts, {agent} AS agent, {outcome} AS outcome,
               CAST({column("task_id")} AS VARCHAR) AS task_id{numeric}{booleans}{custom},
               {numbers["reviewer_minutes"]} / 60.0 * {float(rate)!r} AS human_cost_usd,
               {reason} AS reason, {source.file_name} AS _file, {row} AS _row
        FROM (SELECT *, {timestamp} AS ts FROM {source.relation})
    """


def _count_bad_rows(connection: duckdb.DuckDBPyConnection, source: Source) -> BadRows:
    counts = connection.execute(
        "SELECT reason, count(*) FROM checked GROUP BY ALL ORDER BY reason NULLS FIRST"
    ).fetchall()
    bad = BadRows(total=sum(count for _, count in counts))
    bad.by_reason = {reason: count for reason, count in counts if reason is not None}
    if bad.by_reason:
        # Row numbers are only worked out when there is something to point at.
        # A parsed text file's rowid follows the order its rows were read in.
        row = "rowid - min(rowid) OVER (PARTITION BY _file) + 1" if source.materialise else "_row"
        examples = connection.execute(
            f"""
            WITH numbered AS (SELECT reason, _file, {row} AS row FROM checked)
            SELECT reason, _file, row FROM numbered WHERE reason IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY reason ORDER BY _file, row) <= ?
            ORDER BY reason, _file, row
            """,
            [MAX_EXAMPLES],
        ).fetchall()
        for reason, file_name, row in examples:
            where = f"{Path(file_name).name}:{row}" if file_name else f"{source.description}:{row}"
            bad.examples.setdefault(reason, []).append(where)
    return bad


def _too_many_bad_rows(source: Source, bad: BadRows, limit: float) -> str:
    parts = ", ".join(f"{reason} {count}" for reason, count in sorted(bad.by_reason.items()))
    examples = "; ".join(
        f"{reason}: {', '.join(rows)}" for reason, rows in sorted(bad.examples.items())
    )
    return (
        f"{source.description}: {bad.invalid} of {bad.total} rows are invalid "
        f"({bad.invalid / bad.total:.1%}), more than --max-bad-fraction {limit:g}; "
        f"nothing was changed. By reason: {parts}. Examples: {examples}"
    )


# --- writing event files ------------------------------------------------------------------------

WRITE_FORMATS = {
    ".parquet": "FORMAT parquet",
    ".csv": "FORMAT csv, HEADER true",
    ".jsonl": "FORMAT json",
}


def copy_frame(frame: dict[str, Any], select: str, out: Path) -> None:
    """COPY `SELECT {select} FROM frame` (a dict of numpy arrays) to `out`, in the format its
    extension names, through a temporary file and a rename: a reader never sees half a file."""
    suffix = out.suffix.lower()
    if suffix not in WRITE_FORMATS:
        raise UsageError(f"{out}: expected a .parquet, .csv or .jsonl file to write")
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(handle)
    connection = duckdb.connect(":memory:")
    try:
        connection.execute("SET TimeZone = 'UTC'")
        connection.register("frame", frame)
        query = f"SELECT {select} FROM frame"
        connection.execute(f"COPY ({query}) TO {_literal(temporary)} ({WRITE_FORMATS[suffix]})")
        connection.close()
        os.replace(temporary, out)
    except BaseException:
        connection.close()
        Path(temporary).unlink(missing_ok=True)
        raise
