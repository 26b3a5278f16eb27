"""Retired agents in the handbook and in `govkit whois`: listed apart on the registry with their
last owners, their page kept with a banner, out of the pages about the active workforce."""

from __future__ import annotations

import json
from datetime import date

import pytest

from playbook.core import resources
from playbook.handbook.changes import not_under_git
from playbook.handbook.render import Renderer
from playbook.policy import load_governance
from tests.conftest import EXAMPLE_GOVERNANCE

TODAY = date(2026, 11, 24)
RETIRED = "legacy-faq"
REASON = (
    "Replaced by support-replies, which answers from the same knowledge base with citations and "
    "a last-mile reviewer; the chat widget now routes to it."
)


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    governance = load_governance(EXAMPLE_GOVERNANCE, today=TODAY)
    renderer = Renderer(
        governance,
        template_dir=resources.template_dir(),
        today=TODAY,
        history=not_under_git(governance),
    )
    return renderer.pages()


def test_registry_lists_retired_agents_apart_with_their_last_owners(pages):
    registry = pages["agents/index.md"]
    active, retired = registry.split("## Retired { #retired }")

    assert "legacy-faq" not in active
    row = next(line for line in retired.splitlines() if "legacy-faq" in line)
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    agent, when, owners = cells  # three columns, so the table fits the page at 1280 px
    assert agent == (
        "[Customer FAQ bot (legacy)](legacy-faq.md)<br><code>legacy-faq</code>"
        "<br>[Tier 1](../tiers/tier-1.md)"
    )
    assert when == f"2026-10-30<br>{REASON}"
    agent_owner, steward, reviewer = owners.split("<br>")
    assert agent_owner.startswith('Agent Owner: Priya Raman (<a href="mailto:priya.raman@')
    assert steward.startswith("Model Steward: Tomasz Nowak (")
    assert reviewer == "Last-mile reviewer: none named"


def test_retired_agent_keeps_its_page_with_a_banner(pages):
    page = pages[f"agents/{RETIRED}.md"]

    assert '!!! warning "Retired on 2026-10-30"' in page
    assert f"    {REASON}" in page
    assert "| Status | **Retired** on 2026-10-30 |" in page
    assert "| [Agent Owner](../roles.md#agent-owner) | Priya Raman |" in page
    assert "Not monitored since it retired on 2026-10-30" in page
    assert "Not in the latest monitor run." not in page


def test_retired_agents_leave_the_pages_of_the_active_workforce(pages):
    for page in ("monitor.md", "costs.md", "readiness.md", "tiers/tier-1.md", "index.md"):
        if page in pages:
            assert RETIRED not in pages[page], page
            assert "Customer FAQ bot" not in pages[page], page


def test_whois_on_a_retired_agent_says_so_and_still_names_its_owners(workspace, govkit):
    result = govkit("whois", RETIRED, "--state", "none")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Customer FAQ bot (legacy) (legacy-faq)"
    assert lines[2] == f"RETIRED on 2026-10-30: {REASON}"
    assert "  Agent Owner         Priya Raman <priya.raman@northwind.example>" in lines
    assert "  Model Steward       Tomasz Nowak <tomasz.nowak@northwind.example>" in lines

    answer = json.loads(govkit("whois", RETIRED, "--state", "none", "--format", "json").stdout)
    assert answer["status"] == "retired"
    assert answer["retired"] == {"date": "2026-10-30", "reason": REASON}
    assert answer["owners"]["agent_owner"]["name"] == "Priya Raman"


def test_whois_on_an_active_agent_says_nothing_of_retirement(workspace, govkit):
    result = govkit("whois", "refunds", "--state", "none")

    assert result.exit_code == 0, result.output
    assert "RETIRED" not in result.stdout
    answer = json.loads(govkit("whois", "refunds", "--state", "none", "--format", "json").stdout)
    assert answer["status"] == "active" and answer["retired"] is None
