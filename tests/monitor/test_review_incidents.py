"""Reviews include the agent's incidents open in the period, with each action's verification
status from the monitor's last run (none without a state)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import EXAMPLE_GOVERNANCE
from tests.monitor.conftest import write_events

NOW = "2026-11-24T12:00:00Z"


def review(govkit, events: Path, *extra: str, agent: str = "refunds"):
    result = govkit(
        "review", agent, "--governance", str(EXAMPLE_GOVERNANCE), "--events", str(events),
        "--now", NOW, *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_review_lists_the_open_incident_with_its_action_status(govkit, tmp_path):
    events = write_events(tmp_path / "events.parquet")
    state = tmp_path / "monitor.db"
    ran = govkit(
        "monitor", "run", "--governance", str(EXAMPLE_GOVERNANCE), "--events", str(events),
        "--state", str(state), "--now", NOW,
    )  # fmt: skip
    assert ran.exit_code == 0, ran.stderr

    text = review(govkit, events, "--state", str(state))

    section = text.split("## Incidents\n\n")[1].split("\n\n## ")[0]
    assert section.splitlines() == [
        "- **Refunds prepared for partial shipments were rolled back** "
        "(`2026-11-18-refunds-rollbacks`, sev2, 2026-11-18, open)",
        "    - `partial-shipment-evals`: Teach the prompt the partial-shipment rule of the "
        "updated refund policy and add eval cases for it; release only when they pass. Owner "
        "Henrik Lund, due 2026-12-01, not done: open.",
    ]
    document = json.loads(review(govkit, events, "--state", str(state), "--format", "json"))
    assert [i["id"] for i in document["incidents"]] == ["2026-11-18-refunds-rollbacks"]
    assert document["incidents"][0]["actions"][0]["status"] == "open"


def test_a_closed_incident_before_the_period_is_left_out(govkit, tmp_path):
    events = write_events(tmp_path / "events.parquet")

    text = review(govkit, events, "--state", "none", agent="support-replies")

    # the chargebacks incident was closed on 2026-09-18, long before this week
    assert "No incident of this agent was open in the period." in text
    document = json.loads(
        review(govkit, events, "--state", "none", "--period", "90d", "--format", "json",
               agent="support-replies")
    )  # fmt: skip
    (incident,) = document["incidents"]
    assert incident["closed"] == "2026-09-18" and incident["actions"][0]["status"] is None
