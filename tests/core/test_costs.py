"""Money rules in `playbook.core.costs`: a month against its budget (finished, in progress and
projected, month boundaries), and when a cost shift is material enough to warn about."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from playbook.core.costs import (
    OVER,
    PROJECTED_OVER,
    UNDER,
    UNKNOWN,
    Spend,
    budget_status,
    dollars,
    material_shift,
    month_bounds,
    month_key,
    month_name,
    shift_rule,
    unrecorded,
)
from playbook.core.months import Month, shifts
from playbook.core.settings import CostSettings

BUDGET = {"inference": 300.0, "tooling": 100.0, "human": 600.0}  # $1,000 a month


def spend(total: float) -> dict[str, float]:
    return {"inference": 0.3 * total, "tooling": 0.1 * total, "human": 0.6 * total}


def at(day: int, hour: int = 0, month: int = 11, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


# --- months -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "key", "start", "end"),
    [
        (at(24, 12), "2026-11", at(1), at(1, month=12)),
        (at(31, 23, month=12), "2026-12", at(1, month=12), at(1, month=1, year=2027)),
        (at(1, month=1, year=2027), "2027-01", at(1, month=1, year=2027), at(1, 0, 2, 2027)),
        (at(29, 5, month=2, year=2028), "2028-02", at(1, 0, 2, 2028), at(1, 0, 3, 2028)),
    ],
)
def test_month_keys_and_bounds_are_utc_calendar_months(moment, key, start, end):
    assert month_key(moment) == key
    assert month_bounds(key) == (start, end)


def test_month_key_converts_to_utc_first():
    from datetime import timedelta, timezone

    late_in_berlin = datetime(2026, 12, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))
    assert month_key(late_in_berlin) == "2026-11"
    assert month_name("2026-11") == "November 2026"


# --- budget status ------------------------------------------------------------------------------


def test_under_budget_and_projected_under():
    status = budget_status("2026-11", spend(600), BUDGET, at(21))  # 20 of 30 days: 600 -> 900
    assert status.elapsed == pytest.approx(20 / 30)
    assert status.projected == pytest.approx(900)
    assert status.state == UNDER
    assert status.variance == pytest.approx(-400)


def test_projected_over_is_a_warning_state():
    status = budget_status("2026-11", spend(800), BUDGET, at(21))  # 800 -> 1,200 projected
    assert status.projected == pytest.approx(1200)
    assert status.state == PROJECTED_OVER
    assert status.total < status.budget_total


def test_spend_past_the_budget_is_over_whatever_the_projection():
    status = budget_status("2026-11", spend(1000.01), BUDGET, at(21))
    assert status.state == OVER
    assert budget_status("2026-11", spend(1000.0), BUDGET, at(30, 23)).state == PROJECTED_OVER


def test_no_projection_in_the_first_days_of_a_month():
    # One day in, $100 spent projects to $3,000: too early to say; only OVER can be known.
    early = budget_status("2026-12", spend(100), BUDGET, at(2, month=12))
    assert not early.projecting and early.projected is None and early.state == UNDER
    assert budget_status("2026-12", spend(1500), BUDGET, at(2, month=12)).state == OVER
    later = budget_status("2026-12", spend(100), BUDGET, at(4, month=12))  # 3 days passed
    assert later.projecting and later.projected == pytest.approx(100 * 31 / 3)
    assert later.state == PROJECTED_OVER
    eager = CostSettings(projection_after="12h")
    assert budget_status("2026-12", spend(100), BUDGET, at(2, month=12), eager).projecting


def test_a_finished_month_is_not_projected():
    status = budget_status("2026-10", spend(990), BUDGET, at(24, 12))
    assert status.finished and status.elapsed == 1.0 and status.projected is None
    assert status.state == UNDER
    assert budget_status("2026-10", spend(1010), BUDGET, at(24, 12)).state == OVER


def test_the_projection_uses_the_months_own_length():
    february = budget_status("2027-02", spend(500), BUDGET, datetime(2027, 2, 15, tzinfo=UTC))
    assert february.elapsed == pytest.approx(14 / 28)
    assert february.projected == pytest.approx(1000)
    assert february.state == UNDER  # exactly on budget is not over


def test_month_rows_report_their_status_only_with_a_budget():
    month = Month("2026-11", 100, 90, spend(800), BUDGET)
    assert month.status(at(21)).state == PROJECTED_OVER
    assert month.months_long(at(21)) == pytest.approx(20 / 30)
    assert month.months_long(at(1, month=12)) == 1.0
    assert Month("2026-11", 100, 90, spend(800), None).status(at(21)) is None


def test_a_budgeted_bucket_not_recorded_leaves_the_month_unknown_unless_over():
    no_tooling = {**spend(800), "tooling": None}  # $720 known; the budget plans $100 tooling
    finished = budget_status("2026-10", no_tooling, BUDGET, at(24))
    assert (finished.total, finished.unknown, finished.state) == (720, ("tooling",), UNKNOWN)
    assert budget_status("2026-10", {**spend(1200), "tooling": None}, BUDGET, at(24)).state == OVER
    running = budget_status("2026-11", {**spend(800), "tooling": None}, BUDGET, at(21))
    assert running.state == PROJECTED_OVER  # $720 known projects to $1,080
    unplanned = budget_status("2026-10", no_tooling, {**BUDGET, "tooling": 0.0}, at(24))
    assert (unplanned.unknown, unplanned.state) == ((), UNDER)  # nothing planned, nothing unknown


def test_the_buckets_a_source_does_not_record():
    assert unrecorded({"cost_usd", "reviewer_minutes", "agent"}) == ("tooling",)
    assert unrecorded(set()) == ("inference", "tooling", "human")


def test_dollars_are_whole_from_a_hundred():
    assert dollars(3912.4) == "$3,912"
    assert dollars(42.5) == "$42.50"
    assert dollars(-362.4) == "\u2212$362"


# --- cost shifting ------------------------------------------------------------------------------


def period(tasks: int, inference: float, human: float, successes: int | None = None) -> Spend:
    """Per task amounts; `tasks` tasks (all successful unless said otherwise)."""
    done = tasks if successes is None else successes
    return Spend(tasks, inference * tasks, human * tasks, done, 0.0)


def test_a_material_shift():
    # 1,000 tasks a month: inference -$0.20 a task ($200 a month), human +$0.50 ($500 a month);
    # cost per success 1.50 -> 1.80, up 20% (> 10%).
    found = material_shift(period(1000, 0.5, 1.0), period(1000, 0.3, 1.5), months=1.0)
    assert found is not None
    assert found.saved_per_month == pytest.approx(200)
    assert found.added_per_month == pytest.approx(500)
    assert found.rise_share == pytest.approx(0.2)


@pytest.mark.parametrize(
    ("previous", "current", "months", "why"),
    [
        (period(1000, 0.5, 1.0), period(1000, 0.6, 1.5), 1.0, "inference did not fall"),
        (period(1000, 0.5, 1.0), period(1000, 0.3, 1.1), 1.0, "human rose less than saved"),
        (period(1000, 0.5, 1.0), period(1000, 0.3, 1.3), 1.0, "rise beyond saving: 7% < 10%"),
        (period(100, 0.5, 1.0), period(100, 0.3, 1.5), 1.0, "$20 saved a month < $100 floor"),
        (period(1000, 0.5, 1.0), period(1000, 0.45, 1.5), 1.0, "$50 saved a month < $100"),
        (period(0, 0.5, 1.0), period(1000, 0.3, 1.5), 1.0, "no tasks before"),
    ],
)
def test_immaterial_shifts_are_not_warned_about(previous, current, months, why):
    assert material_shift(previous, current, months=months) is None, why


def test_the_floor_is_in_dollars_a_month_of_the_periods_length():
    # $20 saved over a 30-day month is below the floor; the same over 3 days is $200 a month.
    assert material_shift(period(100, 0.5, 1.0), period(100, 0.3, 1.5), months=1.0) is None
    assert material_shift(period(100, 0.5, 1.0), period(100, 0.3, 1.5), months=0.1) is not None


def test_thresholds_are_settings():
    previous, current = period(1000, 0.5, 1.0), period(1000, 0.3, 1.3)  # 7% of cost, $200/$300
    assert material_shift(previous, current, months=1.0) is None
    lenient = CostSettings(shift_share=0.05, shift_floor_usd_per_month=50)
    assert material_shift(previous, current, months=1.0, settings=lenient) is not None
    strict = CostSettings(shift_floor_usd_per_month=250)
    assert material_shift(period(1000, 0.5, 1.0), period(1000, 0.3, 1.5), months=1.0,
                          settings=strict) is None  # fmt: skip
    assert "more than 5% of the cost per successful task" in shift_rule(lenient)
    assert "each above $50 a month" in shift_rule(lenient)


def test_the_share_is_of_the_cost_per_successful_task():
    # Half the tasks fail now: the same per-task rise weighs twice per success.
    previous = period(1000, 0.5, 1.0)
    current = period(1000, 0.3, 1.3, successes=500)  # (0.3 - 0.2) * 2 = 0.2 per success: 13%
    assert material_shift(previous, current, months=1.0) is not None


def test_cost_page_warnings_only_for_material_shifts():
    def month(name: str, inference: float, human: float, tasks: int = 3000) -> Month:
        amounts = {"inference": inference * tasks, "tooling": 0.0, "human": human * tasks}
        return Month(name, tasks, tasks, amounts, None)

    noise = [month("2026-09", 0.0510, 0.2270), month("2026-10", 0.0500, 0.2290)]
    assert shifts(noise) == []  # a cent of noise is no shift
    real = [month("2026-09", 0.50, 1.00), month("2026-10", 0.30, 1.50)]
    (warning,) = shifts(real)
    assert warning.startswith("Cost-shifting in 2026-10: Inference per task fell by $0.200")
    assert "$600 a month" in warning and "up 20%, more than the 10% threshold" in warning
