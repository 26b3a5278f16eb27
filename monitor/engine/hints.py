"""Why a source was refused, said so that it can be fixed in one go: the hints that end a
refusal for too many bad rows.

Each costs a query or two, run only on the refusal path (a hint that cannot be had is no hint):
bad timestamps get the unit they look like (epoch milliseconds and finer) or what the first one
reads; bad outcomes the words the export used, most frequent first, with the outcome each may
mean; bad values the columns of the first bad row that hold them and what they read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import ibis
import ibis.expr.datatypes as dt

from monitor.engine.event_checks import (
    AFTER,
    BOOLEAN,
    FIRST,
    MAX_MAGNITUDE,
    OUTCOMES,
    epoch_numbers,
    holds_nested,
    value_problems,
)
from playbook.core.errors import UsageError, close_matches


class RefusedSource(Protocol):
    """What a hint reads of a refused source (`monitor.engine.events.Events`)."""

    raw: Any  # the source's columns as they are
    checked: Any  # every row with its `reason`
    custom: set[str]
    engine: Any

    def run(self, expression: Any) -> Any: ...


EPOCH_UNITS = (("milliseconds", 1e3), ("microseconds", 1e6), ("nanoseconds", 1e9))
MOST_FREQUENT = 5  # outcomes listed
DECIMAL_COMMA = re.compile(r"\s*-?\d+,\d+\s*")
BEYOND = f"±1e{round(math.log10(MAX_MAGNITUDE))}"  # ±1e12


def refusal_hints(events: RefusedSource, reasons: Collection[str]) -> list[str]:
    """The hints for a refusal whose bad rows have these `reasons`, in the order of REASONS."""
    found = []
    for reason, hint in (("bad_timestamp", _timestamp_hint), ("bad_outcome", _outcome_hint),
                         ("bad_value", _value_hint)):  # fmt: skip
        if reason not in reasons:
            continue
        try:
            said = hint(events)
        except UsageError:  # a hint that cannot be had is no hint
            continue
        if said:
            found.append(said)
    return found


# --- the queries ---------------------------------------------------------------------------------


def _timestamp_hint(events: RefusedSource) -> str | None:
    """Numbers in a finer unit than epoch seconds, or else what the first bad timestamp reads."""
    return _epoch_hint(events) or _first_bad_timestamp(events)


def _epoch_hint(events: RefusedSource) -> str | None:
    numbers = epoch_numbers(events.raw)
    if numbers is None:
        return None
    large = events.raw.select(number=numbers).filter(lambda t: t.number >= AFTER.timestamp())
    found = events.run(large.aggregate(low=large.number.min(), high=large.number.max()))
    row = found.to_pylist()[0]
    return epoch_unit_hint(row["low"], row["high"])


def _first_bad(events: RefusedSource, reason: str) -> tuple[Any, str] | None:
    """The raw row (a one-row table) of the first row skipped for `reason`, and where it is."""
    if "_row" not in events.raw.columns:
        return None
    table = events.checked
    bad = table.filter(table.reason == reason).order_by(["_file", "_row"]).limit(1)
    located = events.run(bad.select("_file", "_row")).to_pylist()
    if not located or located[0]["_row"] is None:
        return None
    file_name, row = located[0]["_file"], located[0]["_row"]
    raw = events.raw.filter(events.raw._file == file_name, events.raw._row == row).limit(1)
    return raw, f"{Path(file_name).name}:{row}" if file_name else f"row {row}"


def _first_bad_timestamp(events: RefusedSource) -> str | None:
    first = _first_bad(events, "bad_timestamp")
    if first is None:
        return None
    raw, where = first
    nested = holds_nested(raw, "timestamp")
    texts = events.run(raw.select(text=raw.timestamp.cast(dt.string), nested=nested)).to_pylist()
    text = texts[0]["text"] if texts else None
    return timestamp_hint(where, text, nested=bool(texts and texts[0]["nested"]))


def _outcome_hint(events: RefusedSource) -> str | None:
    """The refused outcomes, most frequent first."""
    table = events.checked
    bad = table.filter(table.reason == "bad_outcome")
    counted = bad.group_by(value=bad.outcome).aggregate(n=bad.count())
    rows = events.run(counted.order_by([ibis.desc("n"), "value"]).limit(MOST_FREQUENT)).to_pylist()
    return outcome_hint([(row["value"], row["n"]) for row in rows]) if rows else None


def _value_hint(events: RefusedSource) -> str | None:
    """The columns of the first bad-value row that hold a bad value, and what they read."""
    first = _first_bad(events, "bad_value")
    if first is None:
        return None
    raw, where = first
    problems = value_problems(raw, custom=events.custom, from_epoch=events.engine.from_epoch)
    rows = events.run(problems).to_pylist()
    if not rows:
        return None
    row = rows[0]
    names = [name[: -len("__bad")] for name in row if name.endswith("__bad") and row[name]]
    found = [(name, row[f"{name}__reads"], bool(row[f"{name}__nested"])) for name in names]
    return value_hint(where, found) if found else None


# --- the words -----------------------------------------------------------------------------------


def epoch_unit_hint(low: float | None, high: float | None) -> str | None:
    """When numbers too large for epoch seconds all fall inside the calendar in a finer unit:
    `the timestamps look like epoch milliseconds (1732450000000 is 2024-11-24T12:26:40Z); ...`."""
    if low is None or high is None:
        return None
    for unit, per_second in EPOCH_UNITS:
        if FIRST.timestamp() <= low / per_second and high / per_second < AFTER.timestamp():
            moment = datetime.fromtimestamp(high / per_second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            return (
                f"the timestamps look like epoch {unit} ({high:.0f} is {moment} in {unit}); "
                f"govkit reads epoch seconds: divide them by {per_second:,.0f}, or write ISO 8601"
            )
    return None


def timestamp_hint(where: str, text: str | None, *, nested: bool = False) -> str:
    """What the first bad timestamp reads (a JSON object such as MongoDB's `{"$date": ...}`, or
    a list, is said as such), and what a timestamp must be."""
    shown = "reads nothing" if text is None or not text.strip() else f"reads {text[:60]!r}"
    if nested:
        shown = "holds a JSON object or list, not a time"
    return (
        f"the first bad timestamp ({where}) {shown}; a timestamp is ISO 8601 with an "
        "offset (2026-11-20T10:00:00Z) or epoch seconds, from 1970 to 2999"
    )


def outcome_hint(counts: list[tuple[str | None, int]]) -> str:
    """The outcomes most often refused, with how many rows and the outcome each may mean:
    `the outcomes govkit cannot read are 'succeeded' (1,234 rows; did you mean 'success'?)`."""
    read = []
    for value, rows in counts:
        shown = "none" if value is None or not value.strip() else repr(value[:40])
        close = close_matches(value, OUTCOMES) if value else []
        meant = f"; did you mean {close[0]!r}?" if close else ""
        read.append(f"{shown} ({rows:,} row{'s' if rows != 1 else ''}{meant})")
    return (
        f"the outcomes govkit cannot read are {', '.join(read)}; an outcome is success, "
        "failure or escalated, in any case"
    )


def value_hint(where: str, found: list[tuple[str, str | None, bool]]) -> str:
    """What the bad values of the first bad row read: `latency_s reads '1,5' (a decimal comma?
    write 1.5)`, `cost_usd reads '1e13' (NaN, infinite or beyond ±1e12: not a measurement)`."""
    return f"the first bad value ({where}): {'; '.join(_said(*value) for value in found)}"


def _said(name: str, text: str | None, nested: bool) -> str:
    if name == "agent":
        return "agent is not text" if nested or not text else f"agent reads {text!r}, not text"
    if nested:
        return f"{name} holds a JSON object or list"
    if not text:
        return f"{name} reads nothing"
    reads = f"{name} reads {text[:40]!r}"
    if name in BOOLEAN:
        return f"{reads} (a flag is true/false, yes/no or 1/0)"
    if DECIMAL_COMMA.fullmatch(text):
        return f"{reads} (a decimal comma? write {text.strip().replace(',', '.')})"
    if _number(text) is not None:
        return f"{reads} (NaN, infinite or beyond {BEYOND}: not a measurement)"
    return reads


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None
