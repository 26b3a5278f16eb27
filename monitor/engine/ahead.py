"""Events dated after the clock: counted in the summary pass, said as a warning.

A run without `--now` takes the clock's time, so an event dated after it cannot have happened
yet: its timestamp is wrong, most often a local time written without an offset (govkit reads it
as UTC, so every zone east of UTC lands in the future), or a producer whose clock runs ahead.
Such events fall in no window and would otherwise vanish without a word. A run with `--now`
replays the past on purpose, and the events after it are expected: no warning then.

`ahead_columns` reads off each group of the pass its tasks dated more than `TOLERANCE` after now;
`ahead_warning` adds them up, with the latest of their timestamps (the pass's `LAST_TIME`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from monitor.engine.segments import Spans
from monitor.engine.uncharted import LAST_TIME, UNKNOWN_AGENT, engine_instant
from playbook.core.clock import iso

TOLERANCE = timedelta(minutes=5)  # clocks of the machines that log tasks differ by seconds


def ahead_instants(now: datetime) -> tuple[datetime, ...]:
    """The moment no group of the pass may straddle for `ahead_columns` to be exact."""
    return (now + TOLERANCE,)


def ahead_columns(
    groups: dict[str, np.ndarray], spans: Spans, now: datetime
) -> dict[str, np.ndarray]:
    """Per group of the pass (`ahead_instants` among its segments' cuts): its tasks if they are
    dated more than `TOLERANCE` after `now`; the latest of its times is the pass's `LAST_TIME`."""
    (after,) = ahead_instants(now)
    return {"ahead": np.where(spans.within(after, None), groups["tasks"], 0)}


def ahead_warning(groups: dict[str, np.ndarray], now: datetime) -> list[str]:
    """One warning when well-formed events (charted or not) are dated after the clock's `now`."""
    if "ahead" not in groups:
        return []
    readable = np.array([reason in (None, UNKNOWN_AGENT) for reason in groups["reason"]], bool)
    counts = np.nan_to_num(groups["ahead"].astype(float))
    rows = np.flatnonzero(readable & (counts > 0))
    if not len(rows):
        return []
    tasks = int(counts[rows].sum())
    latest = max(engine_instant(groups[LAST_TIME][row]) for row in rows)
    example = latest.replace(tzinfo=None).isoformat(timespec="seconds")
    counted = "they count" if tasks != 1 else "it counts"
    return [
        f"{tasks:,} event{'s are' if tasks != 1 else ' is'} dated after now "
        f"({iso(now)}, the clock's time), the latest {iso(latest)}, {_lead(latest - now)} "
        f"ahead: {counted} in no window. A timestamp without an offset is read as UTC: if the "
        f"export writes local time, add its offset ({example}+03:00, say); otherwise the clock "
        "of what logs these tasks runs ahead"
    ]


def _lead(length: timedelta) -> str:
    minutes = int(length.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} days"
