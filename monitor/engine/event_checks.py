"""The checks every event row goes through, written once as an Ibis expression for every engine.

`typed_events` types the contract's columns of a raw relation (numbers as float64, flags as
booleans, the catalog's custom columns as numbers, the time as UTC); `checked` prices reviewer
time (`human_cost_usd`) and names the first reason a row is bad (`reason`, NULL for a good row),
in the order of `REASONS`:

- `bad_json`: a JSON line that is not an object (JSON sources);
- `missing_agent`; `bad_timestamp` (no time, or outside 1970-2999); `bad_outcome`;
- `bad_value`: text where a number or flag belongs, a number that is NaN, infinite or beyond
  +-MAX_MAGNITUDE (so no sum can overflow), an `agent` that is not text, any field holding an
  object or a list;
- `negative_value`: latency, cost or minutes below 0;
- `unknown_agent`: an agent no charter names (reported, not counted as invalid).
`bad_csv` (a CSV line that did not parse at all) is counted by the reader, before the checks.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any

import ibis
import ibis.expr.datatypes as dt

from monitor.engine.raw import REQUIRED
from playbook.core.clock import EARLIEST_DATE, LATEST_DATE
from playbook.core.costs import MINUTES_PER_HOUR

OUTCOMES = ("success", "failure", "escalated")
NON_NEGATIVE = ("latency_s", "cost_usd", "tooling_cost_usd", "reviewer_minutes")
NUMERIC = (*NON_NEGATIVE, "customer_feedback")
BOOLEAN = ("reworked", "policy_hit", "rolled_back")
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
UNKNOWN_AGENT = REASONS[-1]
# A task's latency, cost, minutes or score beyond this is a broken value, not a measurement; the
# bound keeps every sum and sum of squares over billions of rows far from overflowing.
MAX_MAGNITUDE = 1e12
FIRST = datetime.combine(EARLIEST_DATE, time(), UTC)
AFTER = datetime.combine(LATEST_DATE + timedelta(days=1), time(), UTC)
UTC_TIMESTAMP = dt.Timestamp(timezone="UTC")


class _Columns:
    """The raw relation's columns and what each holds (a type, text, or nested values)."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.schema = raw.schema()

    def has(self, name: str) -> bool:
        return name in self.schema

    def kind(self, name: str) -> dt.DataType:
        return self.schema[name]

    def nested(self, name: str) -> Any:
        """True where the row holds an object or a list in this column."""
        flag = f"{name}__nested"
        if self.has(flag):
            return self.raw[flag].fill_null(False)
        kind = self.kind(name)
        if kind.is_struct() or kind.is_array() or kind.is_map():
            return self.raw[name].notnull()
        return ibis.literal(False)

    def text(self, name: str) -> Any:
        kind = self.kind(name)
        if kind.is_string():
            return self.raw[name]
        if kind.is_struct() or kind.is_array() or kind.is_map():
            return ibis.null(dt.string)
        return self.raw[name].cast(dt.string)

    def number(self, name: str) -> Any:
        if not self.has(name):
            return ibis.null(dt.float64)
        kind = self.kind(name)
        if kind.is_numeric():
            return self.raw[name].cast(dt.float64)
        if kind.is_string():
            return _lenient(self.raw[name], dt.float64)
        return ibis.null(dt.float64)

    def flag(self, name: str) -> Any:
        if not self.has(name):
            return ibis.null(dt.boolean)
        kind = self.kind(name)
        if kind.is_boolean():
            return self.raw[name]
        if kind.is_numeric():
            return _one_or_zero(self.raw[name])
        if kind.is_string():
            # pandas writes a flag column with gaps as floats: 1.0, 0.0 and empty
            text = self.raw[name]
            exact = text.try_cast(dt.boolean)
            lenient = text.strip().lower().try_cast(dt.boolean)
            return _first_of(exact, lenient, _one_or_zero(text.strip().try_cast(dt.float64)))
        return ibis.null(dt.boolean)

    def custom(self, name: str) -> Any:
        """A custom column: a number or a flag; true/false (CSV) count as 1/0."""
        number = self.number(name)
        if self.kind(name).is_string():
            # The exact flag reading first: a number parse that fails (every row of a true/false
            # column) costs 3.5 times one that succeeds, while the flag cast is cheap either way;
            # where both succeed ('1', '0') they agree.
            exact = self.raw[name].try_cast(dt.boolean).cast(dt.float64)
            as_flag = self.flag(name).cast(dt.float64)
            return _first_of(exact, number, as_flag)
        if self.kind(name).is_boolean():
            return self.raw[name].cast(dt.float64)
        return number

    def is_text(self, name: str) -> bool:
        return self.has(name) and self.kind(name).is_string()

    def timestamp(self, from_epoch: Callable[[Any], Any]) -> Any:
        """The row's time in UTC; NULL when it is no time, or outside govkit's calendar.
        `from_epoch`: the engine's conversion of (fractional) epoch seconds to a UTC time."""
        raw, kind = self.raw["timestamp"], self.kind("timestamp")
        if kind.is_timestamp() or kind.is_date():
            return _in_calendar(raw.cast(UTC_TIMESTAMP))
        epoch = raw.cast(dt.float64) if kind.is_numeric() else None
        if kind.is_string():
            parsed = _in_calendar(_lenient(raw, UTC_TIMESTAMP))
            epoch = _lenient(raw, dt.float64)
            return _first_of(parsed, _from_epoch(epoch, from_epoch))
        return _from_epoch(epoch, from_epoch) if epoch is not None else ibis.null(UTC_TIMESTAMP)


def _first_of(*readings: Any) -> Any:
    """Row by row, the first of `readings` that is not NULL. A CASE, not a COALESCE: DuckDB
    computes every argument of a COALESCE on every row, so a costly fallback would run where an
    earlier reading succeeded (on the 10M-row CSV bench: a flag's number cast, 34 CPU s; the
    timestamp read again as epoch seconds, 6.9 -> 6.2 s for converting the file)."""
    *first, last = readings
    return ibis.cases(*((reading.notnull(), reading) for reading in first), else_=last)


def _lenient(text: Any, to: dt.DataType) -> Any:
    """`text` as a number or a time. Both engines' casts already skip surrounding blanks (checked
    by the DuckDB/Spark parity tests); an explicit trim would cost more than the conversion on a
    large text source."""
    return text.try_cast(to)


def _stripped(text: Any) -> Any:
    """`text` without surrounding blanks. Trimmed unconditionally: engines apply a function to a
    dictionary-encoded column once per distinct value, which a per-row "only where needed" test
    would defeat (ten times the cost on 10M rows of a Parquet or stored CSV source). For the same
    reason `agent` and `outcome` are trimmed in `checked`, after a CSV source is stored (its
    text dictionary-encoded), not in `typed_events` (text as read: once per row)."""
    return text.strip()


def _in_calendar(moment: Any) -> Any:
    inside = (moment >= ibis.literal(FIRST)) & (moment < ibis.literal(AFTER))
    return inside.ifelse(moment, ibis.null(UTC_TIMESTAMP))


def _from_epoch(seconds: Any, convert: Callable[[Any], Any]) -> Any:
    """Epoch seconds to the millisecond, range-checked before conversion (a year past 294247
    fails in SQL)."""
    inside = (seconds >= FIRST.timestamp()) & (seconds < AFTER.timestamp())
    return convert(inside.ifelse((seconds * 1000).round() / 1000, ibis.null(dt.float64)))


def epoch_numbers(raw: Any) -> Any | None:
    """The raw `timestamp` as a number (numeric columns, or text that holds one), or None when
    the column holds times: what a hint about the epoch's unit looks at."""
    column, kind = raw["timestamp"], raw.schema()["timestamp"]
    if kind.is_numeric():
        return column.cast(dt.float64)
    return _lenient(column, dt.float64) if kind.is_string() else None


def holds_nested(raw: Any, name: str) -> Any:
    """True where the row of `raw` holds an object or a list in column `name`."""
    return _Columns(raw).nested(name)


def _one_or_zero(value: Any) -> Any:
    """A number read as a flag: 1 is true, 0 false, anything else unreadable (null)."""
    return ibis.cases((value == 1, True), (value == 0, False), else_=ibis.null(dt.boolean))


def _out_of_range(value: Any) -> Any:
    """NaN, infinite, or beyond +-MAX_MAGNITUDE. One comparison: both engines order NaN above
    every number, so `NaN <= bound` is false (separate NaN and infinity tests cost a 10M-row
    Parquet scan an eighth of its time)."""
    return (~(value.abs() <= MAX_MAGNITUDE)).fill_null(False)


def typed_events(raw: Any, *, custom: set[str], from_epoch: Callable[[Any], Any]) -> Any:
    """The raw relation typed: the contract's columns (numbers as float64, flags as booleans,
    the catalog's custom columns as numbers, the time as UTC, `task_id` as text when there is
    one), with what the checks need to know about the raw values (`_bad_json`, `_agent_nested`,
    `_bad_value`), `_file` and `_row`.
    `from_epoch`: the engine's conversion of epoch seconds.

    Two steps, so that each value is converted once: the conversions (with the text they came
    from), then the judgement of the converted values. Ibis would fuse them into one projection
    that converts a text column once per use (`view()` keeps them apart), and an engine does
    not share a conversion between the branches of a CASE: on 10M rows of CSV text, several
    times the cost of the whole pass."""
    first, texts, problems = _converted(raw, custom, from_epoch)
    bad = first._misshapen
    for problem in problems.values():
        bad = bad | problem
    kept = [name for name in first.columns if name not in texts and name != "_misshapen"]
    return first.select(*kept, _bad_value=bad)


def value_problems(raw: Any, *, custom: set[str], from_epoch: Callable[[Any], Any]) -> Any:
    """For the refusal's hint, per row of `raw` (a few rows): for each value column, whether its
    value is bad (`<name>__bad`: unreadable text, out of range, an object or a list), what it
    reads (`<name>__reads`) and whether it is nested, by the same conversions as `typed_events`."""
    columns = _Columns(raw)
    names = ["agent", *NUMERIC, *BOOLEAN, *sorted(custom)]
    nested = {f"{n}__nested": columns.nested(n) for n in dict.fromkeys(names) if columns.has(n)}
    if columns.has("_agent_not_text"):
        nested["agent__nested"] = nested["agent__nested"] | raw["_agent_not_text"].fill_null(False)
    first, texts, problems = _converted(raw, custom, from_epoch, keep=nested)
    shown = {}
    for name in ["agent", *problems]:
        flag = first[f"{name}__nested"] if f"{name}__nested" in nested else ibis.literal(False)
        problem = problems.get(name, ibis.literal(False)) | flag
        text = first[_text_of(name)] if _text_of(name) in texts else first[name].cast(dt.string)
        shown |= {f"{name}__bad": problem.fill_null(False), f"{name}__reads": text,
                  f"{name}__nested": flag}  # fmt: skip
    return first.select(**shown)


def _converted(
    raw: Any, custom: set[str], from_epoch: Callable[[Any], Any], keep: dict[str, Any] | None = None
) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """(the conversions as a view, with `keep` beside; their source texts by `_text_of` name;
    each value column's problem: unreadable text or out of range)."""
    columns = _Columns(raw)
    extra = sorted(n for n in custom if columns.has(n) and n not in {*NUMERIC, *BOOLEAN, *REQUIRED})
    converted = {name: columns.number(name) for name in NUMERIC}
    converted |= {name: columns.flag(name) for name in BOOLEAN}
    converted |= {name: columns.custom(name) for name in extra}
    texts = {_text_of(name): columns.raw[name] for name in converted if columns.is_text(name)}
    first = raw.select(
        ts=columns.timestamp(from_epoch),
        agent=columns.text("agent"),  # normalised by `checked`: see `_stripped`
        outcome=columns.text("outcome"),
        **converted,
        **texts,
        **({"task_id": columns.text("task_id")} if columns.has("task_id") else {}),
        _bad_json=raw["_bad_json"].fill_null(True) if columns.has("_bad_json") else False,
        _agent_nested=columns.nested("agent"),
        _misshapen=_misshapen(columns, [*REQUIRED, "task_id", *converted]),
        _file=raw["_file"].cast(dt.string),
        _row=raw["_row"].cast(dt.int64),
        **(keep or {}),
    ).view()
    problems: dict[str, Any] = {}
    for name in converted:
        if _text_of(name) in texts:
            problems[name] = _unreadable(first[name], first[_text_of(name)])
    for name in [*NUMERIC, *extra]:
        if columns.has(name):
            out = _out_of_range(first[name])
            problems[name] = problems[name] | out if name in problems else out
    return first, texts, problems


def _text_of(name: str) -> str:
    return f"_text_{name}"


def _unreadable(value: Any, text: Any) -> Any:
    """A text value that is there, is not blank, but did not convert. A CASE, so the text is
    trimmed only on the rows whose conversion failed (a conjunction trims every row)."""
    return value.isnull().ifelse((text.strip() != "").fill_null(False), False)


def checked(typed: Any, *, agents: Any, hourly_rate: float) -> Any:
    """The typed events (`typed_events`) checked: the contract's columns, `human_cost_usd`,
    `reason`, `_file`, `_row`, and the columns of `agents` (an Ibis table of the charters' ids,
    `agent`, with whatever each agent needs beside, such as its windows). An agent is known when
    it is in `agents` (a join, far cheaper per row than a list of ids)."""
    joined = _normalised(typed).left_join(agents.mutate(_known=True), "agent")
    return joined.select(
        *[name for name in joined.columns if name not in HELPERS],
        human_cost_usd=_human_cost(joined, hourly_rate),
        reason=_first_reason(joined),
    )


def charted(typed: Any, *, agents: Any, hourly_rate: float) -> Any:
    """The rows of `typed` whose agent is in `agents`, as `checked` gives them but with no check
    and no `reason`: what `checked` keeps as valid once a pass over the same rows has found none
    that fails a check (rows of agents without a charter are left out by the join)."""
    joined = _normalised(typed).inner_join(agents, "agent")
    return joined.select(
        *[name for name in joined.columns if name not in HELPERS],
        human_cost_usd=_human_cost(joined, hourly_rate),
    )


def _normalised(typed: Any) -> Any:
    return typed.mutate(agent=_stripped(typed.agent), outcome=_outcome(typed.outcome))


def _human_cost(joined: Any, hourly_rate: float) -> Any:
    return joined.reviewer_minutes / MINUTES_PER_HOUR * float(hourly_rate)


def _outcome(text: Any) -> Any:
    """The outcome trimmed and in lower case."""
    return _stripped(text).lower()


HELPERS = ("_bad_json", "_agent_nested", "_bad_value", "_known")


def _first_reason(typed: Any) -> Any:
    """The first check a typed row fails, in the order of REASONS (NULL: a good row)."""
    negative = ibis.literal(False)
    for name in NON_NEGATIVE:
        negative = negative | (typed[name] < 0).fill_null(False)
    missing_agent = typed.agent.isnull() | (typed.agent == "")
    known = typed._known.fill_null(False)
    return ibis.cases(
        (typed._bad_json, "bad_json"),
        (missing_agent & ~typed._agent_nested, "missing_agent"),
        (missing_agent, "bad_value"),  # an agent given as an object or a list
        (typed.ts.isnull(), "bad_timestamp"),
        (typed.outcome.isnull() | ~typed.outcome.isin(OUTCOMES), "bad_outcome"),
        (typed._bad_value, "bad_value"),
        (negative, "negative_value"),
        (~known, UNKNOWN_AGENT),
        else_=ibis.null(dt.string),
    )


def _misshapen(columns: _Columns, names: list[str]) -> Any:
    """An agent that is not text, or an object or a list in any contract column."""
    bad = (
        columns.raw["_agent_not_text"].fill_null(False)
        if columns.has("_agent_not_text")
        else (ibis.literal(False))
    )
    for name in names:
        if columns.has(name):
            bad = bad | columns.nested(name)
    return bad
