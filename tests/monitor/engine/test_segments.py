"""Windows read off (agent, day, segment) after grouping: the same as comparing each row with
each window's bounds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import ibis.expr.datatypes as dt
import numpy as np
import pytest

from monitor.engine.ahead import TOLERANCE, ahead_warning
from monitor.engine.engines import DuckDBEngine
from monitor.engine.metrics import measure
from monitor.engine.plan import Plan
from monitor.engine.segments import Segments
from monitor.engine.uncharted import uncharted
from playbook.policy import load_governance
from tests.conftest import EXAMPLE_GOVERNANCE

NOW = datetime(2026, 11, 24, 14, 37, 12, 250_000, tzinfo=UTC)
MIDNIGHT = datetime(2026, 11, 24, tzinfo=UTC)
HALF_PAST = MIDNIGHT + timedelta(minutes=30)


def _plan() -> Plan:
    """Windows ending at `now`, at a midnight and half an hour past one, one of an hour,
    overlapping ones, an agent without a window of every label."""
    day = timedelta(days=1)
    return Plan(
        now=NOW,
        windows={
            "a": {"baseline": (NOW - 35 * day, NOW - 7 * day), "recent": (NOW - 7 * day, NOW),
                  "stop": (NOW - timedelta(hours=1), NOW)},
            "d": {"recent": (NOW - 7 * day, NOW)},
            "b": {"baseline": (MIDNIGHT - 28 * day, MIDNIGHT - 7 * day),
                  "recent": (MIDNIGHT - 7 * day, MIDNIGHT), "stop": (MIDNIGHT - 3 * day, NOW)},
            "c": {"baseline": (NOW - 14 * day, NOW - 7 * day), "recent": (NOW - 7 * day, NOW),
                  "stop": (HALF_PAST - day, HALF_PAST)},
        },
        metrics={},
    )  # fmt: skip


def _moments(plan: Plan) -> list[datetime]:
    """Every bound, a microsecond either side of it, and times spread over the 40 days."""
    rng = np.random.default_rng(3)
    bounds = {m for windows in plan.windows.values() for span in windows.values() for m in span}
    near = [b + timedelta(microseconds=shift) for b in bounds for shift in (-1, 0, 1)]
    spread = [NOW - timedelta(seconds=float(s)) for s in rng.uniform(0, 40 * 86_400, 2_000)]
    return near + spread


def _truth(plan: Plan, agent: str, moment: datetime) -> int:
    mask = 0
    for index, label in enumerate(plan.labels):
        span = plan.windows.get(agent, {}).get(label)
        if span is not None and span[0] <= moment < span[1]:
            mask |= 1 << index
    return mask


@pytest.fixture(scope="module")
def engine():
    opened = DuckDBEngine()
    yield opened
    opened.close()


def placed(engine, plan: Plan, *, with_days: bool, agents: list[str]) -> tuple[list, list]:
    """Rows of `agents` at every bound, a microsecond either side and spread over 40 days: the
    windows each is in as read off its group by `engine`, and as comparing it with each bound."""
    rows = [(agent, moment) for agent in agents for moment in _moments(plan)]
    table = engine.small_table(
        {"agent": [a for a, _ in rows], "ts": [m for _, m in rows]},
        {"agent": dt.string, "ts": dt.Timestamp(timezone="UTC")},
    )
    segments = Segments(plan, with_days=with_days)
    read = engine.to_numpy(
        table.select(
            "agent", day=engine.day_number(table.ts), segment=segments.number(table.ts, engine)
        )
    )
    spans = segments.spans(read["segment"], read["day"] if with_days else None)
    expected = [_truth(plan, agent, moment) for agent, moment in rows]
    return spans.masks(read["agent"]).tolist(), expected


@pytest.mark.parametrize("with_days", [True, False])
def test_each_rows_windows_are_the_windows_of_its_group(engine, with_days):
    plan = _plan()
    masks, expected = placed(engine, plan, with_days=with_days, agents=[*plan.windows, "ghost"])
    assert masks == expected
    assert any(expected) and not all(expected)


def test_bounds_at_midnight_need_no_segment_when_days_are_grouped():
    plan = _plan()
    with_days = Segments(plan, with_days=True)
    assert all(cut.time() != MIDNIGHT.time() for cut in with_days.cuts)
    assert len(with_days.cuts) < len(Segments(plan, with_days=False).cuts)
    only_b = Plan(now=NOW, windows={"b": {"recent": plan.windows["b"]["recent"]}}, metrics={})
    assert Segments(only_b, with_days=True).cuts == []


def test_with_days_a_row_is_compared_once_per_time_of_day_not_once_per_bound():
    """Windows of 40 lengths, all ending at `now` or whole days before it, share `now`'s time of
    day: one comparison a row, where counting the bounds would take 42; a time of day only one
    bound has is compared as that bound (it would split every day for one cut)."""
    day = timedelta(days=1)
    windows = {f"agent-{n}": {"baseline": (NOW - (n + 8) * day, NOW - 7 * day),
                              "recent": (NOW - 7 * day, NOW)} for n in range(40)}  # fmt: skip
    plan = Plan(now=NOW, windows=windows, metrics={})
    segments = Segments(plan, with_days=True)
    assert len(segments.cuts) == 42
    assert segments.times == [(14 * 3600 + 37 * 60 + 12) * 1_000_000 + 250_000]
    assert segments.single == []
    mixed = Segments(_plan(), with_days=True)  # now's time of day and 00:30 each end two windows
    assert mixed.times == [30 * 60 * 1_000_000, segments.times[0]]
    assert mixed.single == [NOW - timedelta(hours=1)]  # the only bound at 13:37:12.25


def test_a_group_without_a_time_is_in_no_window():
    plan = _plan()
    segments = Segments(plan, with_days=True)
    moment = MIDNIGHT - timedelta(days=2) + timedelta(hours=12)
    since_midnight = (moment - moment.replace(hour=0, minute=0)) // timedelta(microseconds=1)
    past_times = sum(time <= since_midnight for time in segments.times)
    segment = past_times * (len(segments.single) + 1) + sum(c <= moment for c in segments.single)
    day = (moment - datetime(1970, 1, 1, tzinfo=UTC)).days
    spans = segments.spans(np.array([segment] * 2), np.array([np.nan, day]))
    masks = spans.masks(np.array(["a", "a"]))
    assert masks.tolist() == [0, _truth(plan, "a", moment)]
    assert masks[1] != 0


def test_the_pass_counts_unknown_and_future_tasks_exactly_at_their_bounds(tmp_path):
    governance = load_governance(EXAMPLE_GOVERNANCE, today=NOW.date())
    tick = timedelta(microseconds=1)
    week = NOW - timedelta(days=7)
    moments = [week - tick, week, NOW - tick, NOW, NOW + TOLERANCE - tick, NOW + TOLERANCE,
               NOW + TOLERANCE + timedelta(hours=30)]  # fmt: skip
    lines = ["timestamp,agent,outcome"]
    lines += [f"{m.isoformat()},{agent},success" for m in moments
              for agent in ("support-replies", "shadow-bot")]  # fmt: skip
    (tmp_path / "events.csv").write_text("\n".join(lines) + "\n")
    charter = governance.agent("support-replies")
    summaries, _ = measure(str(tmp_path / "events.csv"), governance, [charter], NOW)

    (seen,) = uncharted(summaries.groups)
    assert (seen.agent, seen.tasks, seen.recent_tasks) == ("shadow-bot", 3, 2)
    assert (seen.first_seen, seen.last_seen) == (week - tick, NOW - tick)
    (warning,) = ahead_warning(summaries.groups, NOW)
    assert warning.startswith("4 events are dated after now")  # 2 agents x 2 moments
    assert "the latest 2026-11-25T20:42:12Z, 30 h 5 min ahead" in warning
