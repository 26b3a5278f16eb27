"""The incident register (golden file), each agent page's incidents, and the Art. 73 deadline of a
serious incident: open incidents first, verification from the monitor's published results, user
text escaped, the deadline readable without JavaScript."""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path

import pytest

from playbook import results
from playbook.core import resources
from playbook.handbook.changes import not_under_git
from playbook.handbook.render import Renderer
from playbook.handbook.view import MonitorView
from playbook.policy import load_governance
from tests.conftest import EXAMPLE_GOVERNANCE

GOLDEN = Path(__file__).parent / "golden" / "incidents.md"
TODAY = date(2026, 11, 24)
SERIOUS = """\
id: 2026-11-21-refunds-wrong-account
title: Refund <b>prepared</b> to | another account
date: "2026-11-21"
aware: "2026-11-22"
agents: [refunds, support-replies]
severity: sev1
summary: A refund was prepared to an account that was not the original payment method.
impact: One customer's money would have gone elsewhere; stopped at the approval.
serious: true
actions:
  - id: lock-payout-account
    description: Lock the payout account to the original payment method.
    owner: Dana Whitfield <dana@northwind.example>
    due: "2026-11-23"
    done: "2026-11-22"
    verify: {metric: task_success_rate, above: 0.9, for: 7d}
"""


def record(incident: str, action: str, agent: str, status: str, **extra) -> results.ActionRecord:
    return results.ActionRecord(
        incident=incident, action=action, agent=agent, metric=extra.pop("metric", "rollback_rate"),
        bound="below", threshold=0.02, status=status, due="2026-12-01", **extra,
    )  # fmt: skip


@pytest.fixture(scope="module")
def governance(tmp_path_factory):
    root = tmp_path_factory.mktemp("org") / "governance"
    shutil.copytree(EXAMPLE_GOVERNANCE, root)
    (root / "incidents" / "2026-11-21-refunds-wrong-account.yaml").write_text(SERIOUS)
    return load_governance(root, today=TODAY)


@pytest.fixture(scope="module")
def monitor() -> MonitorView:
    breach = results.Point(day="2026-11-23", value=0.81, n=96)
    return MonitorView(
        path=Path("monitor.json"),
        now="2026-11-24T12:00:00Z",
        generated_at="2026-11-24T12:00:00Z",
        agents={},
        actions=[
            record("2026-08-25-support-replies-chargebacks", "route-chargebacks-away",
                   "support-replies", results.VERIFIED, metric="escalation_rate"),
            record("2026-11-18-refunds-rollbacks", "partial-shipment-evals", "refunds",
                   results.OPEN),
            record("2026-11-21-refunds-wrong-account", "lock-payout-account", "refunds",
                   results.REOPENED, metric="task_success_rate", breaches=[breach]),
            record("2026-11-21-refunds-wrong-account", "lock-payout-account", "support-replies",
                   results.VERIFYING, metric="task_success_rate"),
        ],
    )  # fmt: skip


@pytest.fixture(scope="module")
def pages(governance, monitor) -> dict[str, str]:
    return Renderer(
        governance,
        template_dir=resources.template_dir(),
        today=TODAY,
        monitor=monitor,
        history=not_under_git(governance),
    ).pages()


def test_register_matches_golden_file(pages):
    """Set GOVKIT_UPDATE_GOLDEN=1 to rewrite the golden file after an intended change."""
    if os.environ.get("GOVKIT_UPDATE_GOLDEN"):
        GOLDEN.write_text(pages["incidents.md"], encoding="utf-8")
    assert pages["incidents.md"] == GOLDEN.read_text(encoding="utf-8")


def test_open_incidents_come_first_worst_severity_first(pages):
    rows = [line for line in pages["incidents.md"].splitlines() if line.startswith("| [")]
    assert [row.split("](")[1].split(")")[0].split("#")[1] for row in rows] == [
        "2026-11-21-refunds-wrong-account",  # sev1, reopened
        "2026-11-18-refunds-rollbacks",  # sev2, open
        "2026-08-25-support-replies-chargebacks",  # closed, verified
    ]
    assert "reopened</span> | 0 of 1 |" in rows[0]
    assert "closed after 24 days" in rows[2] and "closed</span> | 1 of 1 |" in rows[2]


def test_serious_incident_shows_the_art_73_deadline_and_the_countdown(pages):
    page = pages["incidents.md"]
    # aware 2026-11-22 + 15 days: readable without JavaScript, counted down to the day's end
    assert (
        "Report to the market surveillance authority by the end of **2026-12-07** (UTC), 15 days "
        'from awareness on 2026-11-22: <span class="govkit-countdown" '
        'data-deadline="2026-12-08T00:00:00Z">due 2026-12-07</span>.'
    ) in page
    assert page.count("<script>") == 1 and "govkit-countdown" in page.split("<script>")[1]


def test_user_text_is_escaped(pages):
    page = pages["incidents.md"]
    assert "<b>prepared</b>" not in page
    assert "Refund &lt;b&gt;prepared&lt;/b&gt; to \\| another account" in page


def test_verification_and_breaches_come_from_the_published_results(pages):
    page = pages["incidents.md"]
    assert "<code>lock-payout-account</code> did not hold on: 2026-11-23 (refunds: 81%)." in page
    assert "Agent Owner (Rosa Delgado)" in page and "Model Steward (Henrik Lund)" in page
    assert "Dana Whitfield &lt;dana@northwind.example&gt;" in page


def test_each_agent_page_lists_its_incidents(pages):
    refunds = pages["agents/refunds.md"]
    section = refunds.split("## Incidents")[1].split("## Change history")[0]
    assert "(../incidents.md#2026-11-21-refunds-wrong-account)" in section
    assert "(../incidents.md#2026-11-18-refunds-rollbacks)" in section
    assert "2026-08-25" not in section
    assert 'data-deadline="2026-12-08T00:00:00Z"' in section and "<script>" in section
    docs = pages["agents/docs-qa.md"].split("## Incidents")[1].split("## Change history")[0]
    assert "No incident recorded ([incident register](../incidents.md))." in docs


def test_a_closed_incident_awaits_verification_until_the_monitor_verifies(governance):
    waiting = MonitorView(
        path=Path("monitor.json"), now="2026-11-24T12:00:00Z",
        generated_at="2026-11-24T12:00:00Z", agents={}, actions=[],
    )  # fmt: skip
    page = Renderer(
        governance, template_dir=resources.template_dir(), today=TODAY, monitor=waiting,
        history=not_under_git(governance),
    ).pages()["incidents.md"]  # fmt: skip
    row = next(line for line in page.splitlines() if "#2026-08-25" in line and "| [" in line)
    assert "awaiting verification" in row


def test_the_register_is_in_the_navigation(governance):
    renderer = Renderer(
        governance, template_dir=resources.template_dir(), today=TODAY,
        history=not_under_git(governance),
    )  # fmt: skip
    assert {"Incidents": "incidents.md"} in renderer.nav([])


def test_an_action_alert_calls_the_actions_owner(governance):
    overdue = results.AlertRecord(
        fingerprint="0123456789abcdef", status=results.FIRING,
        labels={"alertname": "ActionOverdue", "agent": "refunds", "action": "fix",
                "incident": "2026-11-18-refunds-rollbacks", "severity": "warning"},
        annotations={"summary": "Corrective action 'fix' was due", "description": "Due.",
                     "owner": "Henrik Lund", "owner_email": "henrik.lund@northwind.example",
                     "action": "complete the corrective action, or agree a new due date"},
        startsAt="2026-11-24T12:00:00Z",
    )  # fmt: skip
    view = MonitorView(
        path=Path("monitor.json"), now="2026-11-24T12:00:00Z",
        generated_at="2026-11-24T12:00:00Z", agents={}, alerts=[overdue],
    )  # fmt: skip
    page = Renderer(
        governance, template_dir=resources.template_dir(), today=TODAY, monitor=view,
        history=not_under_git(governance),
    ).pages()["agents/refunds.md"]  # fmt: skip
    assert (
        '**Call:** Henrik Lund (<a href="mailto:henrik.lund@northwind.example">'
        "henrik.lund@northwind.example</a>)<br>"
    ) in page
    assert "Oliver Brandt (" not in page.split("## Owners")[0]  # not the charter's owner


def test_an_incident_of_a_retired_agent_still_names_it_and_its_owners(tmp_path):
    root = tmp_path / "governance"
    shutil.copytree(EXAMPLE_GOVERNANCE, root)
    charter = root / "agents" / "refunds.yaml"
    text = charter.read_text(encoding="utf-8")
    retired = 'name: Refunds\nstatus: retired\nretired: {date: "2026-11-20", reason: Replaced.}\n'
    charter.write_text(text.replace("name: Refunds\n", retired, 1), encoding="utf-8")
    governance = load_governance(root, today=TODAY)
    assert "refunds" in governance.retired_ids

    page = Renderer(
        governance, template_dir=resources.template_dir(), today=TODAY,
        history=not_under_git(governance),
    ).pages()["incidents.md"]  # fmt: skip

    row = next(line for line in page.splitlines() if "#2026-11-18" in line and "| [" in line)
    assert "| [Refunds](agents/refunds.md) |" in row
    assert "Model Steward (Henrik Lund)" in page
