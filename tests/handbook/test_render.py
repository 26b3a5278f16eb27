"""Rendering: golden pages, escaping of every YAML value, links between pages."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from playbook.core import resources
from playbook.core.markdown import escape
from playbook.handbook.changes import not_under_git
from playbook.handbook.render import Renderer, rollout_status
from playbook.policy import load_governance
from tests.conftest import EXAMPLE_GOVERNANCE

GOLDEN = Path(__file__).parent / "golden"
GOLDEN_PAGES = [
    "agents/support-replies.md",
    "tiers/tier-2.md",
    "rollout.md",
    "agents/index.md",
]
TODAY = date(2026, 11, 24)


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    governance = load_governance(EXAMPLE_GOVERNANCE, today=TODAY)
    history = not_under_git(governance)  # the pages, not this repository's history
    return Renderer(
        governance, template_dir=resources.template_dir(), today=TODAY, history=history
    ).pages()


@pytest.mark.parametrize("page", GOLDEN_PAGES)
def test_page_matches_golden_file(pages, page):
    """Set GOVKIT_UPDATE_GOLDEN=1 to rewrite the golden files after an intended change."""
    golden = GOLDEN / page.replace("/", "__")
    if os.environ.get("GOVKIT_UPDATE_GOLDEN"):
        golden.write_text(pages[page], encoding="utf-8")
    assert pages[page] == golden.read_text(encoding="utf-8")


def test_every_agent_tier_and_page_is_generated(pages):
    expected_agents = {
        f"agents/{p.stem}.md" for p in (EXAMPLE_GOVERNANCE / "agents").glob("*.yaml")
    }
    assert expected_agents <= set(pages)
    assert {f"tiers/tier-{n}.md" for n in range(5)} <= set(pages)
    assert {"index.md", "operating-models.md", "roles.md", "rollout.md", "metrics.md"} <= set(pages)


def test_agent_page_links_to_its_tier_and_roles(pages):
    page = pages["agents/support-replies.md"]
    assert "[Tier 2: Customer-facing](../tiers/tier-2.md)" in page
    assert "[Agent Owner](../roles.md#agent-owner)" in page
    assert "Rosa Delgado" in page


def test_roles_page_links_back_to_agents(pages):
    assert "[Support replies](agents/support-replies.md)" in pages["roles.md"]


def test_rollout_dates_follow_the_start_date():
    governance = load_governance(EXAMPLE_GOVERNANCE, today=TODAY)
    rows = rollout_status(governance.rollout, TODAY)
    start = governance.rollout.start_date
    assert [(row.start - start).days for row in rows] == [0, 14, 28, 42, 70]
    # Phase 3 ended on 2026-11-15 with a deliverable open: late, not done.
    assert [row.state for row in rows] == ["done", "done", "late", "active", "planned"]
    assert (rows[-1].end - start).days == 13 * 7 - 1


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("a | b", "a \\| b"),
        ("[click](javascript:x)", "\\[click\\](javascript:x)"),
        ("*bold* _it_ `code`", "\\*bold\\* \\_it\\_ \\`code\\`"),
        ("- not a list", "\\- not a list"),
        ("1. not a list", "1\\. not a list"),
        ("line one\nline two", "line one line two"),
        ("R&D", "R&amp;D"),
    ],
)
def test_escape_neutralises_markdown_and_html(raw, shown):
    assert escape(raw) == shown
