"""Every JSON document govkit writes is RFC 8259 JSON: no NaN or Infinity, even when a figure is
undefined (equal samples, a zero denominator, a window without tasks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOW = "2026-11-24T12:00:00Z"


def strict_loads(text: str) -> object:
    """Python's json accepts NaN and Infinity; RFC 8259 does not."""

    def refuse(token: str) -> object:
        raise AssertionError(f"{token} is not JSON (RFC 8259)")

    return json.loads(text, parse_constant=refuse)


def degenerate_events(path: Path) -> None:
    """Every task identical: zero cost, zero minutes, the same latency and feedback; ratios are
    0/0, rank tests see only ties, standard deviations are zero."""
    rows = []
    for day in range(1, 24):
        for hour in range(0, 24, 2):
            for agent in ("refunds", "support-replies", "docs-qa"):
                rows.append(
                    {"timestamp": f"2026-11-{day:02d}T{hour:02d}:00:00Z", "agent": agent,
                     "outcome": "failure", "latency_s": 2.0, "cost_usd": 0.0,
                     "tooling_cost_usd": 0.0, "reviewer_minutes": 0.0, "reworked": False,
                     "policy_hit": False, "rolled_back": False, "customer_feedback": 4.0}
                )  # fmt: skip
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


@pytest.fixture
def ran(workspace, govkit):
    for charter in ("refunds", "support-replies", "docs-qa"):
        path = workspace.governance / "agents" / f"{charter}.yaml"
        text = path.read_text()
        start = text.index("  baseline:")
        end = text.index("  recent:")
        path.write_text(text[:start] + "  baseline:\n    rolling: 14d\n" + text[end:])
    degenerate_events(workspace.root / "events.jsonl")
    result = govkit(
        "monitor", "run", "--events", "events.jsonl", "--now", NOW, "--format", "json",
        "--write-reviews",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return workspace, result


def test_item_02_monitor_run_json_and_snapshot_are_strict_json(ran):
    workspace, result = ran
    report = strict_loads(result.stdout)
    assert report["findings"], "the run tested nothing"
    snapshot = strict_loads((workspace.root / ".govkit" / "monitor.json").read_text())
    assert snapshot["schema"].startswith("govkit.monitor/")
    for review in (workspace.root / ".govkit" / "reviews").rglob("*.json"):
        strict_loads(review.read_text())


def test_item_02_whois_review_and_policy_json_are_strict_json(ran, govkit):
    outputs = [
        govkit("whois", "refunds", "--format", "json"),
        govkit("review", "refunds", "--events", "events.jsonl", "--now", NOW, "--format", "json"),
        govkit(
            "policy", "decide", "support-agent", "--format", "json", "--case",
            '{"action": "refund", "amount_usd": 1e-3, "customer_tenure_months": 12, '
            '"fraud_risk_score": 0, "lifetime_refunds_usd": 0, "sentiment": "neutral", '
            '"topic": "billing"}',
        ),
    ]  # fmt: skip
    for result in outputs:
        assert result.exit_code == 0, result.output
        strict_loads(result.stdout)


def test_jsonout_turns_undefined_figures_into_null():
    from playbook.core.jsonout import dumps

    text = dumps({"p": float("nan"), "e": [float("inf"), -float("inf"), 1.5], "n": None})

    assert strict_loads(text) == {"p": None, "e": [None, None, 1.5], "n": None}
