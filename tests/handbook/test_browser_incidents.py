"""The incident register in a real browser: the register renders with the monitor's verification,
and a serious incident's Art. 73 countdown runs against the browser's clock (its deadline stays
readable with JavaScript off).

Builds the example organisation, plus one serious incident, after a monitor run on the demo
events; serves it from 127.0.0.1 and drives Debian's headless Chromium through Playwright.
Skipped when Playwright or a `chromium` executable is missing.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip("no chromium executable on PATH", allow_module_level=True)

from tests.handbook.browsing import REPO, build_demo_site, serving  # noqa: E402

pytestmark = pytest.mark.browser

SERIOUS = """\
id: 2026-11-21-refunds-wrong-account
title: Refund prepared to another account
date: "2026-11-21"
aware: "2026-11-22"
agents: [refunds]
severity: sev1
summary: A refund was prepared to an account that was not the original payment method.
impact: One customer's money would have gone elsewhere; stopped at the approval.
serious: true
actions:
  - id: lock-payout-account
    description: Lock the payout account to the original payment method.
    owner: agent_owner
    due: "2026-11-28"
    verify: {metric: task_success_rate, above: 0.9, for: 7d}
"""


@pytest.fixture(scope="module")
def site_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("incidents")
    governance = root / "governance"
    shutil.copytree(REPO / "governance", governance)
    (governance / "incidents" / "2026-11-21-refunds-wrong-account.yaml").write_text(SERIOUS)
    site = build_demo_site(governance, root)
    with serving(site) as url:
        yield url


def open_page(browser: sync_api.Browser, **options: object) -> tuple[object, sync_api.Page, list]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return context, page, errors


def test_register_renders_open_first_with_verification(browser, site_url):
    context, page, errors = open_page(browser)
    page.goto(f"{site_url}/incidents/")

    rows = page.locator("article table").first.locator("tbody tr")
    sync_api.expect(rows).to_have_count(3)
    sync_api.expect(rows.nth(0)).to_contain_text("Refund prepared to another account")
    sync_api.expect(rows.nth(0)).to_contain_text("sev1")
    sync_api.expect(rows.nth(1)).to_contain_text("Refunds prepared for partial shipments")
    sync_api.expect(rows.nth(2)).to_contain_text("closed")
    sync_api.expect(rows.nth(2)).to_contain_text("1 of 1")
    action = page.locator("article tr", has_text="route-chargebacks-away")
    sync_api.expect(action).to_contain_text("verified")  # by the monitor, on the demo events
    page.locator("nav.md-nav--primary").get_by_role("link", name="Incidents").first.wait_for()
    context.close()
    assert not errors, errors


def test_art_73_countdown_counts_down_against_the_browser_clock(browser, site_url):
    context, page, errors = open_page(browser)
    page.clock.install(time=datetime(2026, 11, 29, 20, 30, tzinfo=UTC))
    page.goto(f"{site_url}/incidents/")

    countdown = page.locator(".govkit-countdown")
    assert countdown.get_attribute("data-deadline") == "2026-12-08T00:00:00Z"
    sync_api.expect(countdown).to_have_text("8 days 3 hours left")
    page.clock.run_for("02:00:00")
    sync_api.expect(countdown).to_have_text("8 days 1 hour left")
    sync_api.expect(page.locator("article")).to_contain_text(
        "Report to the market surveillance authority by the end of 2026-12-07 (UTC), 15 days "
        "from awareness on 2026-11-22"
    )
    context.close()
    assert not errors, errors


def test_a_passed_deadline_says_overdue(browser, site_url):
    context, page, errors = open_page(browser)
    page.clock.install(time=datetime(2026, 12, 9, 0, 0, tzinfo=UTC))
    page.goto(f"{site_url}/agents/refunds/")  # the agent page counts down too

    countdown = page.locator(".govkit-countdown")
    sync_api.expect(countdown).to_have_text("overdue by 1 day 0 hours")
    assert "govkit-countdown--overdue" in (countdown.get_attribute("class") or "")
    context.close()
    assert not errors, errors


def test_the_deadline_is_readable_without_javascript(browser, site_url):
    context, page, _ = open_page(browser, java_script_enabled=False)
    page.goto(f"{site_url}/incidents/")

    sync_api.expect(page.locator(".govkit-countdown")).to_have_text("due 2026-12-07")
    context.close()
