"""What the handbook shows first: stale results, the home status strip, alert admonitions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from playbook.core.rollout_status import rollout_status
from playbook.core.settings import MonitorSettings
from playbook.handbook.alert_notes import AlertNotes
from playbook.handbook.status import (
    DEFAULT_STALE_AFTER,
    build_moment,
    duration_text,
    freshness,
    stale_after,
    status_strip,
)
from playbook.handbook.view import MonitorView
from playbook.policy import load_governance
from playbook.results import AgentResults, AlertRecord, CheckRecord, Finding, MonthCost
from tests.conftest import EXAMPLE_GOVERNANCE

RUN = "2026-11-24T12:00:00Z"
TODAY = date(2026, 11, 24)


@pytest.fixture(scope="module")
def governance():
    return load_governance(EXAMPLE_GOVERNANCE, today=TODAY)


def _alert(agent: str, name: str, severity: str, metric: str = "rollback_rate") -> AlertRecord:
    return AlertRecord(
        fingerprint=f"{agent}-{name}",
        status="firing",
        labels={"alertname": name, "agent": agent, "metric": metric, "severity": severity},
        annotations={
            "summary": f'{agent}: "{metric}" <b>crossed</b>',
            "description": "Rollback rate 4.6% | over the stop limit",
            "action": "pause the agent",
        },
        startsAt=RUN,
    )


def _view(built_at: datetime | None = None) -> MonitorView:
    refunds = AgentResults(
        status="stop_condition",
        findings=[
            Finding(
                agent="refunds",
                metric="rollback_rate",
                kind="proportion",
                test="two_proportion_z",
                baseline=0.0087,
                recent=0.0456,
                n_baseline=3444,
                n_recent=834,
                p_value=2.3e-14,
                q_value=3.5e-13,
                effect=0.037,
                verdict="drift",
            ),
        ],
        checks=[
            CheckRecord(
                agent="refunds",
                check="stop_condition",
                metric="rollback_rate",
                bound="above",
                threshold=0.02,
                window="7d",
                value=0.0456,
                n=834,
                status="breached",
                action="escalate",
            ),
        ],
        costs=[
            MonthCost(
                month="2026-11", tasks=10, successes=9, inference=300.0, tooling=100.0, human=6000.0
            )
        ],
    )
    support = AgentResults(
        costs=[
            MonthCost(month="2026-11", tasks=10, successes=9, inference=1.0, tooling=1.0, human=1.0)
        ],
    )
    return MonitorView(
        path=Path("monitor.json"),
        now=RUN,
        generated_at=RUN,
        agents={"refunds": refunds, "support-replies": support, "docs-qa": AgentResults()},
        alerts=[
            _alert("refunds", "StopCondition", "critical"),
            _alert("refunds", "MetricDrift", "warning"),
            _alert("support-replies", "MetricDrift", "warning", "customer_feedback"),
        ],
        built_at=built_at,
    )


# --- staleness --------------------------------------------------------------------------------


def test_stale_after_twice_the_schedule_interval_or_a_day():
    assert stale_after(MonitorSettings()) == DEFAULT_STALE_AFTER == timedelta(hours=24)
    assert stale_after(MonitorSettings(every="1h")) == timedelta(hours=2)
    assert stale_after(MonitorSettings(every="1d")) == timedelta(days=2)
    assert stale_after(MonitorSettings(every="15m")) == timedelta(minutes=30)  # as --every takes


@pytest.mark.parametrize(
    "every, built, stale",
    [
        (None, "2026-11-25T12:00:00Z", False),  # exactly 24h: not yet
        (None, "2026-11-25T12:00:01Z", True),
        ("1h", "2026-11-24T14:00:00Z", False),
        ("1h", "2026-11-24T14:30:00Z", True),
        ("1h", "2026-11-24T11:00:00Z", False),  # a run after the build's moment: age 0
    ],
)
def test_results_are_stale_past_the_limit(every, built, stale):
    as_of = datetime.fromisoformat(built)
    fresh = freshness(_view(), MonitorSettings(every=every), as_of)
    assert fresh.stale is stale
    assert fresh.age >= timedelta(0)


def test_age_is_measured_to_the_builds_moment_else_the_end_of_its_day():
    moment = datetime(2026, 11, 24, 13, 30, tzinfo=UTC)
    assert build_moment(_view(moment), TODAY) == moment
    assert build_moment(_view(), TODAY) == datetime(2026, 11, 25, tzinfo=UTC)
    fresh = freshness(_view(), MonitorSettings(), build_moment(_view(), date(2026, 11, 27)))
    assert fresh.stale and fresh.age_text == "3 days"


@pytest.mark.parametrize(
    "span, text",
    [
        (timedelta(seconds=30), "under a minute"),
        (timedelta(minutes=1), "1 minute"),
        (timedelta(minutes=59), "59 minutes"),
        (timedelta(hours=12, minutes=5), "12 hours"),
        (timedelta(days=1), "1 day"),
        (timedelta(days=9, hours=5), "9 days"),
    ],
)
def test_duration_text(span, text):
    assert duration_text(span) == text


# --- the home strip ---------------------------------------------------------------------------


def test_strip_counts_agents_alerts_budget_and_late_phases(governance):
    phases = rollout_status(governance.rollout, TODAY)
    strip = status_strip(governance, _view(), phases, TODAY)

    assert strip.firing_by_severity == [("critical", 1), ("warning", 2)]
    assert strip.firing == 3
    counts = dict(strip.agents_by_status)
    assert counts["stop_condition"] == 1
    assert counts["not_monitored"] == len(governance.agents) - 3
    assert [row.phase.id for row in strip.late] == ["build-evals"]
    budget = strip.budget
    assert budget is not None and budget.month == "2026-11" and budget.budgeted == 2
    assert budget.total.total == pytest.approx(6403.0)
    refunds_budget = governance.agent("refunds").budget.monthly_usd.total
    assert budget.over == (["Refunds"] if refunds_budget < 6400 else [])
    assert budget.summary.startswith("$6,403 so far of $")
    assert "projected" in budget.summary  # 24 days into November: old enough to project


def _spending(refunds_usd: float, support_usd: float, tooling: float | None = 0.0) -> MonitorView:
    """The view, with this month's spend of refunds (budget $6,000 a month) and support-replies
    ($3,600): on 24 November 12:00 (78.3% of the month) spend is projected to the month's end.
    `tooling` None: the events do not record tooling spend."""

    def month(usd: float) -> list[MonthCost]:
        return [
            MonthCost(
                month="2026-11", tasks=10, successes=9, inference=0, tooling=tooling, human=usd
            )
        ]

    view = _view()
    agents = {
        **view.agents,
        "refunds": view.agents["refunds"].model_copy(update={"costs": month(refunds_usd)}),
        "support-replies": AgentResults(costs=month(support_usd)),
    }
    return replace(view, agents=agents)


@pytest.mark.parametrize(
    "refunds, support, flags",
    [
        (100.0, 100.0, [("within budget", "ok")]),
        # refunds projected to $6,383 of $6,000; the organisation to $6,387 of $9,600
        (5000.0, 3.0, [("1 of 2 agents on course to exceed", "warning")]),
        # the organisation projected to $10,213 of $9,600: on course to exceed, as both agents
        (5000.0, 3000.0, [("organisation on course to exceed", "warning"),
                          ("2 of 2 agents on course to exceed", "warning")]),
        # $9,900 spent of $9,600: the organisation over, refunds over, support on course
        (6400.0, 3500.0, [("organisation over budget", "critical"),
                          ("1 of 2 agents over budget", "critical"),
                          ("1 of 2 agents on course to exceed", "warning")]),
        # $6,403 of $9,600, projected $8,174: the organisation is not flagged for one agent
        (6400.0, 3.0, [("1 of 2 agents over budget", "critical")]),
    ],
)  # fmt: skip
def test_strip_budget_flags_over_and_on_course_to_exceed(governance, refunds, support, flags):
    strip = status_strip(governance, _spending(refunds, support), [], TODAY)
    assert strip.budget is not None and strip.budget.flags == flags


def test_home_strip_says_the_organisation_is_on_course_to_exceed_its_budget(governance):
    def budget_line(view: MonitorView) -> str:
        home = _render(governance, view)["index.md"]
        return home[home.index("**Budget 2026-11**") :].split("\n\n", 1)[0]

    line = budget_line(_spending(5000.0, 3000.0))
    assert "$8,000 so far of $9,600; $10,213 projected" in line
    assert (
        '<span class="govkit-badge govkit-badge--warning">organisation on course to exceed</span>'
        in line
    )
    assert "2 of 2 agents on course to exceed" in line and "over budget" not in line
    line = budget_line(_spending(6400.0, 3500.0))
    assert (
        '<span class="govkit-badge govkit-badge--critical">organisation over budget</span>' in line
    )
    assert "within budget" in budget_line(_spending(100.0, 100.0))


def test_home_strip_never_calls_spend_it_cannot_see_within_budget(governance):
    home = _render(governance, _spending(100.0, 100.0, tooling=None))["index.md"]
    line = home[home.index("**Budget 2026-11**") :].split("\n\n", 1)[0]
    assert "at least $200 so far of $9,600" in line
    assert (
        '<span class="govkit-badge govkit-badge--neutral">tooling spend not recorded</span>' in line
    )
    assert "within budget" not in line
    over = status_strip(governance, _spending(6400.0, 3500.0, tooling=None), [], TODAY).budget
    assert over is not None and over.flags[0] == ("organisation over budget", "critical")


def test_strip_without_a_monitor_run_still_lists_late_phases(governance):
    phases = rollout_status(governance.rollout, TODAY)
    strip = status_strip(governance, None, phases, TODAY)
    assert strip.freshness is None and strip.budget is None and strip.firing == 0
    assert [row.phase.id for row in strip.late] == ["build-evals"]


# --- alert admonitions ------------------------------------------------------------------------


def _notes(governance, *, incident_page: bool = False) -> AlertNotes:
    view = _view()
    return AlertNotes(governance, view.agents, incident_page=incident_page)


def test_a_critical_alert_is_a_danger_admonition_with_owner_runbook_and_statistics(governance):
    alert = _alert("refunds", "StopCondition", "critical")
    block = str(_notes(governance).admonition(alert, lambda target: f"../{target}"))
    lines = block.splitlines()

    assert lines[0].startswith('!!! danger "')
    # The title is the summary, escaped, with no double quote to end it early.
    assert (
        lines[0] == '!!! danger "refunds: &quot;rollback\\_rate&quot; &lt;b&gt;crossed&lt;/b&gt;"'
    )
    assert all(line == "" or line.startswith("    ") for line in lines[1:])
    assert "Rollback rate 4.6% \\| over the stop limit" in block
    assert "**Action:** pause the agent" in block
    assert "Oliver Brandt ([Agent Owner](../roles.md#agent-owner)" in block
    assert "mailto:oliver.brandt@northwind.example" in block
    assert "**Since:** 2026-11-24 12:00 UTC" in block
    assert "**Runbook:** [alerts](../monitor/alerts.md)" in block
    assert '    ??? info "Statistics"' in lines
    assert "stop condition on Rollback rate: 4\\.56% over 7d (n = 834), limit above 2%" in block


def test_a_warning_alert_is_a_warning_admonition_with_its_test(governance):
    alert = _alert("refunds", "MetricDrift", "warning")
    block = str(_notes(governance).admonition(alert, lambda target: target))
    assert block.startswith('!!! warning "')
    assert "<code>two_proportion_z</code>, p = 2.3e-14, q = 3.5e-13" in block
    assert "+3.69 pts (+424%)" in block


def test_runbook_is_the_charters_else_the_incident_page_else_the_alerts_page(governance):
    alert = _alert("refunds", "StopCondition", "critical")
    with_page = _notes(governance, incident_page=True)
    assert (
        with_page.runbook(alert, str)
        == "[answering incident questions](guide/incident-questions.md)"
    )
    charter = governance.agent("refunds")
    governance_with_runbook = type(governance)(**{**vars(governance)})
    governance_with_runbook.agents = [
        charter.model_copy(update={"runbook": "https://runbooks.example/refunds?x=<1>"}),
        *[a for a in governance.agents if a.id != "refunds"],
    ]
    notes = AlertNotes(governance_with_runbook, {}, incident_page=True)
    assert notes.runbook(alert, str) == (
        '<a href="https://runbooks.example/refunds?x=&lt;1&gt;">runbook</a>'
    )
    assert _notes(governance).runbook(alert, str) == "[alerts](monitor/alerts.md)"


def test_an_alert_without_a_charter_names_its_annotated_owner(governance):
    alert = _alert("ghost", "UnknownAgents", "warning").model_copy(
        update={"annotations": {"summary": "s", "owner": "Pat", "owner_email": "pat@x.example"}}
    )
    block = str(_notes(governance).admonition(alert, str))
    assert "**Call:** Pat (" in block and "mailto:pat@x.example" in block


# --- every monitor page says when its results are stale ---------------------------------------

MONITOR_PAGES = ["index.md", "monitor/index.md", "monitor/alerts.md", "agents/refunds.md"]


def _render(governance, view: MonitorView) -> dict[str, str]:
    from playbook.core import resources
    from playbook.handbook.render import Renderer

    renderer = Renderer(
        governance, template_dir=resources.template_dir(), today=TODAY, monitor=view
    )
    return renderer.pages()


def test_every_monitor_page_flags_stale_results(governance):
    stale = _render(governance, _view(datetime(2026, 11, 26, 12, 1, tzinfo=UTC)))
    for path in MONITOR_PAGES:
        body = stale[path].split("\n# ", 1)[-1]
        first_block = body[body.index("!!!") :].splitlines()[0]
        assert first_block == '!!! warning "Stale monitor results: 2 days old"', path
    fresh = _render(governance, _view(datetime(2026, 11, 24, 13, 0, tzinfo=UTC)))
    assert not any("Stale monitor results" in fresh[path] for path in MONITOR_PAGES)
    # Bad news first: the refunds page opens with its critical alert.
    body = fresh["agents/refunds.md"].split("\n# ", 1)[-1]
    assert body[body.index("!!!") :].startswith('!!! danger "refunds: ')
