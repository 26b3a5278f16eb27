"""Read per-task agent events into DuckDB, typed and validated row by row.

Sources are resolved by `monitor.engine.event_source` (CSV, JSON, Parquet, a DuckDB table). Every
row is checked once; a bad row is skipped and counted by reason, with up to five example rows per
reason.
The valid rows land in the table `events` with the contract's columns, plus `human_cost_usd`
(reviewer time priced at the organisation's hourly rate) and any custom columns the metric catalog
names. A number must be finite and within +-MAX_MAGNITUDE, so no sum can overflow; a timestamp
must fall within the calendar govkit works in (playbook.core.clock.EARLIEST_DATE to LATEST_DATE).
The SQL that types and checks each row is `monitor.engine.event_checks`.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from monitor.engine.event_checks import REQUIRED, typed_select
from monitor.engine.event_source import (
    Source,
    rejected_rows,
    resolve_source,
    source_columns,
)
from monitor.engine.sql import literal
from playbook.core.atomic import StagedFile
from playbook.core.errors import UsageError

MAX_EXAMPLES = 5
# DuckDB's own budget; the arrays handed to numpy come on top. A parsed text source spills to disk.
MEMORY_LIMIT = "768MB"

# Reasons a row is skipped, in the order they are checked (a row counts under its first reason).
REASONS = (
    "bad_csv",
    "bad_json",
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

    @property
    def unknown_share(self) -> float:
        """The share of well-formed rows that belong to agents without a charter."""
        valid = self.total - self.invalid
        return self.by_reason.get("unknown_agent", 0) / valid if valid else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "by_reason": self.by_reason, "examples": self.examples}


class EventStore:
    """An in-memory DuckDB database holding the validated `events` table."""

    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection,
        bad_rows: BadRows,
        columns: set[str],
        workdir: Path | None = None,
        unknown_agents: dict[str, int] | None = None,
    ) -> None:
        self.connection = connection
        self.bad_rows = bad_rows
        self.columns = columns  # the columns the source has (plus derived human_cost_usd)
        self.unknown_agents = unknown_agents or {}  # most frequent names without a charter
        # The scratch database of a text source goes with the store, even one never closed.
        self._cleanup = (
            weakref.finalize(self, shutil.rmtree, str(workdir), ignore_errors=True)
            if workdir is not None
            else None
        )

    def close(self) -> None:
        self.connection.close()
        if self._cleanup is not None:
            self._cleanup()


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
    try:
        connection = duckdb.connect(str(workdir / "events.duckdb") if workdir else ":memory:")
    except duckdb.Error as exc:
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
        raise UsageError(f"{workdir}: cannot open a scratch database: {_first_line(exc)}") from None
    store = EventStore(connection, BadRows(), set(), workdir)
    try:
        _configure(connection, workdir, threads)
        if source.attach:
            connection.execute(f"ATTACH {literal(source.attach)} AS src (READ_ONLY)")
        columns = source_columns(connection, source)
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
        select = typed_select(columns, source, human_hourly_rate_usd, custom_columns)
        kind = "TABLE" if source.materialise else "TEMP VIEW"
        connection.execute(f"CREATE {kind} checked AS {select}")
        store.bad_rows = _count_bad_rows(connection, source)
        bad_rows = store.bad_rows
        if bad_rows.total and bad_rows.invalid / bad_rows.total > max_bad_fraction:
            raise UsageError(_too_many_bad_rows(source, bad_rows, max_bad_fraction))
        store.unknown_agents = (
            _unknown_agents(connection) if "unknown_agent" in bad_rows.by_reason else {}
        )
        connection.execute(
            "CREATE TEMP VIEW events AS SELECT * EXCLUDE (reason, _file, _row) FROM checked "
            "WHERE reason IS NULL"
        )
    except duckdb.Error as exc:
        store.close()
        raise UsageError(f"{source.description}: cannot read events: {_first_line(exc)}") from None
    except BaseException:
        store.close()
        raise
    store.columns = set(columns)
    if "reviewer_minutes" in store.columns:
        store.columns.add("human_cost_usd")
    return store


def _configure(
    connection: duckdb.DuckDBPyConnection, workdir: Path | None, threads: int | None
) -> None:
    connection.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    connection.execute("SET enable_progress_bar = false")  # stdout may be the JSON report
    if workdir is not None:
        connection.execute(f"SET temp_directory = {literal(str(workdir / 'spill'))}")
    if threads:
        connection.execute(f"SET threads = {int(threads)}")
    connection.execute("SET TimeZone = 'UTC'")


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]


def _count_bad_rows(connection: duckdb.DuckDBPyConnection, source: Source) -> BadRows:
    counts = connection.execute(
        "SELECT reason, count(*) FROM checked GROUP BY ALL ORDER BY reason NULLS FIRST"
    ).fetchall()
    bad = BadRows(total=sum(count for _, count in counts))
    bad.by_reason = {reason: count for reason, count in counts if reason is not None}
    rejected = rejected_rows(connection) if source.kind == "csv" else []
    if rejected:
        bad.total += len(rejected)
        bad.by_reason["bad_csv"] = len(rejected)
        # Lines counted as the file has them (the header is line 1).
        bad.examples["bad_csv"] = [
            f"{Path(file).name}:line {line}" for file, line in rejected[:MAX_EXAMPLES]
        ]
    if set(bad.by_reason) - {"bad_csv"}:
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
    bad.by_reason = dict(sorted(bad.by_reason.items(), key=lambda item: REASONS.index(item[0])))
    return bad


def _unknown_agents(connection: duckdb.DuckDBPyConnection, limit: int = 10) -> dict[str, int]:
    rows = connection.execute(
        "SELECT agent, count(*) AS n FROM checked WHERE reason = 'unknown_agent' "
        "GROUP BY agent ORDER BY n DESC, agent LIMIT ?",
        [limit],
    ).fetchall()
    return {str(agent): int(count) for agent, count in rows}


def _too_many_bad_rows(source: Source, bad: BadRows, limit: float) -> str:
    parts = ", ".join(f"{reason} {count}" for reason, count in bad.by_reason.items())
    examples = "; ".join(f"{reason}: {', '.join(rows)}" for reason, rows in bad.examples.items())
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
    staged = StagedFile.reserve(out)
    connection = duckdb.connect(":memory:")
    try:
        connection.execute("SET TimeZone = 'UTC'")
        connection.register("frame", frame)
        query = f"SELECT {select} FROM frame"
        target = literal(str(staged.temporary))
        connection.execute(f"COPY ({query}) TO {target} ({WRITE_FORMATS[suffix]})")
        connection.close()
        staged.publish()
    except BaseException:
        connection.close()
        staged.discard()
        raise
