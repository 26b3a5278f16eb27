"""What an alert says: plain words first, values in the metric's unit with the relative change
beside them, the statistics apart (`annotations.statistics`) for a details block."""

from __future__ import annotations

from datetime import date

import pytest

from monitor.alerting.alerts import check_condition, drift_condition, in_unit, significant
from monitor.alerting.rules import Check
from playbook.core.governance import Governance
from playbook.policy import load_governance
from tests.conftest import EXAMPLE_GOVERNANCE


@pytest.fixture(scope="module")
def governance() -> Governance:
    return load_governance(EXAMPLE_GOVERNANCE, today=date(2026, 11, 24))


def finding(metric: str, baseline: float, recent: float, **extra: object) -> dict[str, object]:
    return {
        "agent": "support-replies", "metric": metric, "kind": "continuous", "aspect": "center",
        "test": "mann_whitney_u", "baseline": baseline, "recent": recent, "n_baseline": 1356,
        "n_recent": 311, "statistic": 2.0, "p_value": 9.297e-35, "q_value": 4.369e-33,
        "effect": (recent - baseline) / baseline, "floor": 0.1, "verdict": "drift",
    } | extra  # fmt: skip


def test_metric_drift_in_plain_words(governance):
    charter = governance.agent("support-replies")
    condition = drift_condition(
        governance, charter, [finding("customer_feedback", 4.4, 3.9)], active=True
    )
    notes = condition.annotations
    assert notes["summary"] == (
        "Customer feedback fell from 4.4 to 3.9 (\u22120.5, \u221211%) over the last 7 days"
    )
    assert notes["description"] == (
        "Support replies: Customer feedback was 3.9 over the last 7 days (311 tasks) against 4.4 "
        "in its baseline (1,356 tasks): \u22120.5, \u221211%. Worse when lower."
    )
    assert notes["statistics"] == (
        "center: mann_whitney_u p=9.297e-35, q=4.369e-33, n=1,356 baseline / 311 recent"
    )
    assert "p=" not in notes["summary"] + notes["description"]
    assert condition.labels == {
        "alertname": "MetricDrift", "agent": "support-replies", "metric": "customer_feedback",
        "severity": "warning", "tier": "2",
    }  # fmt: skip


def test_a_drifted_tail_is_named_with_its_points(governance):
    charter = governance.agent("support-replies")
    center = finding("customer_feedback", 4.4, 4.35, verdict="ok")
    tail = finding("customer_feedback", 4.4, 4.35, aspect="tail", test="two_proportion_z",
                   effect=0.041, p_value=1e-6, q_value=2e-5)  # fmt: skip
    notes = drift_condition(governance, charter, [center, tail], active=True).annotations
    assert notes["summary"] == (
        "Customer feedback drifted in its tail over the last 7 days: the share of tasks beyond "
        "the baseline's 5% lowest values changed by +4.1 points"
    )
    assert notes["statistics"].endswith("; tail: two_proportion_z p=1e-06, q=2e-05, n=1,356 "
                                        "baseline / 311 recent")  # fmt: skip


def test_stop_condition_says_what_to_do(governance):
    charter = governance.agent("refunds")
    check = Check(agent="refunds", check="stop_condition", metric="rollback_rate", bound="above",
                  threshold=0.02, window="7d", value=0.105, n=834, status="breached",
                  action="pause")  # fmt: skip
    condition = check_condition(governance, charter, check)
    notes = condition.annotations
    assert notes["summary"] == (
        "Rollback rate 10.5% over the last 7 days, above the stop limit of 2% \u2014 pause the agent"
    )
    assert notes["description"] == (
        "Refunds: Rollback rate was 10.5% over the last 7 days (834 tasks), above the stop limit "
        "of 2% by 8.5 points (+425%)."
    )
    assert notes["statistics"] == "n=834 tasks over 7d; value 0.105"
    assert notes["action"] == "pause" and condition.labels["severity"] == "critical"
    escalate = check.model_copy(update={"action": "escalate"})
    assert (
        check_condition(governance, charter, escalate)
        .annotations["summary"]
        .endswith("\u2014 escalate to the agent owner, Oliver Brandt")
    )


def test_guardrail_below_its_minimum(governance):
    charter = governance.agent("refunds")
    check = Check(agent="refunds", check="guardrail", metric="task_success_rate", bound="min",
                  threshold=0.95, window="7d", value=0.912, n=900, status="breached")  # fmt: skip
    notes = check_condition(governance, charter, check).annotations
    assert notes["summary"] == (
        "Task success rate 91.2% over the last 7 days, below the guardrail minimum of 95% "
        "\u2014 investigate"
    )
    assert "by 3.8 points (\u22124.0%)" in notes["description"]


@pytest.mark.parametrize(
    ("metric", "value", "change", "text"),
    [
        ("rollback_rate", 0.1046, False, "10.5%"),
        ("rollback_rate", 0.0369, True, "+3.7 points"),
        ("cost_per_task", 1.274, False, "$1.27"),
        ("cost_per_task", 0.01234, False, "$0.0123"),
        ("cost_per_task", -0.2, True, "\u2212$0.2"),
        ("latency_s", 2.345, False, "2.35 s"),
        ("reviewer_minutes_per_task", 0.5, True, "+0.5 min"),
        ("customer_feedback", 4.18, False, "4.18"),
        ("unauthorized_attempts", 3.0, False, "3 attempts per day"),
    ],
)
def test_values_are_in_the_metrics_unit(governance, metric, value, change, text):
    assert in_unit(governance.metric(metric), value, change=change) == text


def test_significant_digits_never_use_exponents():
    assert [significant(v) for v in (4.556, 0.04556, 12345.6, 2.0, 0.0)] == [
        "4.56", "0.0456", "12,346", "2", "0",
    ]  # fmt: skip
