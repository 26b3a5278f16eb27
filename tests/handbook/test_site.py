"""End to end: `govkit build` with both builders, the HTML a reader sees, and atomic replacement.

The workspace is hostile throughout (`tests.hostile`): the organisation's values, a charter and
metric units; its monitor state gives the agent pages their trend charts.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXAMPLE_GOVERNANCE, REPO, TODAY
from tests.hostile import (
    BROKEN_MATH_UNIT,
    CHARTER_NAME,
    DESCRIPTION,
    HANDBOOK_TITLE,
    MATH_UNIT,
    ORGANISATION,
    build,
    make_workspace,
    run_govkit,
    run_monitor,
)
from tests.processes import processes_mentioning, running_in_group, wait_for

HOSTILE_NAME = CHARTER_NAME
pytestmark = pytest.mark.slow


def builders() -> list[str]:
    found = ["mkdocs"]
    if importlib.util.find_spec("zensical") is not None:
        found.append("zensical")
    return found


@pytest.fixture(scope="module")
def workspace_with_state(tmp_path_factory) -> Path:
    root = make_workspace(tmp_path_factory.mktemp("hostile"))
    run_monitor(root)  # the default --state of `govkit build`
    return root


@pytest.fixture(scope="module", params=builders())
def site(request, workspace_with_state) -> Path:
    site_dir = f"site-{request.param}"
    result = run_govkit(
        "build", "--builder", request.param, "--site-dir", site_dir, "--today", TODAY,
        cwd=workspace_with_state,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"Handbook built: {site_dir}/index.html"
    return workspace_with_state / site_dir


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

    result = run_govkit("build", "--site-dir", "site", "--today", TODAY, cwd=built)

    assert result.returncode == 2
    assert "the site builder failed" in result.stderr
    assert "the previous site was kept" in result.stderr
    assert sorted(p.relative_to(built) for p in (built / "site").rglob("*")) == before
    assert not list(built.glob(".govkit-stage-*"))


VOID_ELEMENTS = frozenset({"meta", "link", "img", "input", "br", "hr", "source", "wbr", "area"})


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    parts: list[str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())


class Page(HTMLParser):
    """Every element of a page with its attributes and text, entities decoded as a browser does."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.elements.append(element)
        if tag not in VOID_ELEMENTS:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index].tag == tag:
                for element in self._open[index:]:
                    element.text = " ".join("".join(element.parts).split())
                del self._open[index:]
                return

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.parts.append(data)

    def find(self, tag: str, css_class: str | None = None, **attrs: str) -> list[Element]:
        return [
            element
            for element in self.elements
            if element.tag == tag
            and (css_class is None or css_class in element.classes)
            and all(element.attrs.get(name) == value for name, value in attrs.items())
        ]


def test_item_01_organisation_values_are_text_in_both_builders(site):
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 20
    for path in pages:
        html = Page(path.read_text(encoding="utf-8"))
        where = path.relative_to(site)
        # Nothing that came from YAML became markup ...
        assert not html.find("img", src="x"), where
        assert not [s for s in html.find("script") if "__xss" in s.text or "alert" in s.text]
        assert not [e for e in html.elements if any(name.startswith("on") for name in e.attrs)]
        # ... and each value shows as its own text: site_name, site_description, copyright.
        title = html.find("title")[0]  # the document's (each dashboard sparkline has its own)
        assert title.text == HANDBOOK_TITLE or title.text.endswith(f" - {HANDBOOK_TITLE}"), where
        assert html.find("div", "md-header__topic")[0].text == HANDBOOK_TITLE, where
        assert {a.attrs["aria-label"] for a in html.find("a", "md-logo")} == {HANDBOOK_TITLE}
        (description,) = html.find("meta", name="description")
        assert description.attrs["content"] == DESCRIPTION, where
        (copyright_notice,) = html.find("div", "md-copyright__highlight")
        assert copyright_notice.text == f"© {ORGANISATION}", where
    home = Page(page(site, "."))
    assert CHARTER_NAME in {link.text for link in home.find("a", "md-nav__link")}
    assert home.find("h1")[0].text.startswith(HANDBOOK_TITLE)
    assert DESCRIPTION in {paragraph.text for paragraph in home.find("p")}


def _svg_texts(svg: Path) -> list[str]:
    root = ET.fromstring(svg.read_text(encoding="utf-8"))
    return ["".join(text.itertext()) for text in root.iter("{http://www.w3.org/2000/svg}text")]


def test_item_17_site_builds_with_math_like_units(site):
    # docs-qa monitors latency_s (unit "$\\x$": invalid mathtext) and cost_per_task ("$ and 50% $").
    charts = site / "assets/charts/docs-qa"
    latency, cost = _svg_texts(charts / "latency_s.svg"), _svg_texts(charts / "cost_per_task.svg")
    assert BROKEN_MATH_UNIT in latency
    assert MATH_UNIT in cost
    charter = yaml.safe_load((EXAMPLE_GOVERNANCE / "agents/docs-qa.yaml").read_text())
    assert f"{charter['name']}: Cost per task ($)" in cost
    agent = page(site, "agents/docs-qa")
    assert "assets/charts/docs-qa/cost_per_task.svg" in agent


SLOW_HOOK = """
import os
import pathlib
import time


def on_pre_build(config):
    pathlib.Path(os.environ["GOVKIT_TEST_BUILDER_READY"]).write_text(str(os.getpid()))
    time.sleep(300)
"""


@pytest.fixture(scope="module")
def killable(tmp_path_factory) -> Path:
    """A workspace with a built site and a configuration whose builder waits until stopped."""
    root = make_workspace(tmp_path_factory.mktemp("killable"))
    build(root, "mkdocs", "site")
    (root / "slow_hook.py").write_text(SLOW_HOOK, encoding="utf-8")
    config = (root / "mkdocs.yml").read_text(encoding="utf-8")
    (root / "slow.yml").write_text(f"{config}hooks:\n  - {root / 'slow_hook.py'}\n")
    return root


def _fingerprint(site: Path) -> dict[str, str]:
    return {
        path.relative_to(site).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(site.rglob("*"))
        if path.is_file()
    }


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize(
    ("stop", "exit_code", "message"),
    [
        ("SIGTERM", 143, "stopped by SIGTERM; the previous site was kept"),
        ("SIGHUP", 129, "stopped by SIGHUP; the previous site was kept"),
        ("SIGINT", None, ""),  # KeyboardInterrupt: the command line's own exit code for Ctrl-C
        ("SIGKILL", -9, ""),
    ],
)
def test_item_13_build_killed_leaves_no_orphan_or_stage(
    killable, tmp_path, stop, exit_code, message
):
    site_before = _fingerprint(killable / "site")
    ready = tmp_path / "builder-started"
    govkit = subprocess.Popen(
        [sys.executable, "-m", "playbook", "build", "--config", "slow.yml", "--site-dir", "site",
         "--today", TODAY],
        cwd=killable, env=dict(os.environ, GOVKIT_TEST_BUILDER_READY=str(ready)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert wait_for(ready.exists, timeout=120)
        builder = int(ready.read_text())
        (stage,) = killable.glob(".govkit-stage-*")
        staged_config = str(stage / "mkdocs.yml")
        assert builder in processes_mentioning(staged_config)
        assert os.getpgid(builder) == builder != os.getpgid(govkit.pid)  # a group of its own

        govkit.send_signal(getattr(signal, stop))
        _, stderr = govkit.communicate(timeout=60)
    finally:
        if govkit.poll() is None:
            govkit.kill()
            govkit.communicate()

    assert (govkit.returncode == exit_code) if exit_code else (govkit.returncode > 0), stderr
    assert message in stderr
    assert "Traceback" not in stderr
    assert wait_for(lambda: not processes_mentioning(staged_config), timeout=15)
    assert wait_for(lambda: not running_in_group(builder), timeout=15)
    assert _fingerprint(killable / "site") == site_before
    if stop == "SIGKILL":  # nothing could clean up: the next run removes the stage directory
        assert stage.is_dir()
        build(killable, "mkdocs", "site")
    assert not list(killable.glob(".govkit-stage-*"))
