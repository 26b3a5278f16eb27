"""Time in govkit: one clock, read at the edge, in UTC; windows; ISO 8601 in and out.

`utc_now` is the only function in govkit that reads the wall clock (a lint rule forbids
`datetime.now()` and `date.today()` elsewhere). Commands resolve `now` and `today` once, at the
command line, and pass them down, so a check and a monitor run started together agree on the
date even at midnight, and a run given `--now` is the same run every time.

A window is written `<int><h|d|w>` (`12h`, `7d`, `2w`), at most `MAX_WINDOW`; the interval a
schedule runs at may also be in seconds or minutes (`30s`, `15m`). Dates govkit plans and
monitors with lie between EARLIEST_DATE and LATEST_DATE. Both bounds keep every computed date
inside the calendar: a window of ten thousand years is a typo, never a plan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

WINDOW_PATTERN = re.compile(r"^([1-9][0-9]*)([hdw])$")
MAX_WINDOW = timedelta(weeks=520)
MAX_WINDOW_TEXT = "520w (ten years)"
EARLIEST_DATE = date(1970, 1, 1)
LATEST_DATE = date(2999, 12, 31)
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
INTERVAL_PATTERN = re.compile(r"^([1-9][0-9]*)([smhdw])$")
_INTERVAL_UNITS = {"s": timedelta(seconds=1), "m": timedelta(minutes=1), **_UNITS}


def utc_now() -> datetime:
    """The wall clock, in UTC. Called at the edge (the command line, the scheduler), once."""
    return datetime.now(UTC)


def check_window(value: str) -> str:
    """`value` when it is a window like `7d` of at most MAX_WINDOW; ValueError otherwise."""
    match = WINDOW_PATTERN.match(value)
    if not match:
        raise ValueError(f"expected a window like 12h, 7d or 2w but received {value!r}")
    seconds = int(match.group(1)) * _UNITS[match.group(2)].total_seconds()
    if seconds > MAX_WINDOW.total_seconds():
        raise ValueError(f"expected a window of at most {MAX_WINDOW_TEXT} but received {value!r}")
    return value


def parse_window(value: str) -> timedelta:
    """`7d` -> 7 days; ValueError for anything `check_window` refuses."""
    match = WINDOW_PATTERN.match(check_window(value))
    assert match is not None
    return int(match.group(1)) * _UNITS[match.group(2)]


def check_interval(value: str) -> str:
    """`value` when it is an interval like `15m`, `1h` or `1d` (a window, or seconds or minutes)
    of at most MAX_WINDOW; ValueError otherwise. How often a schedule runs (`--every`, and
    monitor.yaml's `every`)."""
    match = INTERVAL_PATTERN.match(value)
    if not match:
        raise ValueError(f"expected an interval such as 30m, 1h or 1d but received {value!r}")
    seconds = int(match.group(1)) * int(_INTERVAL_UNITS[match.group(2)].total_seconds())
    if seconds > MAX_WINDOW.total_seconds():
        raise ValueError(f"expected at most {MAX_WINDOW_TEXT} but received {value!r}")
    return value


def parse_interval(value: str) -> timedelta:
    """`15m` -> 15 minutes; ValueError for anything `check_interval` refuses."""
    match = INTERVAL_PATTERN.match(check_interval(value))
    assert match is not None
    return int(match.group(1)) * _INTERVAL_UNITS[match.group(2)]


def check_calendar_date(value: date) -> date:
    """`value` when it lies within EARLIEST_DATE to LATEST_DATE; ValueError otherwise."""
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValueError(
            f"expected a date from {EARLIEST_DATE} to {LATEST_DATE} but received {value}"
        )
    return value


def parse_instant(text: str) -> datetime:
    """An ISO 8601 time (`Z` or an offset; none means UTC) as an aware datetime; ValueError."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def iso(moment: datetime | None) -> str | None:
    """`2026-11-24T12:00:00Z`: a moment as govkit writes it (UTC, whole seconds)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def midnight(day: date) -> datetime:
    """The start of a UTC day."""
    return datetime.combine(day, time(), tzinfo=UTC)


@dataclass(frozen=True)
class Window:
    """A half-open interval [start, end) of one agent's events, named by its role."""

    label: str
    start: datetime
    end: datetime

    @property
    def days(self) -> float:
        return (self.end - self.start) / timedelta(days=1)
