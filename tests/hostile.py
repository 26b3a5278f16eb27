"""A workspace whose YAML is hostile everywhere a value reaches the handbook: the organisation's
title, description and name (the theme's site_name, site_description, copyright), a charter (nav
titles, page titles), metric names and units (chart text). Shared by the site and browser tests.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import EXAMPLE_GOVERNANCE, REPO, TODAY

HANDBOOK_TITLE = '<img src=x onerror="window.__xss=1"> Handbook & "quotes" \'too\''
DESCRIPTION = '"><script>window.__xss=2</script> &amp; {{ config.site_name }} *not emphasis*'
ORGANISATION = "Acme </title><script>window.__xss=3</script> $5 & co"
CHARTER_NAME = "<script>alert(1)</script>"
CHARTER_DESCRIPTION = "<img src=x onerror=alert(2)> | *not emphasis*"
MATH_UNIT = "$ and 50% $"
BROKEN_MATH_UNIT = "$\\x$"
NOW = "2026-11-24T12:00:00Z"


def run_govkit(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "playbook", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def make_workspace(root: Path) -> Path:
    """The example organisation with hostile values, plus a site configuration that leaves
    site_description and copyright to govkit (the organisation's description and name)."""
    shutil.copytree(EXAMPLE_GOVERNANCE, root / "governance")
    shutil.copytree(REPO / "docs", root / "docs")
    organisation = root / "governance/organisation.yaml"
    settings = yaml.safe_load(organisation.read_text(encoding="utf-8"))
    settings |= {"name": ORGANISATION, "handbook_title": HANDBOOK_TITLE, "description": DESCRIPTION}
    organisation.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")

    charter = yaml.safe_load((EXAMPLE_GOVERNANCE / "agents/docs-qa.yaml").read_text())
    charter |= {"id": "hostile", "name": CHARTER_NAME, "description": CHARTER_DESCRIPTION}
    (root / "governance/agents/hostile.yaml").write_text(yaml.safe_dump(charter, sort_keys=False))

    metrics = root / "governance/metrics.yaml"
    text = metrics.read_text(encoding="utf-8")
    for old, new in [
        ("    name: Cost per task\n", "    name: Cost per task ($)\n"),
        ("    unit: USD\n", f"    unit: '{MATH_UNIT}'\n"),
        ("    unit: seconds\n", f"    unit: '{BROKEN_MATH_UNIT}'\n"),
    ]:
        assert old in text, old
        text = text.replace(old, new, 1)
    metrics.write_text(text, encoding="utf-8")

    config = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    assert "\nsite_description:" in config and "\ncopyright:" not in config
    lines = [line for line in config.splitlines() if not line.startswith("site_description:")]
    (root / "mkdocs.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def run_monitor(root: Path) -> Path:
    """Seeded events and one monitor run, so that agent pages get trend charts; returns the state."""
    events, state = root / "events.parquet", root / ".govkit/monitor.db"
    for command in [
        ["events", "generate", "--out", str(events), "--now", NOW],
        ["monitor", "run", "--events", str(events), "--state", str(state), "--now", NOW],
    ]:
        result = run_govkit(*command, cwd=root)
        assert result.returncode == 0, result.stdout + result.stderr
    return state


def build(root: Path, builder: str, site_dir: str, *extra: str) -> Path:
    result = run_govkit(
        "build", "--builder", builder, "--site-dir", site_dir, "--today", TODAY, *extra, cwd=root
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return root / site_dir
