"""`govkit serve` restages only what an edit can change (issue 14, item 10).

An edited charter re-renders its own page and the pages that list agents, never another agent's
page; a file is written only when its content changed, so the builder (MkDocs `--dirty`,
Zensical's incremental build) rebuilds only those. Whatever path is taken, the live directory
ends up exactly as a full staging of the same governance would.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from playbook.core.errors import ValidationFailed
from playbook.handbook.live_stage import LiveStage, ServeInputs
from playbook.handbook.site import stage
from playbook.handbook.view import load_view
from playbook.policy import load_governance
from tests.conftest import REPO
from tests.hostile import run_monitor

TODAY = date(2026, 11, 24)


@pytest.fixture
def live(workspace, tmp_path) -> LiveStage:
    directory = tmp_path / "serve" / "stage"
    directory.mkdir(parents=True)
    stage_ = LiveStage(
        directory, ServeInputs(workspace.governance, REPO / "mkdocs.yml", TODAY, state=None)
    )
    stage_.restage()
    return stage_


def staged_files(directory: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.relative_to(directory).parts[0] in ("docs", "mkdocs.yml")
    }


def mtimes(directory: Path) -> dict[str, int]:
    return {
        str(path.relative_to(directory)): path.stat().st_mtime_ns
        for path in (directory / "docs").rglob("*.md")
    }


def full_staging(workspace, tmp_path: Path, live_dir: Path) -> dict[str, bytes]:
    fresh = tmp_path / "fresh"
    stage(
        load_governance(workspace.governance, today=TODAY),
        config_path=REPO / "mkdocs.yml",
        staging_dir=fresh,
        site_dir=live_dir / "site",
        today=TODAY,
    )
    return staged_files(fresh)


def backdate(directory: Path) -> None:
    """Every staged page a minute older: a rewrite then shows in its modification time."""
    for page in (directory / "docs").rglob("*.md"):
        stat = page.stat()
        os.utime(page, ns=(stat.st_atime_ns, stat.st_mtime_ns - 60_000_000_000))


def test_an_edited_charter_rewrites_its_page_only(workspace, live, tmp_path):
    backdate(live.live)
    before = mtimes(live.live)
    workspace.edit(
        "agents/refunds.yaml", "description: >-", "description: >-\n  Now with a new opening."
    )

    written = live.restage({workspace.governance / "agents/refunds.yaml"})

    after = mtimes(live.live)
    rewritten = sorted(page for page in after if after[page] != before[page])
    # its page and, at tier 3, its Art. 72 monitoring plan, which quotes the charter
    assert rewritten == ["docs/agents/refunds.md", "docs/monitoring-plans/refunds.md"]
    assert written == 2
    assert "Now with a new opening." in (live.live / "docs/agents/refunds.md").read_text()
    assert staged_files(live.live) == full_staging(workspace, tmp_path, live.live)


def test_an_edit_that_changes_listings_rewrites_those_too(workspace, live, tmp_path):
    backdate(live.live)
    before = mtimes(live.live)
    workspace.edit("agents/refunds.yaml", "name: Oliver Brandt", "name: Olivia Brandt")

    live.restage({workspace.governance / "agents/refunds.yaml"})

    after = mtimes(live.live)
    rewritten = {page for page in after if after[page] != before[page]}
    assert {"docs/agents/refunds.md", "docs/roles.md"} <= rewritten  # roles: who holds each
    other_agents = {p for p in rewritten if p.startswith("docs/agents/")} - {
        "docs/agents/refunds.md",
        "docs/agents/index.md",
    }
    assert other_agents == set()
    assert staged_files(live.live) == full_staging(workspace, tmp_path, live.live)


def test_a_renamed_agent_restages_everything_and_touches_every_page(workspace, live, tmp_path):
    backdate(live.live)
    before = mtimes(live.live)
    workspace.edit("agents/refunds.yaml", "name: Refunds", "name: Refund desk")

    live.restage({workspace.governance / "agents/refunds.yaml"})

    after = mtimes(live.live)
    # The navigation changed, so every page's HTML does: a dirty rebuild must redo them all.
    assert all(after[page] > before[page] for page in before)
    assert "Refund desk" in (live.live / "mkdocs.yml").read_text()
    assert staged_files(live.live) == full_staging(workspace, tmp_path, live.live)


def test_edits_made_while_the_yaml_is_broken_are_staged_once_it_is_fixed(workspace, live, tmp_path):
    refunds, triage = (
        workspace.governance / f"agents/{a}.yaml" for a in ("refunds", "ticket-triage")
    )
    workspace.edit("agents/refunds.yaml", "tier: 3", "tier: three")
    with pytest.raises(ValidationFailed):
        live.restage({refunds})
    workspace.edit("agents/ticket-triage.yaml", "description: >-", "description: >-\n  Meanwhile.")
    with pytest.raises(ValidationFailed):  # refunds is still broken
        live.restage({triage})
    workspace.edit("agents/refunds.yaml", "tier: three", "tier: 3")

    live.restage({refunds})  # the fix: ticket-triage's edit is staged with it

    assert "Meanwhile." in (live.live / "docs/agents/ticket-triage.md").read_text()
    assert staged_files(live.live) == full_staging(workspace, tmp_path, live.live)


def test_an_added_charter_is_staged(workspace, live, tmp_path):
    text = (workspace.governance / "agents/refunds.yaml").read_text()
    workspace.write(
        "agents/refunds-eu.yaml",
        text.replace("id: refunds", "id: refunds-eu").replace("name: Refunds", "name: Refunds EU"),
    )
    live.restage(None)  # a file appeared: serve asks for everything
    assert (live.live / "docs/agents/refunds-eu.md").is_file()
    assert staged_files(live.live) == full_staging(workspace, tmp_path, live.live)


@pytest.mark.slow
def test_with_monitor_results_the_edited_agents_charts_follow(workspace, tmp_path):
    state = run_monitor(workspace.root)
    directory = tmp_path / "serve" / "stage"
    directory.mkdir(parents=True)
    live = LiveStage(
        directory, ServeInputs(workspace.governance, REPO / "mkdocs.yml", TODAY, state)
    )
    live.restage()
    chart = directory / "docs/assets/charts/refunds/rollback_rate.svg"
    before = chart.read_text()
    others = {path: path.read_bytes() for path in (directory / "docs/assets/charts").rglob("*.svg")}

    workspace.edit("agents/refunds.yaml", "    above: 0.02", "    above: 0.03")
    live.restage({workspace.governance / "agents/refunds.yaml"})

    assert chart.read_text() != before and "stop above 0.03" in chart.read_text()
    changed = [path for path, data in others.items() if path.read_bytes() != data]
    assert all(path.parent.name == "refunds" for path in changed)
    fresh = tmp_path / "fresh"
    stage(
        load_governance(workspace.governance, today=TODAY),
        config_path=REPO / "mkdocs.yml",
        staging_dir=fresh,
        site_dir=directory / "site",
        today=TODAY,
        monitor=load_view(state),
    )
    assert staged_files(directory) == staged_files(fresh)
