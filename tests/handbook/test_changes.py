"""The handbook's answer to "why did it pass the gates": each agent page's "Change history" and
"Why it passed the gates", the governance changelog page, and the same pages outside git;
`govkit whois` loading only the charter it is asked about."""

from __future__ import annotations

from datetime import date

import pytest

from playbook.core import resources
from playbook.handbook.changes import NOT_UNDER_GIT, read_changes
from playbook.handbook.render import Renderer
from playbook.handbook.whois import find_charter, load_for, whois
from playbook.policy import load_governance
from tests.conftest import EXAMPLE_GOVERNANCE, Workspace
from tests.history.conftest import ADA, GRACE, HENRIK, OLIVER, Repo, junit

TODAY = date(2026, 11, 24)
TOOLS = "    - pod-images (read-only)\n"


@pytest.fixture
def history_repo(workspace: Workspace) -> Repo:
    """The example organisation, then a new tool for refunds approved by its owner and steward,
    with eval results recorded, then a narrowing."""
    repo = Repo(workspace)
    repo.git("init", "-q", "-b", "main")
    repo.commit("The example organisation", when="2026-09-01T09:00:00Z")
    repo.edit("agents/refunds.yaml", TOOLS, TOOLS + "    - gift-cards (issue only)\n")
    repo.write("evals/refunds/2026-10-02.xml", junit(50, timestamp="2026-10-02T08:00:00Z"))
    (workspace.governance / "evals/refunds/2026-10-06.xml").unlink()  # replaced
    repo.commit("Gift cards for refunds", author=ADA, when="2026-10-02T09:00:00Z",
                approved=(HENRIK, OLIVER))  # fmt: skip
    repo.edit("agents/refunds.yaml", "  cadence: weekly", "  cadence: weekly")  # no change
    repo.edit("agents/support-replies.yaml", "    max: 0.15", "    max: 0.1")
    repo.commit("Tighter escalation guardrail", author=GRACE, when="2026-10-03T09:00:00Z")
    return repo


def pages(root) -> dict[str, str]:
    governance = load_governance(root, today=TODAY)
    renderer = Renderer(governance, template_dir=resources.template_dir(), today=TODAY)
    return renderer.pages()


def section(page: str, title: str) -> str:
    return page.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_an_agent_page_shows_its_change_history(history_repo):
    page = pages(history_repo.workspace.governance)["agents/refunds.md"]

    history = section(page, "Change history")
    sha = history_repo.git("rev-parse", "--short=7", "HEAD~1")
    steps = history.split("\n- ")[1:]
    assert steps[0].splitlines() == [
        f"**2026-10-02**, <code>{sha}</code> Gift cards for refunds, by Ada Lovelace: "
        '<span class="govkit-badge govkit-badge--warning">widens</span>',
        "    - work.tools: added 'gift-cards (issue only)' (widens)",
        "    - Approved by: Henrik Lund (Model Steward), Oliver Brandt (Agent Owner)",
        "    - Eval results recorded: added: 50 of 50 passed (100.0%), run 2026-10-02T08:00:00Z; "
        "removed: 49 of 50 passed (98.0%), run 2026-10-06T07:40:00Z",
    ]
    assert steps[-1].startswith("**2026-09-01**")
    assert "    - prompt of agent refunds added (8 lines)" in steps[-1]


def test_an_agent_page_says_why_it_passed_the_gates(history_repo):
    page = pages(history_repo.workspace.governance)["agents/refunds.md"]

    why = section(page, "Why it passed the gates")
    head = history_repo.git("rev-parse", "--short=7", "HEAD")
    widening = history_repo.git("rev-parse", "--short=7", "HEAD~1")
    assert (f"- **Current revision:** <code>{head}</code> of 2026-10-03T09:00:00Z (Tighter "
            "escalation guardrail)") in why  # fmt: skip
    assert (f"- **Last widening change:** <code>{widening}</code> on 2026-10-02 by Ada Lovelace: "
            "work.tools: added 'gift-cards (issue only)' (widens)") in why  # fmt: skip
    assert "- **Approved by:** Henrik Lund (Model Steward), Oliver Brandt (Agent Owner)" in why
    assert ("    - refunds-regression: passes, 100.0% passed (min 0.98), 2026-10-02.xml produced "
            "2026-10-02 08:00 UTC") in why  # fmt: skip
    assert "    - [support-agent](../policies/support-agent.md): 13 of 13 pass" in why


def test_the_changelog_lists_every_change_newest_first_widening_marked(history_repo):
    rendered = pages(history_repo.workspace.governance)

    rows = [line for line in rendered["changelog.md"].splitlines() if line.startswith("| 2026")]
    assert rows[0].startswith("| 2026-10-03 |")
    assert "[agent support-replies](agents/support-replies.md)" in rows[0]
    assert "guardrails\\[escalation\\_rate\\].max: 0.15 -&gt; 0.1" in rows[0]
    assert 'govkit-badge--ok">narrows' in rows[0]
    widening = next(row for row in rows if "Gift cards" in row and "agent refunds" in row)
    assert '**<span class="govkit-badge govkit-badge--warning">widens</span>**' in widening
    assert rows[-1].startswith("| 2026-09-01 |")


def test_outside_git_the_handbook_builds_and_says_so(workspace, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(workspace.root.parent))

    rendered = pages(workspace.governance)

    assert section(rendered["agents/refunds.md"], "Change history").strip() == NOT_UNDER_GIT
    why = section(rendered["agents/refunds.md"], "Why it passed the gates")
    assert f"- **Current revision:** {NOT_UNDER_GIT}" in why
    assert "    - refunds-regression: passes, 98.0% passed" in why  # read from the disk
    assert NOT_UNDER_GIT in rendered["changelog.md"]


def test_the_changelog_is_in_the_navigation(workspace, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(workspace.root.parent))
    governance = load_governance(workspace.governance, today=TODAY)
    renderer = Renderer(governance, template_dir=resources.template_dir(), today=TODAY)

    assert {"Changelog": "changelog.md"} in renderer.nav([])
    assert not read_changes(governance).available


@pytest.mark.parametrize("agent", sorted(p.stem for p in (EXAMPLE_GOVERNANCE / "agents").glob("*")))
def test_whois_of_one_charter_answers_as_the_whole_organisation_does(agent):
    everything = load_governance(EXAMPLE_GOVERNANCE, today=TODAY)
    alone, charter = load_for(EXAMPLE_GOVERNANCE, agent, TODAY)

    assert [a.id for a in [*alone.agents, *alone.retired]] == [agent]
    assert whois(alone, charter, None) == whois(everything, find_charter(everything, agent), None)
