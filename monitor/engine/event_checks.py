"""The SQL that types the columns of an events source and finds the first reason a row is bad.

`typed_select` builds the SELECT that `monitor.engine.events.load_events` reads every row through:
the contract's columns typed (numbers as DOUBLE, flags as BOOLEAN, the catalog's custom columns as
numbers), the row's time as TIMESTAMPTZ, reviewer time priced as `human_cost_usd`, and `reason`:
NULL for a good row, else the first of `events.REASONS` it fails (`bad_json` to `unknown_agent`).
Only column names and quoted literals go into the SQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from monitor.engine.event_source import Source, SourceColumn
from monitor.engine.sql import identifier, literal
from playbook.core.clock import EARLIEST_DATE, LATEST_DATE
from playbook.core.costs import human_cost_sql

OUTCOMES = ("success", "failure", "escalated")
NON_NEGATIVE = ("latency_s", "cost_usd", "tooling_cost_usd", "reviewer_minutes")
NUMERIC = (*NON_NEGATIVE, "customer_feedback")
BOOLEAN = ("reworked", "policy_hit", "rolled_back")
REQUIRED = ("timestamp", "agent", "outcome")
# A task's latency, cost, minutes or score beyond this is a broken value, not a measurement; the
# bound keeps every sum and sum of squares over billions of rows far from overflowing.
MAX_MAGNITUDE = 1e12


def typed_select(
    columns: dict[str, SourceColumn], source: Source, rate: float, custom_columns: set[str]
) -> str:
    """SELECT the contract's columns typed, with the first reason (if any) a row is bad."""
    present = dict(columns)
    extra = _custom_columns(present, custom_columns)
    numbers = {name: _cast(present, name, "DOUBLE") for name in NUMERIC}
    typed = {**numbers, **{name: _cast(present, name, "BOOLEAN") for name in BOOLEAN}}
    typed |= {name: _as_number(present[name]) for name in extra}
    outcome = f"LOWER(TRIM({present['outcome'].text()}))"
    agent = f"TRIM({present['agent'].text()})"
    bad_value = _bad_value(present, typed, extra)
    negative = " OR ".join(f"{numbers[name]} < 0" for name in NON_NEGATIVE) or "false"
    reason = _first_reason(source, present["agent"], agent, outcome, bad_value, negative)
    task_id = present["task_id"].text() if "task_id" in present else "CAST(NULL AS VARCHAR)"
    columns_sql = "".join(f", {typed[name]} AS {identifier(name)}" for name in typed)
    row = source.row_number or "NULL"
    return f"""
        SELECT ts, {agent} AS agent, {outcome} AS outcome,
               {task_id} AS task_id{columns_sql},
               {human_cost_sql(numbers["reviewer_minutes"], rate)} AS human_cost_usd,
               {reason} AS reason, {source.file_name} AS _file, {row} AS _row
        FROM (SELECT *, {timestamp_sql(present["timestamp"])} AS ts FROM {source.relation})
    """


def _custom_columns(present: dict[str, SourceColumn], custom_columns: set[str]) -> list[str]:
    """The catalog's own columns the source has, beyond the contract's, sorted."""
    contract = {*NUMERIC, *BOOLEAN, *REQUIRED}
    return sorted(name for name in custom_columns if name in present and name not in contract)


def _cast(present: dict[str, SourceColumn], name: str, sql_type: str) -> str:
    """The column as `sql_type`, NULL where it does not convert; all NULL when it is missing."""
    if name not in present:
        return f"CAST(NULL AS {sql_type})"
    return f"TRY_CAST({present[name].text()} AS {sql_type})"


def _as_number(column: SourceColumn) -> str:
    """A custom column: a number or a flag; true/false (CSV) count as 1/0."""
    text = column.text()
    return f"COALESCE(TRY_CAST({text} AS DOUBLE), TRY_CAST(TRY_CAST({text} AS BOOLEAN) AS DOUBLE))"


def _bad_value(present: dict[str, SourceColumn], typed: dict[str, str], extra: list[str]) -> str:
    """True where the agent is no string, or a value is there but does not convert to its type,
    is not finite or beyond MAX_MAGNITUDE, or is nested (an object or a list)."""
    unreadable = [
        f"({present[name].text()} IS NOT NULL AND TRIM({present[name].text()}) <> '' "
        f"AND {typed[name]} IS NULL)"
        for name in typed
        if name in present
    ]
    out_of_range = [
        f"(NOT isfinite({typed[name]}) OR abs({typed[name]}) > {MAX_MAGNITUDE:.0e})"
        for name in [*NUMERIC, *extra]
        if name in present
    ]
    read = [*REQUIRED, "task_id", *typed]
    nested = [present[name].nested() for name in read if name in present]
    bad_value = " OR ".join([*unreadable, *out_of_range, *nested]) or "false"
    return f"NOT {present['agent'].is_string()} OR {bad_value}"


def _first_reason(
    source: Source,
    agent_column: SourceColumn,
    agent: str,
    outcome: str,
    bad_value: str,
    negative: str,
) -> str:
    """A CASE naming the first check a row fails, in the order of `events.REASONS`."""
    outcomes = ", ".join(literal(o) for o in OUTCOMES)
    not_an_object = "_json IS NULL OR json_type(_json) <> 'OBJECT'"
    return f"""CASE
        {f"WHEN {not_an_object} THEN 'bad_json'" if source.kind == "json" else ""}
        WHEN {agent} IS NULL OR {agent} = '' THEN
            CASE WHEN {agent_column.nested()} THEN 'bad_value' ELSE 'missing_agent' END
        WHEN ts IS NULL THEN 'bad_timestamp'
        WHEN {outcome} IS NULL OR {outcome} NOT IN ({outcomes}) THEN 'bad_outcome'
        WHEN {bad_value} THEN 'bad_value'
        WHEN {negative} THEN 'negative_value'
        WHEN {agent} NOT IN (SELECT agent FROM charter_agents) THEN 'unknown_agent'
    END"""


def timestamp_sql(column: SourceColumn) -> str:
    """The row's time as TIMESTAMPTZ; NULL when it is no time, or outside govkit's calendar."""
    first = datetime.combine(EARLIEST_DATE, time(), UTC)
    after = datetime.combine(LATEST_DATE + timedelta(days=1), time(), UTC)

    def in_calendar(moment: str) -> str:
        return (
            f"CASE WHEN {moment} >= {literal(first.isoformat())} "
            f"AND {moment} < {literal(after.isoformat())} THEN {moment} END"
        )

    # Epoch seconds are checked before conversion: to_timestamp() fails on a year past 294247.
    epoch = f"TRY_CAST({column.text()} AS DOUBLE)"
    from_epoch = (
        f"CASE WHEN {epoch} >= {first.timestamp():.0f} AND {epoch} < {after.timestamp():.0f} "
        f"THEN to_timestamp({epoch}) END"
    )
    if "TIMESTAMP" in column.type or column.type == "DATE":
        return in_calendar(f"TRY_CAST({column.raw} AS TIMESTAMPTZ)")
    if column.type in {"VARCHAR", "JSON"}:
        return f"COALESCE({in_calendar(f'TRY_CAST({column.text()} AS TIMESTAMPTZ)')}, {from_epoch})"
    return from_epoch
