"""When an agent's review falls due: its last review plus its charter's `review.cadence`.

The last review is the later of the charter's `review.last` (a review held outside govkit) and the
newest review the monitor wrote beside its state (`reviews/<agent>/<YYYY-MM-DD>.md`, named by the
day it was written). The review is due `cadence` days after it (weekly 7, biweekly 14, monthly 30,
quarterly 91) and overdue from the day after. An agent never reviewed has no due date: nothing to
count from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from playbook.core.charter import Charter
from playbook.core.types import CADENCE_DAYS


@dataclass(frozen=True)
class ReviewDue:
    cadence: str
    last: date | None
    due: date | None
    days_overdue: int  # 0 when not overdue (or never reviewed)

    @property
    def overdue(self) -> bool:
        return self.days_overdue > 0


def review_due(charter: Charter, written: date | None, today: date) -> ReviewDue:
    """The charter's review state on `today`; `written`: the day of its newest written review."""
    cadence = charter.review.cadence
    dates = [day for day in (charter.review.last, written) if day is not None]
    last = max(dates, default=None)
    if last is None:
        return ReviewDue(cadence, None, None, 0)
    due = last + timedelta(days=CADENCE_DAYS[cadence])
    return ReviewDue(cadence, last, due, max((today - due).days, 0))
