"""Agent events as the monitor reads them: a source opened by an engine, every row checked.

`open_events` asks an engine (`monitor.engine.engines`: DuckDB by default, or Spark) for the raw
relation of `--events` and puts it through the checks (`monitor.engine.event_checks`), all as one
lazy Ibis expression: nothing is read yet. The summary pass (`monitor.engine.summaries`) reads it
once; `Events.bad_rows` then counts what it skipped by reason, with up to five example rows per
reason (`file:row`, rows counted from 1; `file:line N` for a CSV line that did not parse), and
refuses a source with too many invalid rows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.datatypes as dt
import numpy as np

from monitor.engine.engines import Engine
from monitor.engine.event_checks import REASONS, UNKNOWN_AGENT, charted, checked, typed_events
from monitor.engine.hints import refusal_hints
from monitor.engine.sql import literal
from playbook.core.atomic import StagedFile
from playbook.core.errors import UsageError

MAX_EXAMPLES = 5
PROGRESS_EVERY = 2.0  # seconds between progress lines of a long query


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


class Events:
    """The checked events of one source, on one engine; queries over them run through `run`."""

    def __init__(self, engine: Engine, raw: Any, agents: Any, rate: float, custom: set[str]):
        self.engine = engine
        self.description = raw.description
        self.raw = raw.table  # the source's columns as they are, for the refusal's hints
        self.custom = custom
        columns = set(raw.table.columns)
        self.present = {name for name in columns if not name.startswith("_") and "__" not in name}
        if "reviewer_minutes" in self.present:
            self.present.add("human_cost_usd")
        typed = typed_events(raw.table, custom=custom, from_epoch=engine.from_epoch)
        if raw.store is not None:
            typed = self._engine_call(lambda: raw.store(typed))
        self.rejected = raw.rejected()  # known now that the source has been read
        self.typed = typed  # every row as read, before the checks
        self.checked = checked(typed, agents=agents, hourly_rate=rate)
        self._charted = charted(typed, agents=agents, hourly_rate=rate)

    def run(self, expression: Any, *, progress: Any = None) -> Any:
        """Execute on the engine; a pyarrow table. Engine errors are the source's problem."""
        return self._engine_call(
            lambda: _with_progress(self.engine, lambda: self.engine.to_arrow(expression), progress)
        )

    def _engine_call(self, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except (duckdb.Error, ibis.common.exceptions.IbisError) as exc:
            first = str(exc).strip().splitlines()[0]
            raise UsageError(f"{self.description}: cannot read events: {first}") from None

    def fetch(self, expression: Any, *, progress: Any = None) -> dict[str, np.ndarray]:
        """A small result as numpy arrays, by column (`Engine.to_numpy`)."""
        return self._engine_call(
            lambda: _with_progress(self.engine, lambda: self.engine.to_numpy(expression), progress)
        )

    def bad_rows(self, reasons: dict[str, int], valid: int, max_fraction: float) -> BadRows:
        """Rows skipped by reason, with examples; UsageError (exit 2) when too many are bad."""
        by_reason = dict(reasons)
        if self.rejected:
            by_reason["bad_csv"] = len(self.rejected)
        bad = BadRows(total=valid + sum(by_reason.values()))
        bad.by_reason = dict(sorted(by_reason.items(), key=lambda item: REASONS.index(item[0])))
        if self.rejected:
            bad.examples["bad_csv"] = [
                f"{Path(file).name}:line {line}" for file, line in self.rejected[:MAX_EXAMPLES]
            ]
        if set(reasons):
            bad.examples |= self._examples()
        bad.examples = dict(sorted(bad.examples.items(), key=lambda item: REASONS.index(item[0])))
        if bad.total and bad.invalid / bad.total > max_fraction:
            hints = refusal_hints(self, set(by_reason))
            raise UsageError(_too_many_bad_rows(self.description, bad, max_fraction, hints))
        return bad

    def check(self, max_fraction: float = 1.0) -> BadRows:
        """Only the row checks, without a summary pass: one `GROUP BY reason` over the source."""
        table = self.checked
        counts = self.run(table.group_by("reason").aggregate(n=table.count())).to_pylist()
        reasons = {row["reason"]: row["n"] for row in counts if row["reason"] is not None}
        valid = sum(row["n"] for row in counts if row["reason"] is None)
        return self.bad_rows(reasons, valid, max_fraction)

    def valid(self, reasons: Collection[str] | None = None) -> Any:
        """The rows that passed every check (an Ibis table). `reasons`: the reasons a pass over
        the source found (`Summaries.reason_counts`); when no row failed a check (some may name
        an agent without a charter), the checks are not computed again (the histogram scan of
        the 10M-row bench file: 1.53 -> 1.33 CPU s)."""
        if reasons is not None and set(reasons) <= {UNKNOWN_AGENT}:
            return self._charted
        return self.checked.filter(self.checked.reason.isnull())

    def _examples(self) -> dict[str, list[str]]:
        table = self.checked.filter(self.checked.reason.notnull())
        ranked = table.mutate(
            rank=ibis.row_number().over(group_by=table.reason, order_by=[table._file, table._row])
        )
        rows = ranked.filter(ranked["rank"] < MAX_EXAMPLES).select("reason", "_file", "_row")
        found: dict[str, list[str]] = {}
        result = self.run(rows.order_by(["reason", "_file", "_row"])).to_pylist()
        for row in result:
            file_name = row["_file"]
            where = f"{Path(file_name).name}:{row['_row']}" if file_name else self.description
            if row["_row"] is None and file_name:
                where = f"{file_name}"
            found.setdefault(row["reason"], []).append(where)
        return found

    def close(self) -> None:
        self.engine.close()


def open_events(
    spec: str, engine: Engine, *, agents: Any, hourly_rate: float, custom: set[str]
) -> Events:
    """`--events` on `engine`, checked (lazily: nothing is read until a query runs). `agents`:
    the charters' ids, as a set, or as `(columns, schema)` of a table with an `agent` column
    (for the summary pass, with its place, drift windows and histograms: `plan.agents_table`)."""
    if isinstance(agents, set | frozenset | list):
        agents = ({"agent": sorted(agents)}, {"agent": dt.string})
    table = engine.small_table(*agents)
    return Events(engine, engine.raw_events(spec), table, hourly_rate, custom)


def _with_progress(engine: Any, query: Callable[[], Any], progress: Any) -> Any:
    """Run the query while a thread reports the engine's progress every few seconds."""
    if progress is None or not hasattr(engine, "progress"):
        return query()
    done = threading.Event()

    def report() -> None:
        while not done.wait(PROGRESS_EVERY):
            share = engine.progress()
            if share is not None:
                progress(f"{share:.0f}% of the events read")

    reporter = threading.Thread(target=report, daemon=True)
    reporter.start()
    try:
        return query()
    finally:
        done.set()
        reporter.join()


def _too_many_bad_rows(description: str, bad: BadRows, limit: float, hints: list[str]) -> str:
    parts = ", ".join(f"{reason} {count}" for reason, count in bad.by_reason.items())
    examples = "; ".join(f"{reason}: {', '.join(rows)}" for reason, rows in bad.examples.items())
    return (
        f"{description}: {bad.invalid} of {bad.total} rows are invalid "
        f"({bad.invalid / bad.total:.1%}), more than --max-bad-fraction {limit:g}; "
        f"nothing was changed. By reason: {parts}. Examples: {examples}"
        + "".join(f". Hint: {hint}" for hint in hints)
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
