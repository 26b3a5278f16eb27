"""What the pages are given from the monitor's latest run (`playbook.handbook.view`)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from playbook.core import resources
from playbook.handbook.view import MonitorView, monitor_context
from playbook.policy import load_governance
from tests.conftest import EXAMPLE_GOVERNANCE


def test_every_name_given_to_the_pages_is_read_by_a_template():
    """Nothing is computed for the pages that no page shows (the costs page's warnings are its
    own helper's, `cost_shift_warnings`)."""
    governance = load_governance(EXAMPLE_GOVERNANCE, today=date(2026, 11, 24))
    view = MonitorView(path=Path("monitor.json"), now="2026-11-24T12:00:00Z",
                       generated_at="2026-11-24T12:00:00Z", agents={})  # fmt: skip
    context = monitor_context(governance, view, {})
    templates = "\n".join(
        path.read_text(encoding="utf-8") for path in resources.template_dir().rglob("*.j2")
    )
    unread = [name for name in context if not re.search(rf"\b{name}\b", templates)]
    assert unread == []
