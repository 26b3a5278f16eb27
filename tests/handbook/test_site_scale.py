"""A large organisation's navigation lists the registry, not every agent (issue 14, item 10):
each page carries the whole navigation, so listing a thousand agents makes every page, and the
build, grow with their number."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import yaml

from playbook.handbook import site
from playbook.policy import load_governance
from tests.conftest import EXAMPLE_GOVERNANCE, REPO

TODAY = date(2026, 11, 24)


def leaves(nav: list[Any]) -> list[str]:
    found: list[str] = []
    for entry in nav:
        values = entry.values() if isinstance(entry, dict) else [entry]
        for value in values:
            found += leaves(value) if isinstance(value, list) else [value]
    return found


def staged(tmp_path: Path) -> tuple[dict[str, Any], Path]:
    config, _ = site.stage(
        load_governance(EXAMPLE_GOVERNANCE, today=TODAY),
        config_path=REPO / "mkdocs.yml",
        staging_dir=tmp_path / "stage",
        site_dir=tmp_path / "site",
        today=TODAY,
    )
    return yaml.load(config.read_text(encoding="utf-8"), Loader=yaml.BaseLoader), config.parent


def test_a_small_organisation_lists_every_agent(tmp_path):
    config, _ = staged(tmp_path)
    assert "agents/refunds.md" in leaves(config["nav"])


def test_a_large_organisation_lists_the_registry_and_still_has_every_page(tmp_path, monkeypatch):
    monkeypatch.setattr(site, "NAV_AGENTS_LIMIT", 3)  # the example has 7 agents
    config, stage_dir = staged(tmp_path)
    pages = leaves(config["nav"])
    assert "agents/index.md" in pages
    assert [
        page for page in pages if page.startswith("agents/") and page != "agents/index.md"
    ] == []
    assert "policies/support-agent.md" in pages and "tiers/tier-3.md" in pages
    assert (stage_dir / "docs/agents/refunds.md").is_file()  # reached from the registry
    assert config["validation"] == {"nav": {"omitted_files": "ignore"}}
