"""Each semantic change classed by risk (widens, narrows, neutral) and the roles whose approval it
needs; JUnit XML eval results read safely."""

from __future__ import annotations

import pytest

from playbook.history.documents import glob_regex, kind_of, parse_blob
from playbook.history.filediff import diff_file
from playbook.history.junit import JUnitError, parse_junit
from playbook.history.risk import approvers_needed, changes_behaviour

WORSE = {"task_success_rate": "lower", "cost_per_task": "higher"}


def risks(path: str, old: str | None, new: str | None) -> list[tuple[str, str]]:
    kind = kind_of(path, "governance")
    assert kind is not None
    before = parse_blob(path, old.encode()) if old is not None else None
    after = parse_blob(path, new.encode()) if new is not None else None
    return [(c.field, c.risk) for c in diff_file(path, kind, before, after, WORSE)]


CHARTER = "governance/agents/a.yaml"
POLICY = "governance/policies/p.yaml"


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("tier: 3\n", "tier: 2\n", [("tier", "widens")]),
        ("tier: 2\n", "tier: 3\n", [("tier", "narrows")]),
        ("work: {tools: [a]}\n", "work: {tools: [a, b]}\n", [("work.tools", "widens")]),
        ("work: {tools: [a, b]}\n", "work: {tools: [a]}\n", [("work.tools", "narrows")]),
        ("work: {allowed: [a]}\n", "work: {allowed: [a, b]}\n", [("work.allowed", "widens")]),
        ("work: {forbidden: [a, b]}\n", "work: {forbidden: [a]}\n", [("work.forbidden", "widens")]),
        ("work: {forbidden: [a]}\n", "work: {forbidden: [a, b]}\n", [("work.forbidden", "narrows")]),
        ("north_star: {metric: task_success_rate, target: 0.9}\n",
         "north_star: {metric: task_success_rate, target: 0.8}\n", [("north_star.target", "widens")]),
        ("north_star: {metric: cost_per_task, target: 2}\n",
         "north_star: {metric: cost_per_task, target: 1}\n", [("north_star.target", "narrows")]),
        ("guardrails:\n  - {metric: x, max: 1}\n", "guardrails:\n  - {metric: x, max: 2}\n",
         [("guardrails[x].max", "widens")]),
        ("guardrails:\n  - {metric: x, min: 1}\n", "guardrails:\n  - {metric: x, min: 2}\n",
         [("guardrails[x].min", "narrows")]),
        ("guardrails:\n  - {metric: x, max: 1}\n  - {metric: y, max: 1}\n",
         "guardrails:\n  - {metric: x, max: 1}\n", [("guardrails[y]", "widens")]),
        ("stop_conditions:\n  - {metric: x, above: 0.1, window: 7d, action: pause}\n",
         "stop_conditions:\n  - {metric: x, above: 0.2, window: 7d, action: escalate}\n",
         [("stop_conditions[x].above", "widens"), ("stop_conditions[x].action", "widens")]),
        ("stop_conditions:\n  - {metric: x, below: 0.5, window: 7d, action: pause}\n",
         "stop_conditions:\n  - {metric: x, below: 0.6, window: 7d, action: pause}\n",
         [("stop_conditions[x].below", "narrows")]),
        ("monitor: {metrics: [a, b]}\n", "monitor: {metrics: [a]}\n", [("monitor.metrics", "widens")]),
        ("monitor: {metrics: [a]}\n", "monitor: {metrics: [a, b]}\n", [("monitor.metrics", "narrows")]),
        ("budget: {monthly_usd: {inference: 100}}\n", "budget: {monthly_usd: {inference: 150}}\n",
         [("budget.monthly_usd.inference", "widens")]),
        ("budget: {monthly_usd: {inference: 150}}\n", "budget: {monthly_usd: {inference: 100}}\n",
         [("budget.monthly_usd.inference", "narrows")]),
        ("policies: [p]\n", "policies: []\n", [("policies", "widens")]),
        ("approvals: {required: 2}\n", "approvals: {required: 1}\n", [("approvals.required", "widens")]),
        ("review: {cadence: weekly}\n", "review: {cadence: monthly}\n", [("review.cadence", "widens")]),
        ("evals:\n  - {suite: s, results: x, min_pass_rate: 0.9}\n",
         "evals:\n  - {suite: s, results: x, min_pass_rate: 0.8}\n",
         [("evals[s].min_pass_rate", "widens")]),
        ("model: a\n", "model: b\n", [("model", "neutral")]),
        ("name: A\n", "name: B\n", [("name", "neutral")]),
    ],
)  # fmt: skip
def test_charter_changes_are_classed(old, new, expected):
    assert risks(CHARTER, old, new) == expected


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("refunds: {auto_approve_max_usd: 200}\n", "refunds: {auto_approve_max_usd: 500}\n",
         [("refunds.auto_approve_max_usd", "widens")]),
        ("refunds: {require_human_if: [a < 1, b > 2]}\n", "refunds: {require_human_if: [a < 1]}\n",
         [("refunds.require_human_if", "widens")]),
        ("escalation: {if_topic_in: [legal]}\n", "escalation: {if_topic_in: [legal, security]}\n",
         [("escalation.if_topic_in", "narrows")]),
        ("responses: {pii: {redact: true}}\n", "responses: {pii: {redact: false}}\n",
         [("responses.pii.redact", "widens")]),
        ("logging: {sample_rate: 0.2}\n", "logging: {sample_rate: 0.1}\n",
         [("logging.sample_rate", "widens")]),
    ],
)  # fmt: skip
def test_policy_changes_are_classed(old, new, expected):
    assert risks(POLICY, old, new) == expected


def test_a_tier_losing_a_control_widens():
    old = "tiers:\n  - id: 3\n    controls: [{id: a, name: A}, {id: b, name: B}]\n"
    new = "tiers:\n  - id: 3\n    controls: [{id: a, name: A}]\n"

    assert risks("governance/tiers.yaml", old, new) == [("controls[b]", "widens")]


def test_a_charter_added_or_deleted_widens():
    assert risks(CHARTER, None, "id: a\n") == [("", "widens")]
    assert risks(CHARTER, "id: a\n", None) == [("", "widens")]


@pytest.mark.parametrize(
    "role, field, op, risk, needed",
    [
        ("agent", "work.tools", "added", "widens", ("model_steward",)),
        ("agent", "work.tools", "removed", "narrows", ()),
        ("agent", "tier", "changed", "widens", ("model_steward",)),
        ("agent", "model", "changed", "neutral", ("model_steward",)),
        ("agent", "prompt", "changed", "neutral", ("model_steward",)),
        ("agent", "policies", "added", "narrows", ("model_steward",)),
        ("agent", "guardrails[x].max", "changed", "widens", ("agent_owner", "model_steward")),
        ("agent", "north_star.target", "changed", "widens", ("agent_owner", "model_steward")),
        ("agent", "stop_conditions[x]", "removed", "widens", ("agent_owner", "model_steward")),
        ("agent", "monitor.metrics", "removed", "widens", ("agent_owner", "model_steward")),
        ("agent", "guardrails[x].max", "changed", "narrows", ()),
        ("agent", "budget.monthly_usd.human", "changed", "widens", ()),
        ("agent", "", "added", "widens", ("model_steward",)),
        ("agent", "", "removed", "widens", ("agent_owner", "model_steward")),
        ("prompt", "text", "changed", "neutral", ("model_steward",)),
        ("policy", "refunds.auto_approve_max_usd", "changed", "widens", ("model_steward",)),
        ("catalog", "controls[b]", "removed", "widens", ()),
    ],
)
def test_whose_approval_a_change_needs(role, field, op, risk, needed):
    assert approvers_needed(role, field, op, risk) == needed


def test_what_changes_behaviour():
    assert changes_behaviour("agent", "model.name", "changed")
    assert changes_behaviour("agent", "work.tools", "added")
    assert changes_behaviour("prompt", "text", "changed")
    assert not changes_behaviour("agent", "work.allowed", "added")
    assert not changes_behaviour("agent", "", "removed")


def test_globs_match_within_folders():
    assert glob_regex("gov/evals/r/*.xml").match("gov/evals/r/2026.xml")
    assert not glob_regex("gov/evals/r/*.xml").match("gov/evals/r/old/2026.xml")
    assert glob_regex("gov/evals/**/*.xml").match("gov/evals/r/old/2026.xml")
    assert glob_regex("gov/evals/run-[0-9].xml").match("gov/evals/run-7.xml")


def test_junit_totals_rates_and_timestamps():
    results = parse_junit(
        b'<testsuites><testsuite name="a" tests="4" failures="1" errors="1" skipped="1" '
        b'timestamp="2026-10-06T07:40:00"/><testsuite name="b" timestamp="2026-10-06T09:00:00+02:00">'
        b"<testcase/><testcase><skipped/></testcase></testsuite></testsuites>"
    )

    assert (results.tests, results.ran, results.passed) == (6, 4, 2)
    assert results.pass_rate == 0.5
    assert results.timestamp.isoformat() == "2026-10-06T07:40:00+00:00"  # 09:00+02:00 is 07:00


@pytest.mark.parametrize(
    "data, message, line",
    [
        (b"<testsuite>\n<x>\n</testsuite>", "not XML (mismatched tag)", 3),
        (b"<report/>", "expected <testsuites> or <testsuite> but found <report>", 1),
        (b'<testsuite tests="many"/>', "<testsuite> tests='many': expected a whole number", 1),
        (b'<testsuite timestamp="yesterday"/>', "<testsuite> timestamp='yesterday': expected", 1),
        (b'<?xml version="1.0"?>\n<!DOCTYPE t [<!ENTITY b "bomb">]>\n<testsuite>&b;</testsuite>',
         "a DOCTYPE or entity declaration: expected plain JUnit XML", 2),
    ],
)  # fmt: skip
def test_what_is_not_junit_is_said_with_its_line(data, message, line):
    with pytest.raises(JUnitError) as caught:
        parse_junit(data)

    assert str(caught.value).startswith(message)
    assert caught.value.line == line
