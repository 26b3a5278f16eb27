"""Agents the events name that no charter has: counted in the summary pass itself.

The pass (`monitor.engine.summaries.summarise`) groups rows by (agent, day, segment, reason);
rows of an agent without a charter have the reason `unknown_agent`. `seen_columns` reads off
each group the tasks before `now` and those in the last `UNCHARTED_WINDOW`; the pass gives its
first and last timestamps (the engine's MIN and MAX); `uncharted` adds up an agent's day groups
into one row (a few hundred small groups at most, not events).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from monitor.engine.event_checks import UNKNOWN_AGENT
from monitor.engine.segments import Spans
from playbook.core.clock import iso

UNCHARTED_WINDOW = "7d"  # an agent is uncharted while it has tasks in the last 7 days
WINDOW_DAYS = 7
FIRST_TIME, LAST_TIME = "first_time", "last_time"  # the pass's MIN and MAX of the rows' times


@dataclass(frozen=True)
class Seen:
    """An agent without a charter, as the events show it up to the run's `now`."""

    agent: str
    tasks: int
    recent_tasks: int  # in [now - UNCHARTED_WINDOW, now)
    first_seen: datetime
    last_seen: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "tasks": self.tasks,
            "first_seen": iso(self.first_seen),
            "last_seen": iso(self.last_seen),
            "recent_tasks": self.recent_tasks,
            "window": UNCHARTED_WINDOW,
        }


def seen_instants(now: datetime) -> tuple[datetime, ...]:
    """The moments no group of the pass may straddle for `seen_columns` to be exact."""
    return (now - timedelta(days=WINDOW_DAYS), now)


def seen_columns(
    groups: dict[str, np.ndarray], spans: Spans, now: datetime
) -> dict[str, np.ndarray]:
    """Per group of the pass (`seen_instants` among its segments' cuts): its tasks if they are
    before `now`, and if they are in the window. Its first and last times are the engine's plain
    MIN and MAX (`FIRST_TIME`, `LAST_TIME`): a group is all before `now` or all after, so no
    filtered aggregate runs on every row. Read only in the groups of agents without a charter
    (`uncharted`)."""
    start, end = seen_instants(now)
    return {
        "seen_tasks": np.where(spans.within(None, end), groups["tasks"], 0),
        "seen_recent": np.where(spans.within(start, end), groups["tasks"], 0),
    }


def uncharted(groups: dict[str, np.ndarray]) -> list[Seen]:
    """Each agent without a charter that has tasks before `now`, most tasks first."""
    if "seen_tasks" not in groups:
        return []
    unknown = np.array([reason == UNKNOWN_AGENT for reason in groups["reason"]], dtype=bool)
    rows = np.flatnonzero(unknown & (np.nan_to_num(groups["seen_tasks"].astype(float)) > 0))
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        agent = str(groups["agent"][row])
        first, last = (
            engine_instant(groups[FIRST_TIME][row]),
            engine_instant(groups[LAST_TIME][row]),
        )
        totals = found.setdefault(agent, {"tasks": 0, "recent": 0, "first": first, "last": last})
        totals["tasks"] += int(groups["seen_tasks"][row])
        totals["recent"] += int(np.nan_to_num(float(groups["seen_recent"][row])))
        totals["first"] = min(totals["first"], first)
        totals["last"] = max(totals["last"], last)
    seen = [
        Seen(agent, t["tasks"], t["recent"], t["first"], t["last"]) for agent, t in found.items()
    ]
    return sorted(seen, key=lambda item: (-item.tasks, item.agent))


def engine_instant(value: Any) -> datetime:
    """A timestamp the engine returned (numpy datetime64 in UTC, or a datetime) as aware UTC."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    microseconds = int(np.datetime64(value, "us").astype(np.int64))
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=microseconds)
