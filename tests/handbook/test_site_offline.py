"""`govkit build --offline`: a handbook that works opened as files, built the same every time
(issue 14, item 7).

The demo's inputs (seeded events, one monitor run, both pinned to one moment) are built twice
with `--offline --now`, as `make demo` does: the two sites must be byte for byte the same, every
link inside them must name a file that exists, and Chromium, opening `index.html` from the disk
with every network request refused, must reach an agent page with its charts, the rollout gantt
and search results.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from playbook.handbook.site import stage
from playbook.handbook.site_config import IFRAME_WORKER_ASSET
from playbook.policy import load_governance
from tests.conftest import EXAMPLE_GOVERNANCE, REPO

pytestmark = pytest.mark.slow

NOW = "2026-11-24T12:00:00Z"
LINK = re.compile(r'(?:href|src)="([^"]*)"')


def run(*args: str, cwd: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "playbook", *args, "--governance", str(EXAMPLE_GOVERNANCE)],
        cwd=cwd, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("offline")
    events, state = root / "events.parquet", root / "monitor.db"
    run("events", "generate", "--out", str(events), "--now", NOW, cwd=root)
    run("monitor", "run", "--events", str(events), "--state", str(state), "--now", NOW, cwd=root)
    for site in ("site-a", "site-b"):
        run("build", "--site-dir", site, "--state", str(state), "--now", NOW, "--offline", cwd=root)
    return root / "site-a", root / "site-b"


def files(site: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(site)): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()
    }


def test_two_builds_of_the_same_inputs_are_identical(sites):
    first, second = (files(site) for site in sites)
    assert first.keys() == second.keys()
    differing = [name for name in first if first[name] != second[name]]
    assert differing == []


def internal_links(html_file: Path) -> list[str]:
    links = []
    for target in LINK.findall(html_file.read_text(encoding="utf-8")):
        parts = urlsplit(target)
        if parts.scheme or parts.netloc or not parts.path:  # http(s), mailto, data, #anchor
            continue
        links.append(unquote(parts.path))
    return links


def test_every_link_names_a_file_that_exists(sites):
    site, _ = sites
    # 404.html links from the root ("/assets/..."): a server shows it at any depth; on the disk
    # nothing opens it.
    pages = sorted(page for page in site.rglob("*.html") if page.name != "404.html")
    assert (site / "agents" / "refunds.html").is_file()
    broken, directories = [], []
    for page in pages:
        for link in internal_links(page):
            target = (page.parent / link).resolve()
            if link.endswith("/") or target.is_dir():
                directories.append(f"{page.relative_to(site)}: {link}")
            elif not target.is_file():
                broken.append(f"{page.relative_to(site)}: {link}")
    assert directories == []  # a file:// directory link shows a listing, not a page
    assert broken == []


def test_search_and_scripts_need_no_network(sites):
    site, _ = sites
    assert (site / "search" / "search_index.js").is_file()  # the index, inlined for file://
    assert (site / IFRAME_WORKER_ASSET).is_file()
    assert (site / "assets/govkit/mermaid.min.js").is_file()
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "unpkg.com" not in text and "cdn.jsdelivr" not in text, page


def test_offline_is_staged_never_written_into_mkdocs_yml(tmp_path):
    governance = load_governance(EXAMPLE_GOVERNANCE)
    before = (REPO / "mkdocs.yml").read_bytes()
    config, _ = stage(
        governance, config_path=REPO / "mkdocs.yml", staging_dir=tmp_path / "stage",
        site_dir=tmp_path / "site", today=date(2026, 11, 24), offline=True,
    )  # fmt: skip
    staged = yaml.load(config.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    assert staged["use_directory_urls"] == "false"
    assert "offline" in staged["plugins"] and "search" in staged["plugins"]
    assert staged["extra"]["polyfills"] == [IFRAME_WORKER_ASSET]
    assert (REPO / "mkdocs.yml").read_bytes() == before


# --- in a browser, from the disk -------------------------------------------------------------


@pytest.fixture
def offline_page(browser):
    """A page that may load files only: every other request is refused and recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    refused: list[str] = []
    errors: list[str] = []

    def only_files(route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", only_files)
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert refused == []
    assert errors == []


@pytest.mark.browser
def test_from_the_disk_navigation_reaches_an_agent_page_and_its_charts(offline_page, sites):
    site, _ = sites
    page = offline_page
    page.goto((site / "index.html").as_uri())
    page.locator("nav.md-nav--primary").get_by_role("link", name="Refunds").first.click()
    page.wait_for_url("**/agents/refunds.html")
    charts = page.locator('article img[src*="assets/charts"]')
    assert charts.count() > 0
    for index in range(charts.count()):
        chart = charts.nth(index)
        chart.scroll_into_view_if_needed()
        page.wait_for_function("(img) => img.complete", arg=chart.element_handle())
        assert chart.evaluate("(img) => img.naturalWidth") > 0, "broken chart image"


@pytest.mark.browser
def test_from_the_disk_search_answers(offline_page, sites):
    site, _ = sites
    page = offline_page
    page.goto((site / "index.html").as_uri())
    box = page.locator("input.md-search__input")
    box.click()
    box.press_sequentially("Delgado", delay=30)  # an owner's name: on her agent's page
    results = page.locator(".md-search-result__item a.md-search-result__link")
    results.first.wait_for(state="visible", timeout=15_000)
    hrefs = [results.nth(i).get_attribute("href") or "" for i in range(results.count())]
    assert any("agents/support-replies.html" in href for href in hrefs), hrefs


@pytest.mark.browser
def test_from_the_disk_the_gantt_chart_renders(offline_page, sites):
    site, _ = sites
    page = offline_page
    page.add_init_script(  # Material draws diagrams in a closed shadow root: open it to look
        "const attach = Element.prototype.attachShadow; Element.prototype.attachShadow ="
        " function (init) { return attach.call(this, { ...init, mode: 'open' }); };"
    )
    page.goto((site / "rollout.html").as_uri())
    chart = page.locator(".mermaid svg").first
    chart.wait_for(state="visible", timeout=15_000)
    assert chart.bounding_box()["height"] > 50


def test_make_demo_builds_offline_at_one_pinned_moment():
    make = shutil.which("make")
    if make is None:
        pytest.skip("no make")
    dry_run = subprocess.run([make, "-n", "demo"], cwd=REPO, capture_output=True, text=True)
    commands = [line for line in dry_run.stdout.splitlines() if "bin/govkit " in line]
    pinned = {line.split("bin/govkit ")[1].split(" --")[0]: line for line in commands}
    for command in ("events generate", "monitor run", "build"):
        assert f"--now {NOW}" in pinned[command], pinned
    assert "--offline" in pinned["build"]
    assert "--today 2026-11-24" in pinned["check"]
