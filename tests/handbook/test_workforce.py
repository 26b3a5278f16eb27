"""The invisible workforce in the handbook: the dashboard (and the home strip) lists the agents
the monitor saw without a charter first, under "Uncharted"; the registry's Review column shows
each charter's last review, its due date and an overdue flag, read without the monitor."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

from monitor.run import RunOptions, run_monitor
from playbook.core import resources
from playbook.handbook.changes import not_under_git
from playbook.handbook.render import Renderer
from playbook.handbook.view import load_view
from playbook.policy import load_governance

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
TODAY = date(2026, 11, 24)
ODD = "<b>odd|bot</b>"  # an agent id from the events is user text: escaped, never markup


def monitored(workspace, agents: dict[str, int]) -> Path:
    """A monitor run over one task a day (2026-11-10 to 11-23) of each agent, `agents[id]` more
    on 2026-11-23; returns the state."""
    rows = []
    for agent, extra in agents.items():
        days = [f"2026-11-{day}T10:00:00Z" for day in range(10, 24)] + [
            "2026-11-23T11:00:00Z"
        ] * extra
        rows += [{"timestamp": moment, "agent": agent, "outcome": "success"} for moment in days]
    events = workspace.root / "events.jsonl"
    events.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    state = workspace.root / "state" / "monitor.db"
    governance = load_governance(workspace.governance, today=TODAY)
    run_monitor(governance, RunOptions(events=str(events), now=NOW, state=state))
    return state


def render(workspace, state: Path | None) -> dict[str, str]:
    governance = load_governance(workspace.governance, today=TODAY)
    view = load_view(state, now=NOW) if state is not None else None
    return Renderer(
        governance,
        template_dir=resources.template_dir(),
        today=TODAY,
        monitor=view,
        history=not_under_git(governance),
    ).pages()


def test_the_dashboard_lists_uncharted_agents_first(workspace):
    pages = render(workspace, monitored(workspace, {"refunds": 3, "shadow-bot": 0, ODD: 2}))

    dashboard = pages["monitor/index.md"]
    assert dashboard.index("## Uncharted") < dashboard.index("| Agent | Tier | Status |")
    section = dashboard[dashboard.index("## Uncharted") : dashboard.index("## Chartered agents")]
    assert "2 agents without a charter did work in the last 7 days" in section
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows == [
        "| Agent id | Tasks | Last 7 days | First seen | Last seen |",
        r"| &lt;b&gt;odd\|bot&lt;/b&gt; | 16 | 8 | 2026-11-10 10:00 UTC | 2026-11-23 11:00 UTC |",
        "| shadow-bot | 14 | 6 | 2026-11-10 10:00 UTC | 2026-11-23 10:00 UTC |",
    ]
    home = pages["index.md"]
    assert home.index("**Uncharted**") < home.index("**Agents**")
    assert (
        "2 agents without a charter</span> &lt;b&gt;odd\\|bot&lt;/b&gt; (8 tasks), shadow-bot"
        in home
    )


def test_without_uncharted_agents_the_dashboard_has_no_such_section(workspace):
    pages = render(workspace, monitored(workspace, {"refunds": 0}))

    assert "Uncharted" not in pages["monitor/index.md"]
    assert "Uncharted" not in pages["index.md"]


def registry_row(pages: dict[str, str], agent: str) -> str:
    return next(
        line for line in pages["agents/index.md"].splitlines() if f"<code>{agent}</code>" in line
    )


def test_the_registry_shows_last_review_due_date_and_overdue(workspace):
    state = monitored(workspace, {"refunds": 0})
    for agent, day in (("refunds", "2026-11-10"), ("support-replies", "2026-11-20")):
        folder = state.parent / "reviews" / agent
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{day}.md").write_text("# Review\n", encoding="utf-8")
    workspace.edit(
        "agents/docs-qa.yaml", "  cadence: monthly\n", "  cadence: monthly\n  last: 2026-11-01\n"
    )

    pages = render(workspace, state)

    assert registry_row(pages, "refunds").endswith(
        '| weekly: last 2026-11-10, due 2026-11-17 <span class="govkit-badge '
        'govkit-badge--warning">overdue 7 days</span> |'
    )
    assert registry_row(pages, "support-replies").endswith(
        "| weekly: last 2026-11-20, due 2026-11-27 |"
    )
    assert registry_row(pages, "docs-qa").endswith("| monthly: last 2026-11-01, due 2026-12-01 |")
    assert registry_row(pages, "ticket-triage").endswith("| biweekly: no review yet |")
    assert "| Review |" in pages["agents/index.md"]


def test_the_registry_reads_the_charter_without_a_monitor(workspace):
    workspace.edit(
        "agents/refunds.yaml", "  cadence: weekly\n", "  cadence: weekly\n  last: 2026-11-16\n"
    )

    pages = render(workspace, None)

    assert registry_row(pages, "refunds").endswith(
        '| weekly: last 2026-11-16, due 2026-11-23 <span class="govkit-badge '
        'govkit-badge--warning">overdue 1 day</span> |'
    )
