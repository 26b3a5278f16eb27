"""Retired charters: `status: retired` with `retired: {date, reason}`, validated and located."""

from __future__ import annotations

import json
from datetime import date

from playbook.core.charter import Charter
from playbook.policy import load_governance
from tests.conftest import EXAMPLE_GOVERNANCE, TODAY

AGENT = "refunds"
FILE = f"governance/agents/{AGENT}.yaml"


def line_of(workspace, text: str) -> int:
    lines = (workspace.governance / "agents" / f"{AGENT}.yaml").read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if line.startswith(text))


def test_the_example_keeps_a_retired_agent_apart_from_the_active_ones():
    governance = load_governance(EXAMPLE_GOVERNANCE, today=date.fromisoformat(TODAY))
    assert [c.id for c in governance.retired] == ["legacy-faq"]
    assert governance.retired_ids == {"legacy-faq"}
    assert "legacy-faq" not in {c.id for c in governance.agents}
    assert "legacy-faq" not in governance.readiness  # no live evidence asked of it
    charter = governance.charter("legacy-faq")
    assert charter is not None and charter.is_retired
    assert charter.retired is not None and charter.retired.date == date(2026, 10, 30)
    assert governance.charter("refunds") is governance.agent("refunds")
    assert governance.charter("nobody") is None
    assert governance.agent("refunds").status == "active"  # the default


def test_retired_without_date_and_reason_is_located(workspace, govkit):
    workspace.edit(f"agents/{AGENT}.yaml", "tier: 3\n", "tier: 3\nstatus: retired\n")

    result = govkit("check", "--today", TODAY)

    assert result.exit_code == 2
    line = line_of(workspace, "status:")
    assert (
        f"{FILE}:{line}: status: expected retired: {{date: YYYY-MM-DD, reason: ...}} beside "
        "status: retired (when the agent left and why)"
    ) in result.stderr


def test_retired_block_needs_both_date_and_reason(workspace, govkit):
    workspace.edit(
        f"agents/{AGENT}.yaml", "tier: 3\n", "tier: 3\nstatus: retired\nretired:\n  reason: gone\n"
    )

    result = govkit("check", "--today", TODAY)

    assert result.exit_code == 2
    assert f"{FILE}:{line_of(workspace, 'retired:')}: retired.date: field required" in (
        result.stderr
    )
    assert "status:" not in result.stderr  # one mistake, one message


def test_a_retired_block_on_an_active_charter_is_an_error(workspace, govkit):
    workspace.edit(
        f"agents/{AGENT}.yaml",
        "tier: 3\n",
        'tier: 3\nstatus: active\nretired:\n  date: "2026-11-01"\n  reason: gone\n',
    )

    result = govkit("check", "--today", TODAY)

    assert result.exit_code == 2
    assert (
        f"{FILE}:{line_of(workspace, 'status:')}: status: expected status: retired beside "
        "retired: {date, reason}"
    ) in result.stderr


def test_a_retirement_in_the_future_is_an_error(workspace, govkit):
    workspace.edit(
        f"agents/{AGENT}.yaml",
        "tier: 3\n",
        'tier: 3\nstatus: retired\nretired:\n  date: "2026-12-01"\n  reason: later\n',
    )

    result = govkit("check", "--today", TODAY)

    assert result.exit_code == 2
    line = line_of(workspace, "  date:")
    assert (
        f"{FILE}:{line}: retired.date: expected a retirement date on or before today "
        f"({TODAY}) but received 2026-12-01"
    ) in result.stderr


def test_a_retired_agent_owes_no_tier_evidence(workspace, govkit):
    # Tier 3 demands two-person approval; a retired agent no longer has to show it.
    workspace.edit(f"agents/{AGENT}.yaml", "approvals:\n  required: 2\n", "")
    assert govkit("check", "--today", TODAY).exit_code == 2
    workspace.edit(
        f"agents/{AGENT}.yaml",
        "tier: 3\n",
        'tier: 3\nstatus: retired\nretired:\n  date: "2026-11-20"\n  reason: replaced\n',
    )

    result = govkit("check", "--today", TODAY)

    assert result.exit_code == 0, result.stderr
    assert "2 retired agent(s) kept for the record." in result.stdout


def test_the_json_schema_requires_the_retirement_block():
    schema = Charter.model_json_schema()
    assert schema["properties"]["status"]["enum"] == ["active", "retired"]
    assert schema["if"] == {"properties": {"status": {"const": "retired"}}, "required": ["status"]}
    assert "retired" in schema["then"]["required"]
    assert json.dumps(schema)  # serialisable as written to governance/schemas/
