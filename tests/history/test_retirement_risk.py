"""The risk of retiring an agent, and of bringing one back, in the semantic diff."""

from __future__ import annotations

import pytest

from playbook.history.risk import NARROWS, NEUTRAL, WIDENS, classify


@pytest.mark.parametrize(
    ("field", "op", "before", "after", "risk"),
    [
        ("status", "added", None, "retired", NARROWS),
        ("status", "changed", "active", "retired", NARROWS),
        ("status", "changed", "retired", "active", WIDENS),
        ("status", "removed", "retired", None, WIDENS),
        ("status", "added", None, "active", NEUTRAL),
        ("retired", "added", None, {"date": "2026-11-20", "reason": "replaced"}, NARROWS),
        ("retired", "removed", {"date": "2026-11-20", "reason": "replaced"}, None, WIDENS),
        ("retired.reason", "changed", "replaced", "replaced by v2", NEUTRAL),
    ],
)
def test_retiring_narrows_and_reviving_widens(field, op, before, after, risk):
    assert classify("agent", None, field, op, before, after) == risk
