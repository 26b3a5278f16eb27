"""The framework crosswalk: mappings, evidence per agent, gaps; its page (golden) and the EU AI
Act Art. 72 monitoring plans."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from playbook.core import resources
from playbook.core.framework import find_framework
from playbook.handbook.changes import not_under_git
from playbook.handbook.crosswalk import ATTENTION, GAP, HELD, MISSING, VIA_CHILDREN, crosswalk
from playbook.handbook.render import Renderer
from playbook.handbook.view import MonitorView
from playbook.policy import load_governance
from playbook.results import ActionRecord, AgentResults, AlertRecord, CheckRecord, Finding
from tests.conftest import EXAMPLE_GOVERNANCE

GOLDEN = Path(__file__).parent / "golden"
TODAY = date(2026, 11, 24)


@pytest.fixture(scope="module")
def governance():
    return load_governance(EXAMPLE_GOVERNANCE, today=TODAY)


@pytest.fixture(scope="module")
def pages(governance) -> dict[str, str]:
    history = not_under_git(governance)
    renderer = Renderer(
        governance, template_dir=resources.template_dir(), today=TODAY, history=history
    )
    return renderer.pages()


def row(walk, item_id):
    return next(r for r in walk.rows if r.item.id == item_id)


def agent(row_, agent_id):
    return next(a for a in row_.agents if a.agent == agent_id)


def monitor_run() -> MonitorView:
    stop = AlertRecord(
        fingerprint="506d3c867bc4cd56",
        status="firing",
        labels={"alertname": "StopCondition", "agent": "refunds", "metric": "rollback_rate"},
        annotations={},
        startsAt="2026-11-20T00:00:00Z",
    )
    refunds = AgentResults(
        status="stop_condition",
        findings=[
            Finding(
                agent="refunds", metric="financial_error_rate", kind="proportion", verdict="ok"
            ),
            Finding(
                agent="refunds",
                metric="task_success_rate",
                kind="proportion",
                verdict="insufficient_data",
            ),
        ],
        checks=[
            CheckRecord(
                agent="refunds",
                check="guardrail",
                metric="financial_error_rate",
                bound="max",
                threshold=0.005,
                window="7d",
                value=0.001,
                status="ok",
            ),
        ],
        firing_alerts=[stop],
    )
    verified = ActionRecord(
        incident="2026-08-25-support-replies-chargebacks",
        action="route-chargebacks-away",
        agent="support-replies",
        metric="escalation_rate",
        bound="below",
        threshold=0.1,
        status="verified",
        due="2026-09-05",
        done="2026-09-02",
    )
    return MonitorView(
        path=Path("monitor.json"),
        now="2026-11-24T06:00:00+00:00",
        generated_at="2026-11-24T06:00:05+00:00",
        agents={"refunds": refunds, "support-replies": AgentResults()},
        alerts=[stop],
        actions=[verified],
    )


def test_items_without_mappings_are_gaps_and_parents_are_covered_by_children(governance):
    walk = crosswalk(governance, find_framework(governance.frameworks, "eu-ai-act"))
    unmapped = [r.item.id for r in walk.unmapped]
    assert unmapped == ["Chapter-I", "Art-4", "Art-10", "Art-11", "Art-13", "Art-17", "Art-27"]
    assert row(walk, "Art-10").coverage == GAP
    assert row(walk, "Chapter-III-Section-2").coverage == VIA_CHILDREN
    assert row(walk, "Chapter-III-Section-2").agents == []


def test_a_tier_control_applies_to_its_tier_and_up_with_charter_evidence(governance):
    walk = crosswalk(governance, find_framework(governance.frameworks, "eu-ai-act"))
    art14 = row(walk, "Art-14")
    kinds = {(m.kind, m.id) for m in art14.mappings}
    assert ("control", "tier-3/two-person-approval") in kinds
    assert ("policy", "support-agent") in kinds
    assert ("metric", "escalation_rate") in kinds
    # Tier 0 agents get none of the tier 1+ controls mapped here.
    assert "docs-qa" not in {a.agent for a in art14.agents}
    onboarding = agent(art14, "platform-onboarding")
    assert onboarding.status == MISSING
    assert [(e.mapping, e.status, e.detail) for e in onboarding.evidence] == [
        ("control tier-1/approval-before-merge", MISSING, "owners.reviewer: not in the charter"),
        ("control tier-1/stop-conditions", HELD, "stop_conditions: 1 listed"),
    ]
    refunds = agent(art14, "refunds")
    approvals = [e for e in refunds.evidence if e.mapping == "control tier-3/two-person-approval"]
    assert [(e.status, e.detail) for e in approvals] == [(HELD, "approvals: required 2")]
    assert ("policy support-agent", HELD, "13 test cases pass") in [
        (e.mapping, e.status, e.detail) for e in refunds.evidence
    ]


def test_without_monitor_results_metric_evidence_is_missing(governance):
    walk = crosswalk(governance, find_framework(governance.frameworks, "eu-ai-act"))
    assert walk.monitor_run is None
    lacking = {(r.item.id, a.agent, e.detail) for r, a, e in walk.lacking}
    assert ("Art-72", "refunds", "no monitor results") in lacking
    assert walk.lacking_count == len({(r.ref, a.agent) for r, a, _ in walk.lacking})


def test_monitor_findings_alerts_and_incidents_are_evidence(governance):
    walk = crosswalk(
        governance, find_framework(governance.frameworks, "nist-ai-rmf-1.0"), monitor_run()
    )
    assert walk.monitor_run == "2026-11-24T06:00:00+00:00"
    measure = row(walk, "MEASURE-2.6")
    refunds = agent(measure, "refunds")
    financial = [e for e in refunds.evidence if e.mapping == "metric financial_error_rate"]
    assert [(e.status, e.detail) for e in financial] == [
        (HELD, "drift test ok; guardrail max 0.005 ok")
    ]
    manage = row(walk, "MANAGE-2.4")
    refunds = agent(manage, "refunds")
    rollback = next(e for e in refunds.evidence if e.mapping == "metric rollback_rate")
    assert (rollback.status, rollback.detail) == (ATTENTION, "StopCondition firing")
    incident = next(e for e in refunds.evidence if e.kind == "incident")
    assert incident.status == ATTENTION
    assert incident.detail == "sev2, open: 0 of 1 corrective action(s) verified"
    # The closed incident whose action the monitor verified holds.
    replies = agent(row(walk, "MEASURE-2.4"), "support-replies")
    closed = next(e for e in replies.evidence if e.kind == "incident")
    assert (closed.status, closed.detail) == (
        HELD, "sev3, closed: 1 of 1 corrective action(s) verified"
    )  # fmt: skip
    # An agent in the run without results for the metric has no evidence for it.
    missing = next(e for e in replies.evidence if e.mapping == "metric task_success_rate")
    assert (missing.status, missing.detail) == (MISSING, "not tested in the last monitor run")


def test_insufficient_data_is_not_evidence(governance):
    walk = crosswalk(
        governance, find_framework(governance.frameworks, "nist-ai-rmf-1.0"), monitor_run()
    )
    refunds = agent(row(walk, "MEASURE-2.5"), "refunds")
    success = next(e for e in refunds.evidence if e.mapping == "metric task_success_rate")
    assert (success.status, success.detail) == (
        MISSING,
        "insufficient data in the last monitor run",
    )


def test_crosswalk_page_matches_golden_file(pages):
    """Set GOVKIT_UPDATE_GOLDEN=1 to rewrite the golden file after an intended change."""
    page = "frameworks/eu-ai-act.md"
    golden = GOLDEN / page.replace("/", "__")
    if os.environ.get("GOVKIT_UPDATE_GOLDEN"):
        golden.write_text(pages[page], encoding="utf-8")
    assert pages[page] == golden.read_text(encoding="utf-8")


def test_every_framework_has_a_page_in_the_navigation(governance, pages):
    assert {"frameworks/index.md", "frameworks/nist-ai-rmf-1.0.md",
            "frameworks/iso42001-2023.md", "frameworks/eu-ai-act.md"} <= set(pages)  # fmt: skip
    renderer = Renderer(
        governance, template_dir=resources.template_dir(), today=TODAY,
        history=not_under_git(governance),
    )  # fmt: skip
    nav = renderer.nav([])
    frameworks = next(entry["Frameworks"] for entry in nav if "Frameworks" in entry)
    assert {"EU Artificial Intelligence Act": "frameworks/eu-ai-act.md"} in frameworks
    assert {"Monitoring plans": [{"Refunds": "monitoring-plans/refunds.md"}]} in nav


def test_a_tier_3_agent_has_a_printable_monitoring_plan(pages):
    plan = pages["monitoring-plans/refunds.md"]
    assert "# Post-market monitoring plan: Refunds" in plan
    assert "Article 72 of the EU AI Act" in plan
    assert "| Agent Owner | Oliver Brandt |" in plan
    assert "stop condition: above 0\\.01 over 7d (pause)" in plan
    assert "(2026-09-07 to 2026-10-04)" in plan
    assert "reviewed **weekly**" in plan
    assert "| Any serious incident | 15 days after becoming aware | Art. 73(2) |" in plan
    assert "| The death of a person | 10 days after becoming aware | Art. 73(4) |" in plan
    assert "2026-11-18-refunds-rollbacks" in plan
    assert "Logs and the audit trail are kept **365 days**." in plan
    link = "| Post-market monitoring | [EU AI Act Art. 72 plan (printable)](../monitoring-plans/refunds.md) |"
    assert link in pages["agents/refunds.md"]


def test_agents_below_tier_3_have_no_monitoring_plan(governance, pages):
    plans = {path for path in pages if path.startswith("monitoring-plans/")}
    assert plans == {"monitoring-plans/refunds.md"}
    assert governance.agent("support-replies").tier == 2
    assert "Art. 72 plan" not in pages["agents/support-replies.md"]
