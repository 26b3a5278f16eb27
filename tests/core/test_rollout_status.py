"""Rollout truth: a phase is done only when its deliverables are; late past its end with one
open; otherwise active or planned by its dates."""

from __future__ import annotations

from datetime import date

import pytest

from playbook.core.model import Deliverable, Rollout
from playbook.core.rollout_status import (
    ACTIVE,
    DONE,
    LATE,
    PLANNED,
    current_phase,
    late_phases,
    phase_state,
    rollout_status,
)

START, END = date(2026, 11, 2), date(2026, 11, 15)
ALL_DONE = [Deliverable(item="a", done=True), Deliverable(item="b", done=True)]
ONE_OPEN = [Deliverable(item="a", done=True), Deliverable(item="b", done=False)]


@pytest.mark.parametrize(
    "deliverables, today, state",
    [
        (ALL_DONE, date(2026, 11, 20), DONE),  # finished, after its dates
        (ALL_DONE, date(2026, 11, 5), DONE),  # finished early: done, not active
        (ALL_DONE, date(2026, 10, 1), DONE),  # finished before it was due to start
        (ONE_OPEN, date(2026, 11, 16), LATE),  # the day after its last day
        (ONE_OPEN, date(2027, 3, 1), LATE),
        (ONE_OPEN, END, ACTIVE),  # its last day is still its own
        (ONE_OPEN, START, ACTIVE),
        (ONE_OPEN, date(2026, 11, 1), PLANNED),  # the day before it starts
    ],
)
def test_phase_state(deliverables, today, state):
    assert phase_state(deliverables, START, END, today) == state


def _rollout(*phases: tuple[str, bool]) -> Rollout:
    return Rollout.model_validate(
        {
            "start_date": "2026-10-05",
            "phases": [
                {
                    "id": f"p{index}",
                    "name": f"Phase {index}",
                    "weeks": weeks,
                    "owner_role": "agent-owner",
                    "goals": ["g"],
                    "deliverables": [{"item": "x", "done": True}, {"item": "y", "done": done}],
                }
                for index, (weeks, done) in enumerate(phases, start=1)
            ],
        }
    )


def test_rollout_status_lists_late_phases_and_the_current_one():
    rollout = _rollout(("1-2", True), ("3-4", False), ("5-6", False), ("7-8", False))
    rows = rollout_status(rollout, date(2026, 11, 3))  # week 5

    assert [row.state for row in rows] == [DONE, LATE, ACTIVE, PLANNED]
    assert [row.phase.id for row in late_phases(rows)] == ["p2"]
    assert current_phase(rows).phase.id == "p3"
    late = late_phases(rows)[0]
    assert (late.start, late.end) == (date(2026, 10, 19), date(2026, 11, 1))
    assert (late.delivered, late.total, late.open_items) == (1, 2, ["y"])


def test_a_finished_rollout_has_no_current_phase():
    rows = rollout_status(_rollout(("1-2", True), ("3-4", True)), date(2026, 10, 20))
    assert [row.state for row in rows] == [DONE, DONE]
    assert current_phase(rows) is None and late_phases(rows) == []
