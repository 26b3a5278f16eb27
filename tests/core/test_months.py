"""Month-by-month spend (`playbook.core.months`) when the events lack a spend column: the
bucket stays unknown through the snapshot's rows, the organisation's sums and the cost-shift rule,
never a reassuring $0."""

from __future__ import annotations

from datetime import UTC, datetime

from playbook.core.costs import UNKNOWN
from playbook.core.months import Month, months_for, organisation_months, shifts

BUDGET = {"inference": 300.0, "tooling": 100.0, "human": 600.0}


def row(month: str, tooling: float | None, **more: float) -> dict:
    return {"month": month, "tasks": 100, "successes": 80, "inference": 200.0,
            "tooling": tooling, "human": 400.0, **more}  # fmt: skip


def test_a_null_bucket_in_the_snapshot_stays_unknown():
    (month,) = months_for(None, [row("2026-11", None)])
    assert month.spend == {"inference": 200.0, "tooling": None, "human": 400.0}
    assert (month.total, month.unknown) == (600.0, ("tooling",))
    assert month.per_success() == 7.5 and month.per_success("tooling") is None
    old = {k: v for k, v in row("2026-11", None).items() if k != "tooling"}
    assert months_for(None, [old])[0].spend["tooling"] == 0.0  # a snapshot before the key


def test_the_organisation_is_unknown_in_a_bucket_any_agent_lacks():
    known = Month("2026-11", 10, 8, {"inference": 1.0, "tooling": 2.0, "human": 3.0}, BUDGET)
    blind = Month("2026-11", 10, 8, {"inference": 1.0, "tooling": None, "human": 3.0}, BUDGET)
    (both,) = organisation_months([[known], [blind]])
    assert both.spend == {"inference": 2.0, "tooling": None, "human": 6.0}
    assert both.status(datetime(2026, 12, 2, tzinfo=UTC)).state == UNKNOWN


def test_no_cost_shift_is_judged_without_human_spend():
    def month(name: str, inference: float, human: float | None) -> Month:
        amounts = {"inference": inference * 3000, "tooling": 0.0,
                   "human": None if human is None else human * 3000}  # fmt: skip
        return Month(name, 3000, 3000, amounts, None)

    assert len(shifts([month("2026-09", 0.50, 1.00), month("2026-10", 0.30, 1.50)])) == 1
    assert shifts([month("2026-09", 0.50, None), month("2026-10", 0.30, None)]) == []
