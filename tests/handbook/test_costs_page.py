"""The costs page when the events do not record a spend bucket: the bucket is `n/a`, totals say
they add only what is recorded, and no month is called under budget on spend it cannot see."""

from __future__ import annotations

from tests.handbook.test_status import _render, _spending, governance  # noqa: F401 (fixture)


def _table_row(page: str, starts: str) -> str:
    return next(line for line in page.splitlines() if line.startswith(starts))


def test_a_bucket_the_events_lack_is_na_and_no_month_is_under_budget(governance):  # noqa: F811
    page = _render(governance, _spending(100.0, 100.0, tooling=None))["costs.md"]
    overview = _table_row(page, "| **Organisation** |")
    assert overview.startswith("| **Organisation** | $200 + tooling n/a | $9,600 |")
    assert "not known</span>: tooling spend not recorded |" in overview
    assert "under budget" not in page
    assert _table_row(page, "| 2026-11 | 20 |") == (
        "| 2026-11 | 20 | $11.11 + tooling n/a | $200 + tooling n/a so far | $9,600 | "
        '<span class="govkit-badge govkit-badge--neutral">not known</span>: tooling spend not '
        "recorded |"
    )
    assert (
        "*n/a*: the events have no `tooling_cost_usd` column, so tooling spend is unknown; spend "
        "and cost per success add the buckets that are recorded." in page
    )
    buckets = _table_row(page, "    | 2026-11 | 18 |")
    assert buckets == "    | 2026-11 | 18 | $0.00 | n/a | $11.11 |"


def test_over_budget_still_shows_on_the_buckets_recorded(governance):  # noqa: F811
    page = _render(governance, _spending(6400.0, 3500.0, tooling=None))["costs.md"]
    overview = _table_row(page, "| **Organisation** |")
    assert "$9,900 + tooling n/a" in overview and "over budget</span> by $300" in overview
