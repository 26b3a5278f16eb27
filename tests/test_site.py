"""End to end: `govkit build` with both builders, the HTML a reader sees, and atomic replacement."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXAMPLE_GOVERNANCE, REPO, TODAY

HOSTILE_NAME = "<script>alert(1)</script>"
pytestmark = pytest.mark.slow


def run_govkit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "playbook", *args], cwd=cwd, capture_output=True, text=True
    )


def make_workspace(root: Path) -> Path:
    """The example organisation plus a charter whose name and description are hostile HTML."""
    shutil.copytree(EXAMPLE_GOVERNANCE, root / "governance")
    charter = yaml.safe_load((EXAMPLE_GOVERNANCE / "agents/docs-qa.yaml").read_text())
    charter |= {
        "id": "hostile",
        "name": HOSTILE_NAME,
        "description": "<img src=x onerror=alert(2)> | *not emphasis*",
    }
    (root / "governance/agents/hostile.yaml").write_text(yaml.safe_dump(charter, sort_keys=False))
    return root


def builders() -> list[str]:
    found = ["mkdocs"]
    if importlib.util.find_spec("zensical") is not None:
        found.append("zensical")
    return found


@pytest.fixture(scope="module", params=builders())
def site(request, tmp_path_factory) -> Path:
    root = make_workspace(tmp_path_factory.mktemp(request.param))
    result = run_govkit(
        "build", "--builder", request.param, "--site-dir", "site", "--today", TODAY, cwd=root
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "Handbook built: site/index.html"
    return root / "site"


def page(site: Path, path: str) -> str:
    return (site / path / "index.html").read_text(encoding="utf-8")


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_agent_pages_show_their_owners(site):
    for charter_file in (EXAMPLE_GOVERNANCE / "agents").glob("*.yaml"):
        charter = yaml.safe_load(charter_file.read_text())
        html = page(site, f"agents/{charter['id']}")
        for person in charter["owners"].values():
            assert person["name"] in html
            assert f'href="mailto:{person["email"]}"' in html


def test_all_five_tiers_have_a_page(site):
    names = ["Read-only", "Low-impact write", "Customer-facing", "Financial/production"]
    names.append("Privileged/security")
    for number, name in enumerate(names):
        assert f"Tier {number}: {name}" in text_of(page(site, f"tiers/tier-{number}"))


def test_all_five_operating_models_are_compared(site):
    models = yaml.safe_load((EXAMPLE_GOVERNANCE / "operating-models.yaml").read_text())
    html = page(site, "operating-models")
    for model in models["operating_models"]:
        assert f'id="{model["id"]}"' in html
        assert model["name"] in html


def test_rollout_shows_five_dated_phases_and_the_gantt_chart(site):
    text = text_of(page(site, "rollout"))
    for dates in [
        "2026-10-05 to 2026-10-18",
        "2026-10-19 to 2026-11-01",
        "2026-11-02 to 2026-11-15",
        "2026-11-16 to 2026-12-13",
        "2026-12-14 to 2027-01-03",
    ]:
        assert dates in text
    assert "gantt" in page(site, "rollout")


def test_hostile_text_is_shown_never_run(site):
    for html_file in site.rglob("*.html"):
        html = html_file.read_text(encoding="utf-8")
        assert HOSTILE_NAME not in html, html_file
        assert "<img src=x" not in html, html_file
    agent = page(site, "agents/hostile")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in agent
    assert "*not emphasis*" in text_of(agent)


def test_hand_written_docs_are_included_and_never_written(site):
    assert "guide" in {p.name for p in site.iterdir()}
    generated = {"index.md", "rollout.md", "roles.md", "agents", "tiers"}
    assert not generated & {p.name for p in (REPO / "docs").iterdir()}


@pytest.fixture
def built(tmp_path) -> Path:
    root = make_workspace(tmp_path)
    assert run_govkit("build", "--site-dir", "site", "--today", TODAY, cwd=root).returncode == 0
    return root


def test_failed_validation_keeps_the_previous_site(built):
    before = (built / "site/index.html").read_bytes()
    charter = built / "governance/agents/refunds.yaml"
    charter.write_text(charter.read_text().replace("tier: 3", "tier: three"))

    result = run_govkit("build", "--site-dir", "site", "--today", TODAY, cwd=built)

    assert result.returncode == 2
    assert "governance/agents/refunds.yaml" in result.stderr
    assert "Traceback" not in result.stderr
    assert (built / "site/index.html").read_bytes() == before


def test_failed_builder_keeps_the_previous_site(built):
    before = sorted(p.relative_to(built) for p in (built / "site").rglob("*"))
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text().split("markdown_extensions:")[0])
    config["theme"] = {"name": "no-such-theme"}
    (built / "mkdocs.yml").write_text(yaml.safe_dump(config))
    shutil.copytree(REPO / "docs", built / "docs")

    result = run_govkit("build", "--site-dir", "site", "--today", TODAY, cwd=built)

    assert result.returncode == 2
    assert "the site builder failed" in result.stderr
    assert "the previous site was kept" in result.stderr
    assert sorted(p.relative_to(built) for p in (built / "site").rglob("*")) == before
    assert not list(built.glob(".govkit-stage-*"))
