"""The built handbook works in a real browser: navigation, the Mermaid rollout chart and search;
and hostile YAML values show as text, never run, with either builder.

Builds the example handbook once (and the hostile one of `tests.hostile` once per builder), serves
it from 127.0.0.1 and drives headless Chromium through Playwright. Skipped when Playwright or a
`chromium` executable is missing.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import importlib.util
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests import hostile

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip("no chromium executable on PATH", allow_module_level=True)

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
TODAY = "2026-11-24"
NOW = "2026-11-24T12:00:00Z"  # the demo events plant a stop-condition breach for refunds
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FORCE_OPEN_SHADOW_ROOTS = """
const attachShadow = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) {
  return attachShadow.call(this, { ...init, mode: "open" });
};
"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serving(site: Path) -> Iterator[str]:
    """Serve a built site over HTTP from 127.0.0.1; yields the base URL."""
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def site_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Build the example handbook once and serve it over HTTP; yields the base URL."""
    root = tmp_path_factory.mktemp("browser")
    site, events, state = root / "site", root / "events.parquet", root / "monitor.db"
    governance = str(REPO / "governance")
    for command in [
        ["events", "generate", "--out", str(events), "--now", NOW],
        ["monitor", "run", "--events", str(events), "--state", str(state), "--now", NOW],
        ["build", "--site-dir", str(site), "--state", str(state), "--today", TODAY],
    ]:
        run = subprocess.run(
            [sys.executable, "-m", "playbook", *command, "--governance", governance],
            cwd=REPO, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert run.returncode == 0, run.stdout + run.stderr
    with serving(site) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[sync_api.Browser]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: sync_api.Browser, site_url: str) -> Iterator[sync_api.Page]:
    """A fresh page that fails the test if any request to the served site fails or errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    failures: list[str] = []
    console_errors: list[str] = []

    def record_failed_response(response: sync_api.Response) -> None:
        if response.status >= 400:
            failures.append(f"{response.url}: HTTP {response.status}")

    def record_console_error(message: sync_api.ConsoleMessage) -> None:
        if message.type == "error":
            console_errors.append(message.text)

    page.on("requestfailed", lambda request: failures.append(f"{request.url}: {request.failure}"))
    page.on("response", record_failed_response)
    page.on("console", record_console_error)
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    yield page
    context.close()
    own_failures = [failure for failure in failures if failure.startswith(site_url)]
    assert not own_failures, f"requests to the handbook failed: {own_failures}"
    assert not console_errors, f"browser console errors: {console_errors}"


def test_navigation_reaches_an_agent_page_with_its_owner(page: sync_api.Page, site_url: str):
    page.goto(f"{site_url}/")
    page.locator("nav.md-nav--primary").get_by_role("link", name="Support replies").click()

    page.wait_for_url("**/agents/support-replies/")
    assert page.url.endswith("/agents/support-replies/")
    sync_api.expect(page.locator("article")).to_contain_text("Rosa Delgado")


def test_rollout_gantt_chart_renders_as_svg(page: sync_api.Page, site_url: str):
    rollout = yaml.safe_load((REPO / "governance" / "rollout.yaml").read_text(encoding="utf-8"))
    first_phase = rollout["phases"][0]["name"]  # "Pick a bounded first workflow"
    distinctive_word = max(first_phase.split(), key=len)
    # Material renders each diagram into a *closed* shadow root, which no selector can reach;
    # open it so the test can read the SVG (rendering is otherwise unchanged).
    page.add_init_script(FORCE_OPEN_SHADOW_ROOTS)

    with page.expect_response("**/assets/govkit/mermaid.min.js") as mermaid_script:
        page.goto(f"{site_url}/rollout/")
    assert mermaid_script.value.ok, "the vendored mermaid.min.js did not load"
    chart = page.locator(".mermaid svg").first
    chart.wait_for(state="visible", timeout=15_000)

    labels = " ".join(chart.locator("text").all_text_contents())
    assert distinctive_word in labels, labels
    assert chart.bounding_box()["height"] > 50


def test_search_finds_an_agent_by_its_owner_name(page: sync_api.Page, site_url: str):
    page.goto(f"{site_url}/")
    search_box = page.locator("input.md-search__input")  # visible in the header at desktop width
    search_box.click()
    # Material runs the query on key events; fill() alone leaves "Type to start searching".
    search_box.press_sequentially("Delgado", delay=30)

    page.locator(".md-search-result__item").first.wait_for(state="visible", timeout=15_000)
    result_links = page.locator(".md-search-result__item a.md-search-result__link")
    hrefs = [result_links.nth(i).get_attribute("href") for i in range(result_links.count())]
    assert any("agents/support-replies" in (href or "") for href in hrefs), hrefs


def test_dashboard_lists_the_planted_alert_first(page: sync_api.Page, site_url: str):
    page.goto(f"{site_url}/monitor/")
    first_row = page.locator("article table tbody tr").first
    sync_api.expect(first_row).to_contain_text("Refunds")
    sync_api.expect(first_row).to_contain_text("StopCondition")


def test_trend_charts_load(page: sync_api.Page, site_url: str):
    page.goto(f"{site_url}/agents/support-replies/")
    charts = page.locator('article img[src*="assets/charts"]')
    assert charts.count() == 6
    for index in range(charts.count()):
        chart = charts.nth(index)
        chart.scroll_into_view_if_needed()
        page.wait_for_function("(img) => img.complete", arg=chart.element_handle())
        assert chart.evaluate("(img) => img.naturalWidth") > 0, "broken chart image"
        assert chart.get_attribute("alt")


def test_alert_links_to_the_agent_page(page: sync_api.Page, site_url: str):
    page.goto(f"{site_url}/monitor/alerts/")
    row = page.locator("article table tbody tr", has_text="StopCondition").first
    row.get_by_role("link", name="Refunds").click()
    page.wait_for_url("**/agents/refunds/")
    sync_api.expect(page.locator("article")).to_contain_text("Oliver Brandt")


def _builders() -> list[str]:
    return [b for b in ("mkdocs", "zensical") if importlib.util.find_spec(b) is not None]


@pytest.fixture(scope="module", params=_builders())
def hostile_site(request, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The hostile workspace (`tests.hostile`) built with each builder and served over HTTP;
    yields the builder and the base URL."""
    root = hostile.make_workspace(tmp_path_factory.mktemp(f"hostile-{request.param}"))
    with serving(hostile.build(root, request.param, "site")) as url:
        yield request.param, url


def search(page: sync_api.Page, builder: str, query: str) -> sync_api.Locator:
    """Type `query` into the site's search and return the result items once they show."""
    if builder == "zensical":  # a search dialog in a shadow root, opened by a button
        page.locator(".md-search__button").first.click()
        box = page.locator('dialog[aria-label="Search"] input')
        results = page.locator('dialog[aria-label="Search"] ol[role="listbox"] > li')
    else:
        box = page.locator("input.md-search__input")
        results = page.locator(".md-search-result__item")
    box.click()
    box.press_sequentially(query, delay=30)  # both search on key events, not on fill()
    results.first.wait_for(state="visible", timeout=15_000)
    return results


def test_item_01_no_script_runs_from_organisation_values(
    browser: sync_api.Browser, hostile_site: tuple[str, str]
):
    builder, base = hostile_site
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.add_init_script(FORCE_OPEN_SHADOW_ROOTS)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        for path in ["/", "/agents/hostile/", "/agents/refunds/"]:
            page.goto(f"{base}{path}")
            assert page.evaluate("window.__xss") is None, path
            assert page.title().endswith(hostile.HANDBOOK_TITLE), path
            header = page.locator(".md-header__topic").first.inner_text()
            assert header.strip() == hostile.HANDBOOK_TITLE, path
            description = page.locator('meta[name="description"]').get_attribute("content")
            assert description == hostile.DESCRIPTION, path
            notice = page.locator(".md-copyright__highlight").inner_text()
            assert notice.strip() == f"© {hostile.ORGANISATION}", path
        nav = page.locator("nav.md-nav--primary")
        sync_api.expect(nav.get_by_role("link", name=hostile.CHARTER_NAME)).to_have_count(1)

        page.goto(f"{base}/")
        results = search(page, builder, "onerror")  # in the handbook title and a charter
        showing_title = results.filter(has_text=hostile.HANDBOOK_TITLE)
        sync_api.expect(showing_title.first).to_be_visible()
        sync_api.expect(results.filter(has_text=hostile.CHARTER_DESCRIPTION).first).to_be_visible()
        assert page.evaluate("window.__xss") is None, "search results"
    finally:
        context.close()
    assert dialogs == []
