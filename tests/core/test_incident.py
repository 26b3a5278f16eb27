"""Incidents (`governance/incidents/<id>.yaml`): each mistake is one located line with what was
expected ("Did you mean" for a near miss), a TODO scaffold is a draft, and the example loads."""

from __future__ import annotations

from datetime import date

import pytest

from playbook.core.incident import Verify
from playbook.policy import load_governance
from tests.conftest import EXAMPLE_GOVERNANCE, TODAY

OPEN = "incidents/2026-11-18-refunds-rollbacks.yaml"
WHERE = f"governance/{OPEN}"

CASES = {
    "unknown agent": (
        "agents: [refunds]",
        "agents: [refund]",
        f"{WHERE}:7: agents[0]: unknown agent 'refund'. Did you mean 'refunds'? Expected one of "
        "'dependency-updates', 'docs-qa', ",
    ),
    "unknown severity": (
        "severity: sev2",
        "severity: sev5",
        f"{WHERE}:8: severity: expected one of 'sev1', 'sev2', 'sev3' or 'sev4' but received "
        "'sev5'. Did you mean 'sev4' or 'sev3' or 'sev2'?",
    ),
    "bad fingerprint": (
        "alerts: [506d3c867bc4cd56]",
        "alerts: [506d3c86]",
        f"{WHERE}:9: alerts[0]: expected an alert fingerprint of 16 hexadecimal digits but "
        "received '506d3c86'",
    ),
    "serious missing": (
        "serious: false\n",
        "",
        f"{WHERE}: serious: field required",
    ),
    "role misspelt": (
        "owner: model_steward",
        "owner: model_stewart",
        f"{WHERE}:23: actions[0].owner: unknown role 'model_stewart'. Did you mean "
        "'model_steward'? Expected one of 'agent_owner', 'model_steward' or 'reviewer', or a "
        "person's name or email",
    ),
    "verify metric not watched": (
        "metric: rollback_rate",
        "metric: escalation_rate",
        f"{WHERE}:26: actions[0].verify.metric: metric 'escalation_rate' is not watched for "
        "agent 'refunds'. Expected one of its charter's metrics: 'task_success_rate', "
        "'financial_error_rate', 'rollback_rate' or 'reviewer_minutes_per_task'",
    ),
    "verify metric misspelt": (
        "metric: rollback_rate",
        "metric: rollback_rates",
        f"{WHERE}:26: actions[0].verify.metric: unknown metric 'rollback_rates'. Did you mean "
        "'rollback_rate' or 'rework_rate'? Expected one of 'audit_findings', ",
    ),
    "both bounds": (
        "below: 0.02",
        "below: 0.02\n      above: 0.01",
        f"{WHERE}:25: actions[0].verify: expected exactly one of below or above",
    ),
    "window misspelt": (
        "for: 14d",
        "for: 14 days",
        f"{WHERE}:28: actions[0].verify.for: expected a window like 12h, 7d or 2w but received "
        "'14 days'",
    ),
    "closed with an action not done": (
        "serious: false\n",
        'serious: false\nclosed: "2026-11-20"\n',
        f"{WHERE}:20: actions[0].done: expected a done date: the incident is closed "
        "(2026-11-20) but action 'partial-shipment-evals' is not done",
    ),
    "done in the future": (
        '    due: "2026-12-01"\n',
        '    due: "2026-12-01"\n    done: "2026-11-30"\n',
        f"{WHERE}:25: actions[0].done: expected a date on or before today (2026-11-24) but "
        "received 2026-11-30",
    ),
    "aware before the incident": (
        "serious: false\n",
        'serious: true\naware: "2026-11-17"\n',
        f"{WHERE}:18: aware: expected a date on or after the incident's date (2026-11-18) but "
        "received 2026-11-17",
    ),
    "report_days beyond Art. 73's 15": (
        "serious: false\n",
        "serious: true\nreport_days: 30\n",
        f"{WHERE}:18: report_days: expected a number <= 15 but received 30 (a number)",
    ),
    "an agent listed twice": (
        "agents: [refunds]",
        "agents: [refunds, refunds]",
        f"{WHERE}:7: agents[1]: agent 'refunds' is listed twice; list it once",
    ),
    "an alert listed twice": (
        "alerts: [506d3c867bc4cd56]",
        "alerts: [506d3c867bc4cd56, 506d3c867bc4cd56]",
        f"{WHERE}:9: alerts[1]: alert '506d3c867bc4cd56' is listed twice; list it once",
    ),
    "an action due before the incident": (
        '    due: "2026-12-01"\n',
        '    due: "2025-12-01"\n',
        f"{WHERE}:24: actions[0].due: expected a date on or after the incident's date "
        "(2026-11-18) but received 2025-12-01",
    ),
    "id not the file name": (
        "id: 2026-11-18-refunds-rollbacks",
        "id: 2026-11-18-refunds",
        f"{WHERE}:4: id: expected the file name's stem '2026-11-18-refunds-rollbacks' but "
        "received '2026-11-18-refunds'",
    ),
}


@pytest.mark.parametrize("old, new, expected", CASES.values(), ids=CASES.keys())
def test_each_mistake_is_one_located_line(workspace, govkit, old, new, expected):
    workspace.edit(OPEN, old, new)

    result = govkit("check", "--today", TODAY)

    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[1] == "1 problem found; nothing was written.", lines
    if expected.startswith(f"{WHERE}: "):  # a missing key is located at its mapping
        assert lines[0].startswith(WHERE) and lines[0].endswith(expected.split(": ", 1)[1])
    else:
        assert lines[0].startswith(expected), lines[0]
    assert "Traceback" not in result.output


def test_reviewer_role_needs_a_reviewer_in_the_charter(workspace, govkit):
    # docs-qa's charter (tier 1) names no reviewer; both agents watch task_success_rate
    workspace.edit(OPEN, "agents: [refunds]", "agents: [refunds, docs-qa]")
    workspace.edit(OPEN, "owner: model_steward", "owner: reviewer")
    workspace.edit(OPEN, "metric: rollback_rate", "metric: task_success_rate")
    workspace.edit(OPEN, "below: 0.02", "above: 0.9")

    result = govkit("check", "--today", TODAY)

    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        f"{WHERE}:23: actions[0].owner: the charter of 'docs-qa' names no reviewer; expected "
        "'agent_owner' or 'model_steward' or a person"
    )


@pytest.mark.parametrize(
    "owner", ["Dana Whitfield <dana@northwind.example>", "dana@northwind.example", "dana-w"]
)
def test_a_person_may_own_an_action(workspace, govkit, owner):
    workspace.edit(OPEN, "owner: model_steward", f"owner: {owner}")

    assert govkit("check", "--today", TODAY).exit_code == 0


def test_a_hyphenated_role_is_a_near_miss(workspace, govkit):
    workspace.edit(OPEN, "owner: model_steward", "owner: agent-owner")

    result = govkit("check", "--today", TODAY)

    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        f"{WHERE}:23: actions[0].owner: unknown role 'agent-owner'. Did you mean 'agent_owner'? "
        "Expected one of 'agent_owner', 'model_steward' or 'reviewer', or a person's name or email"
    )


def test_a_todo_scaffold_is_a_draft_with_warnings(workspace, govkit):
    workspace.edit(OPEN, "severity: sev2", "severity: TODO")

    result = govkit("check", "--today", TODAY, "--strict")

    assert result.exit_code == 1
    assert f"{WHERE}:8: severity: warning: TODO placeholder: fill in the incident" in result.stderr


def test_the_example_incidents_load():
    governance = load_governance(EXAMPLE_GOVERNANCE, today=date(2026, 11, 24))

    by_id = {incident.id: incident for incident in governance.incidents}
    assert set(by_id) == {"2026-08-25-support-replies-chargebacks", "2026-11-18-refunds-rollbacks"}
    closed = by_id["2026-08-25-support-replies-chargebacks"]
    assert closed.closed == date(2026, 9, 18) and closed.actions[0].done == date(2026, 9, 2)
    opened = by_id["2026-11-18-refunds-rollbacks"]
    assert opened.closed is None and opened.actions[0].done is None
    assert opened.agents == ["refunds"] and opened.severity == "sev2" and not opened.serious


def test_report_deadline_is_15_days_from_awareness_unless_shorter():
    governance = load_governance(EXAMPLE_GOVERNANCE, today=date(2026, 11, 24))
    incident = governance.incidents[1]
    assert incident.report_by is None  # not serious
    serious = incident.model_copy(update={"serious": True})
    assert serious.report_by == date(2026, 12, 3)
    death = incident.model_copy(
        update={"serious": True, "aware": date(2026, 11, 20), "report_days": 10}
    )
    assert death.report_by == date(2026, 11, 30)


def test_verify_holds_strictly_beyond_its_bound():
    below = Verify.model_validate({"metric": "m", "below": 0.02, "for": "14d"})
    above = Verify.model_validate({"metric": "m", "above": 0.9, "for": "14d"})
    assert below.holds(0.019) and not below.holds(0.02)
    assert above.holds(0.91) and not above.holds(0.9)


def test_incidents_that_is_a_file_is_located(workspace, govkit):
    for path in (workspace.governance / "incidents").iterdir():
        path.unlink()
    (workspace.governance / "incidents").rmdir()
    (workspace.governance / "incidents").write_text("", encoding="utf-8")

    result = govkit("check", "--today", TODAY)

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "governance/incidents:1: expected a directory of incidents (incidents/<id>.yaml) but "
        "found a file",
        "1 problem found; nothing was written.",
    ]


def test_an_open_action_of_retired_agents_only_is_warned_about(workspace, govkit):
    workspace.edit(OPEN, "agents: [refunds]", "agents: [legacy-faq]")

    result = govkit("check", "--today", TODAY, "--strict")

    assert result.exit_code == 1
    assert (
        f"{WHERE}:19: actions[0]: warning: action 'partial-shipment-evals' is open but every "
        "agent of the incident is retired, so the monitor no longer judges it; give it a done "
        "date or close the incident"
    ) in result.stderr.splitlines()


def test_an_open_action_with_one_agent_still_active_is_judged_without_warning(workspace, govkit):
    workspace.edit(OPEN, "agents: [refunds]", "agents: [refunds, legacy-faq]")

    result = govkit("check", "--today", TODAY, "--strict")

    assert result.exit_code == 0, result.stderr
