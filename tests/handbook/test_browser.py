"""The built handbook works in a real browser: navigation, the Mermaid rollout chart and search;
and hostile YAML values show as text, never run, with either builder.

Builds the example handbook once (and the hostile one of `tests.hostile` once per builder), serves
it from 127.0.0.1 and drives headless Chromium through Playwright. Skipped when Playwright or a
`chromium` executable is missing.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests import hostile
from tests.handbook.browsing import REPO, build_demo_site, serving

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip("no chromium executable on PATH", allow_module_level=True)

pytestmark = pytest.mark.browser

FORCE_OPEN_SHADOW_ROOTS = """
const attachShadow = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) {
  return attachShadow.call(this, { ...init, mode: "open" });
};
"""


@pytest.fixture(scope="module")
def example_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example handbook, built once after a monitor run on the demo events (as `make demo`
    does, with `--now` and `--today` pinned)."""
    return build_demo_site(REPO / "governance", tmp_path_factory.mktemp("browser"))


@pytest.fixture(scope="module")
def site_url(example_site: Path) -> Iterator[str]:
    """The example handbook served over HTTP; yields the base URL."""
    with serving(example_site) as url:
        yield url


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


# --- the handbook as an operations surface (issue 14) -----------------------------------------

VIEWPORT_HEIGHT = 900
# Screenshots a reviewer can look at (kept as CI artifacts; .gitignore'd).
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
MEASURE_TABLES = """() => [...document.querySelectorAll('article .md-typeset__table')].map(t => ({
  width: t.getBoundingClientRect().width,
  container: t.parentElement.clientWidth,
  scrolls: t.querySelector('table').scrollWidth > t.querySelector('table').clientWidth + 1,
}))"""
# Pages whose columns were chosen to fit: their tables must not even need to scroll.
FITTED = {"", "monitor/", "monitor/alerts/", "agents/", "agents/refunds/", "rollout/", "roles/"}


def _pages_of(site_dir: Path) -> list[str]:
    """Every page of the built site, as paths relative to its root ("" for the home page)."""
    pages = []
    for index in sorted(site_dir.rglob("index.html")):
        relative = index.parent.relative_to(site_dir).as_posix()
        if relative.split("/")[0] not in {"assets", "search"}:
            pages.append("" if relative == "." else f"{relative}/")
    return pages


def _within_first_viewport(locator: sync_api.Locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["height"] > 0 and box["y"] + box["height"] <= VIEWPORT_HEIGHT


def _relative_luminance(rgb: str) -> float:
    channels = [int(c) / 255 for c in re.findall(r"[\d.]+", rgb)[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(foreground: str, background: str) -> float:
    lighter, darker = sorted(map(_relative_luminance, (foreground, background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_home_status_strip_shows_the_planted_alerts_in_the_first_viewport(
    page: sync_api.Page, site_url: str
):
    page.goto(f"{site_url}/")
    strip = page.locator("article .govkit-strip")
    assert _within_first_viewport(strip), strip.bounding_box()
    critical = strip.locator(".govkit-badge--critical", has_text="critical")
    sync_api.expect(critical).to_have_count(1)
    assert int(critical.inner_text().split()[0]) >= 1  # the refunds stop condition
    warning = strip.locator(".govkit-badge--warning", has_text="warning")
    assert int(warning.inner_text().split()[0]) >= 2  # the two planted drifts
    sync_api.expect(strip).to_contain_text("stop condition")
    sync_api.expect(strip).to_contain_text("2026-11-24 12:00 UTC")
    sync_api.expect(strip).to_contain_text("Build evals before widening access")  # late phase
    strip.get_by_role("link", name="alerts").click()
    page.wait_for_url("**/monitor/alerts/")


def test_refunds_page_opens_with_its_stop_condition_admonition(page: sync_api.Page, site_url: str):
    page.goto(f"{site_url}/agents/refunds/")
    first = page.locator("article .admonition").first
    assert "danger" in (first.get_attribute("class") or "")
    assert _within_first_viewport(first), first.bounding_box()
    sync_api.expect(first).to_contain_text("Rollback rate")
    sync_api.expect(first).to_contain_text("escalate")
    sync_api.expect(first).to_contain_text("Oliver Brandt")
    assert "StopCondition" in (first.locator("details").text_content() or "")
    sync_api.expect(first.locator("details")).not_to_have_attribute("open", "")  # collapsed


def test_no_table_is_wider_than_its_container_on_any_page(
    browser: sync_api.Browser, site_url: str, example_site: Path
):
    context = browser.new_context(viewport={"width": 1280, "height": VIEWPORT_HEIGHT})
    page = context.new_page()  # no failed-request check: leaving a page aborts its favicon
    # Tables do not depend on diagrams, charts or search: skip loading them, page after page.
    page.route(
        re.compile(r".*(mermaid\.min\.js|\.svg|\.png|search_index\.json)$"), lambda r: r.abort()
    )
    pages = _pages_of(example_site)
    assert len(pages) > 20
    too_wide, scrolling = [], []
    for path in pages:
        page.goto(f"{site_url}/{path}")
        for table in page.evaluate(MEASURE_TABLES):
            if table["width"] > table["container"] + 0.5:
                too_wide.append((path, table))
            if table["scrolls"]:
                scrolling.append(path)
    context.close()
    assert not too_wide, too_wide
    assert not set(scrolling) & FITTED, scrolling  # the rest may scroll, first column sticky


def test_badges_meet_aa_contrast_and_the_dark_mode_toggle_switches(
    page: sync_api.Page, site_url: str
):
    page.goto(f"{site_url}/monitor/")
    assert page.evaluate("document.body.dataset.mdColorScheme") == "default"
    colours = """() => [...document.querySelectorAll('.govkit-badge:not(.govkit-badge--neutral)')]
        .map(b => [getComputedStyle(b).color, getComputedStyle(b).backgroundColor])"""
    light = page.evaluate(colours)
    assert light and min(_contrast(*pair) for pair in light) >= 4.5, light

    page.locator('form[data-md-component="palette"] label:visible').first.click()
    page.wait_for_function("document.body.dataset.mdColorScheme === 'slate'")
    dark = page.evaluate(colours)
    assert min(_contrast(*pair) for pair in dark) >= 4.5, dark
    page.reload()  # the choice is kept
    assert page.evaluate("document.body.dataset.mdColorScheme") == "slate"


def test_an_agent_page_prints_as_an_audit_record(page: sync_api.Page, site_url: str):
    page.goto(f"{site_url}/agents/refunds/")
    page.emulate_media(media="print")
    for hidden in [".md-header", ".md-sidebar--primary", ".md-footer"]:
        sync_api.expect(page.locator(hidden).first).to_be_hidden()
    statistics = page.locator("article .admonition details").first
    assert statistics.get_attribute("open") is None  # printed open by the stylesheet alone
    box = statistics.locator("ul").bounding_box()
    assert box is not None and box["height"] > 0
    article = page.locator("article")
    for kept in ["Owners", "Stop conditions", "Limits now", "Oliver Brandt"]:
        sync_api.expect(article).to_contain_text(kept)
    assert article.locator('img[src*="assets/charts"]').count() >= 4


def test_screenshots_for_review(browser: sync_api.Browser, site_url: str):
    """Home, dashboard and an agent page at 1280x900, light, for a reviewer (CI artifacts)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": VIEWPORT_HEIGHT})
    page = context.new_page()
    try:
        for name, path in [("home", ""), ("dashboard", "monitor/"), ("refunds", "agents/refunds/")]:
            page.goto(f"{site_url}/{path}")
            page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
            page.screenshot(path=str(SCREENSHOTS / f"{name}-full.png"), full_page=True)
    finally:
        context.close()
    assert all((SCREENSHOTS / f"{name}.png").stat().st_size > 10_000 for name in ["home"])


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
