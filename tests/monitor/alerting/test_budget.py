"""`BudgetOverrun`: warning when this month's spend projects past the charter's budget, critical
once it has passed it; none for agents without a budget; month boundaries; and the lifecycle of a
real monitor run (fires once, escalates, resolves when the month is back under). That the example
data stays within the example's budgets is `tests/monitor/test_simulate.py`'s: no alert but the
planted ones fires."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.alerting.budget import BUDGET_OVERRUN, budget_conditions
from monitor.run import RunOptions, run_monitor
from playbook.core.governance import Governance
from playbook.policy import load_governance
from tests.conftest import EXAMPLE_GOVERNANCE
from tests.monitor.conftest import write_events

AGENT = "refunds"  # budget 400 / 200 / 5400: $6,000 a month


@pytest.fixture(scope="module")
def governance() -> Governance:
    return load_governance(EXAMPLE_GOVERNANCE, today=datetime(2026, 11, 24).date())


def spend(total: float) -> dict[str, dict[str, float]]:
    return {AGENT: {"inference": 0.1 * total, "tooling": 0.05 * total, "human": 0.85 * total}}


def at(day: int, hour: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def conditions_of(governance: Governance, spent: float, now: datetime) -> dict[str, object]:
    found = [c for c in budget_conditions(governance, spend(spent), now)
             if c.labels["agent"] == AGENT]  # fmt: skip
    return {c.labels["severity"]: c for c in found}


def active(governance: Governance, spent: float, now: datetime) -> set[str]:
    return {s for s, c in conditions_of(governance, spent, now).items() if c.active}


def test_under_budget_fires_nothing(governance):
    assert active(governance, 4000, at(21)) == set()  # 20 of 30 days: projects to $6,000


def test_warning_when_the_month_projects_past_the_budget(governance):
    assert active(governance, 4200, at(21)) == {"warning"}  # projects to $6,300
    warning = conditions_of(governance, 4200, at(21))["warning"]
    notes = warning.annotations
    assert notes["summary"] == (
        "Spend on course for $6,300 in November 2026, $300 (+5%) over the monthly budget of "
        "$6,000: $4,200 spent in the first 20.0 of 30 days"
    )
    assert (
        "Projected linearly to the whole month: $4,200 / 66.7% of the month = $6,300"
        in (notes["description"])
    )
    assert "inference $420 of $400 (over), tooling $210 of $200 (over)" in notes["description"]
    assert notes["statistics"] == (
        "month-to-date $4,200; 66.7% of the month elapsed; linear projection $6,300; budget $6,000"
    )
    assert notes["owner"] == "Oliver Brandt" and notes["handbook_url"] == "agents/refunds/"


def test_critical_once_the_spend_has_passed_the_budget(governance):
    assert active(governance, 6100, at(21)) == {"critical"}  # the warning gives way
    notes = conditions_of(governance, 6100, at(21))["critical"].annotations
    assert notes["summary"] == (
        "Spent $6,100 in November 2026 so far, $100 (+2%) over the monthly budget of $6,000 "
        "\u2014 cut the spend or raise the budget"
    )


def unrecorded_tooling(total: float) -> dict[str, dict[str, float | None]]:
    """`spend(total)` from events without `tooling_cost_usd`: tooling is unknown."""
    return {AGENT: {**spend(total)[AGENT], "tooling": None}}


def test_spend_not_recorded_is_never_called_within_budget(governance):
    # inference $400 + human $3,400 known, tooling unknown: projects to $5,700, under $6,000.
    found = {c.labels["severity"]: c for c in budget_conditions(
        governance, unrecorded_tooling(4000), at(21)) if c.labels["agent"] == AGENT}  # fmt: skip
    assert not found["warning"].active and not found["critical"].active
    notes = found["critical"].annotations
    assert notes["summary"] == (
        "Spend in November 2026 cannot be judged against the monthly budget of $6,000: the "
        "events do not record tooling spend ($3,800 in the other buckets so far)"
    )
    assert notes["description"].startswith("Refunds: at least $3,800 spent")
    assert "tooling not recorded, $200 budgeted" in notes["description"]
    assert notes["description"].endswith(
        "= $5,700, $300 (\u22125%) below the budget before any tooling spend (not recorded)."
    )


def test_the_buckets_recorded_can_still_pass_the_budget(governance):
    over = {c.labels["severity"]: c for c in budget_conditions(
        governance, unrecorded_tooling(7000), at(21)) if c.labels["agent"] == AGENT}  # fmt: skip
    assert over["critical"].active and not over["warning"].active
    assert (
        over["critical"]
        .annotations["summary"]
        .startswith("Spent at least $6,650 in November 2026 so far, $650 (+11%) over")
    )


def test_labels_identify_the_alert_whatever_the_figures(governance):
    first = conditions_of(governance, 4200, at(21))
    later = conditions_of(governance, 9000, at(28))
    assert first["warning"].labels == {
        "alertname": BUDGET_OVERRUN, "agent": AGENT, "severity": "warning", "tier": "3",
    }  # fmt: skip
    assert first["warning"].fingerprint == later["warning"].fingerprint
    assert first["critical"].fingerprint == later["critical"].fingerprint
    assert first["warning"].fingerprint != first["critical"].fingerprint


def test_month_boundaries(governance):
    # Late on the 30th, $5,995 projects past $6,000; an hour into December the month is new.
    assert active(governance, 5995, at(30, 23)) == {"warning"}
    assert active(governance, 250, at(1, 1, month=12)) == set()  # too early to project
    assert active(governance, 6001, at(1, 1, month=12)) == {"critical"}  # spent is spent
    assert active(governance, 800, at(4, 1, month=12)) == {"warning"}  # 3 days: projects $8,000


def test_agents_without_a_budget_get_cleared_conditions_only(workspace):
    path = workspace.governance / "agents/refunds.yaml"
    text = path.read_text()
    path.write_text(text[: text.index("budget:")] + text[text.index("monitor:") :])
    governance = load_governance(workspace.governance, today=at(21).date())
    found = conditions_of(governance, 1_000_000, at(21))
    assert set(found) == {"warning", "critical"}
    assert not any(c.active for c in found.values())
    assert found["critical"].annotations["summary"] == "No monthly budget in the charter"


def test_every_budgeted_charter_gets_both_conditions(governance):
    conditions = budget_conditions(governance, {}, at(21))
    assert len(conditions) == 2 * len(governance.agents)
    assert not any(c.active for c in conditions)  # no spend, no alert


# --- end to end through a monitor run -----------------------------------------------------------


def test_lifecycle_fires_once_escalates_and_resolves(workspace, tmp_path):
    # The events cost about $152 a day; a $3,300 budget projects over by the 20th and is passed
    # by the 24th. December starts from zero.
    path = workspace.governance / "agents/refunds.yaml"
    path.write_text(path.read_text().replace("human: 5400", "human: 2700"))
    governance = load_governance(workspace.governance, today=at(24).date())
    events = write_events(tmp_path / "events.parquet")
    state = tmp_path / "monitor.db"

    def budget_alerts(now: datetime) -> dict[str, tuple[str, str]]:
        report = run_monitor(governance, RunOptions(events=str(events), now=now, state=state))
        return {
            a.labels["severity"]: (a.status, a.to_json()["startsAt"])
            for a in report.alerts
            if a.labels["alertname"] == BUDGET_OVERRUN
        }

    assert budget_alerts(at(20, 12)) == {"warning": ("firing", "2026-11-20T12:00:00Z")}
    assert budget_alerts(at(20, 13)) == {"warning": ("firing", "2026-11-20T12:00:00Z")}
    assert budget_alerts(at(24, 12)) == {
        "warning": ("resolved", "2026-11-20T12:00:00Z"),
        "critical": ("firing", "2026-11-24T12:00:00Z"),
    }
    assert budget_alerts(at(2, 0, month=12)) == {"critical": ("resolved", "2026-11-24T12:00:00Z")}
