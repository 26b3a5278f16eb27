"""Where each rollout phase stands on a given day: from its deliverables first, then its dates.

A phase is `done` only when every deliverable is done (whatever the calendar says); past its last
day with a deliverable still open it is `late`; otherwise `active` from its first day to its last,
and `planned` before that. One rule, used by the handbook's home and rollout pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from playbook.core.model import Deliverable, Phase, Rollout

DONE, LATE, ACTIVE, PLANNED = "done", "late", "active", "planned"
STATES = (DONE, LATE, ACTIVE, PLANNED)


def phase_state(deliverables: list[Deliverable], start: date, end: date, today: date) -> str:
    """DONE, LATE, ACTIVE or PLANNED for a phase running from `start` to `end` (inclusive)."""
    if all(item.done for item in deliverables):
        return DONE
    if today > end:
        return LATE
    return ACTIVE if today >= start else PLANNED


@dataclass(frozen=True)
class PhaseStatus:
    """One phase with its calendar dates and its state on a day."""

    phase: Phase
    start: date
    end: date
    state: str  # DONE, LATE, ACTIVE or PLANNED
    delivered: int

    @property
    def total(self) -> int:
        return len(self.phase.deliverables)

    @property
    def open_items(self) -> list[str]:
        """The deliverables not done yet, as written."""
        return [item.item for item in self.phase.deliverables if not item.done]


def rollout_status(rollout: Rollout, today: date) -> list[PhaseStatus]:
    """Each phase of the rollout with its dates and its state on `today`, in plan order."""
    rows = []
    for phase in rollout.phases:
        start, end = phase.dates(rollout.start_date)
        state = phase_state(phase.deliverables, start, end, today)
        delivered = sum(1 for item in phase.deliverables if item.done)
        rows.append(PhaseStatus(phase, start, end, state, delivered))
    return rows


def late_phases(rows: list[PhaseStatus]) -> list[PhaseStatus]:
    return [row for row in rows if row.state == LATE]


def current_phase(rows: list[PhaseStatus]) -> PhaseStatus | None:
    """The first active phase, if one is."""
    return next((row for row in rows if row.state == ACTIVE), None)
