"""Trend charts: valid, accessible, deterministic SVG; empty series handled; the text alternative."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta

import matplotlib
import pytest

from playbook.handbook.charts import baseline_band, chart_alt_text, trend_chart_svg

SVG = "{http://www.w3.org/2000/svg}"
START = date(2026, 9, 1)


def _series(days: int = 60, jump_at: int = 50) -> list[dict]:
    points = []
    for index in range(days):
        value = 0.01 + 0.002 * (index % 5) + (0.03 if index >= jump_at else 0.0)
        points.append(
            {"day": (START + timedelta(days=index)).isoformat(), "value": value, "n": 100}
        )
    points[10] = {**points[10], "value": None, "n": 0}  # a day without tasks
    return points


def _options(**changes) -> dict:
    options = {
        "title": "Refunds: Rollback rate",
        "unit": "share of tasks",
        "series": _series(),
        "baseline": (START, START + timedelta(days=28)),
        "recent": (START + timedelta(days=53), START + timedelta(days=60)),
        "band": None,
        "thresholds": [("guardrail max 0.05", 0.05), ("stop above 0.02 (escalate)", 0.02)],
        "alerts": [(START + timedelta(days=51), "StopCondition")],
    }
    return options | changes


def _styles(root: ET.Element) -> list[str]:
    return [path.get("style", "") for path in root.iter(f"{SVG}path")]


def _text(root: ET.Element) -> str:
    return " ".join("".join(t.itertext()) for t in root.iter(f"{SVG}text"))


def test_chart_is_valid_svg_with_title_series_and_thresholds():
    svg = trend_chart_svg(**_options(alerts=[]))  # alert markers share the stop colour
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert (root.get("width"), root.get("height")) == ("640", "240")
    assert root[0].tag == f"{SVG}title"
    assert root[0].text == "Refunds: Rollback rate"
    assert root.find(f"{SVG}desc") is not None
    styles = _styles(root)
    # The series: a polyline in the series colour with many segments.
    series = [p for p in root.iter(f"{SVG}path") if "stroke: #0072b2" in p.get("style", "")]
    assert any(p.get("d", "").count("L") >= 40 for p in series)
    # Threshold lines: stop dashed vermillion, guardrail dotted purple, both named.
    assert any("stroke: #d55e00" in s and "stroke-dasharray" in s for s in styles)
    assert any("stroke: #cc79a7" in s for s in styles)
    text = _text(root)
    assert "guardrail max 0.05" in text
    assert "stop above 0.02" in text
    assert "Refunds: Rollback rate" in text


def test_alert_start_days_are_marked():
    without = _styles(ET.fromstring(trend_chart_svg(**_options(alerts=[]))))
    root = ET.fromstring(trend_chart_svg(**_options()))
    assert len(_styles(root)) > len(without)
    assert "alert" in _text(root).split()
    assert "StopCondition from 2026-10-22" in root.find(f"{SVG}desc").text


def test_same_data_gives_the_same_bytes_and_other_data_does_not():
    first = trend_chart_svg(**_options())
    assert trend_chart_svg(**_options()) == first
    assert trend_chart_svg(**_options(series=_series(jump_at=40))) != first


@pytest.mark.parametrize(
    "series", [[], [{"day": "2026-09-01", "value": None, "n": 0}]], ids=["empty", "no values"]
)
def test_empty_series_renders_a_no_data_chart(series):
    options = _options(series=series, alerts=[])
    root = ET.fromstring(trend_chart_svg(**options))
    assert root[0].text == "Refunds: Rollback rate"
    assert "no data" in _text(root)
    assert not any("stroke: #0072b2" in s for s in _styles(root))
    assert chart_alt_text(**options) == "Refunds: Rollback rate: no data in the period."


def test_threshold_off_the_scale_is_named_not_drawn():
    options = _options(thresholds=[("guardrail max 5", 5.0)], alerts=[])
    root = ET.fromstring(trend_chart_svg(**options))
    assert "guardrail max 5 (5, above the chart)" in " ".join(_text(root).split())


def test_title_is_escaped():
    root = ET.fromstring(trend_chart_svg(**_options(title="Q&A <agent>")))
    assert root[0].text == "Q&A <agent>"


def test_baseline_band_is_mean_plus_minus_two_sd_of_the_baseline_days():
    series = [
        {"day": f"2026-09-0{d}", "value": v, "n": 1} for d, v in [(1, 1.0), (2, 3.0), (3, 9.0)]
    ]
    # The window is half-open: 2026-09-03 is outside.
    assert baseline_band(series, (date(2026, 9, 1), date(2026, 9, 3))) == pytest.approx(
        (0.0, 2.0 + 2 * 2**0.5)  # mean 2, sd sqrt(2); never below 0 for non-negative values
    )
    assert baseline_band(series, (date(2026, 9, 1), date(2026, 9, 2))) is None  # one day
    assert baseline_band(series, None) is None


def test_alt_text_has_the_figures():
    text = chart_alt_text(**_options())
    assert text.startswith(
        "Refunds: Rollback rate (share of tasks): last value 0.048 on 2026-10-30"
    )
    assert "baseline mean 0.01393" in text
    assert "thresholds guardrail max 0.05, stop above 0.02 (escalate)" in text
    assert "1 alert: StopCondition from 2026-10-22" in text
    assert text.endswith(".") and "\n" not in text


@pytest.mark.parametrize(
    "text",
    ["$ and 50% $", "$\\x$", "$5 per task", "a_b^c {x} \\alpha"],
    ids=["paired dollars", "invalid mathtext", "one dollar", "tex specials"],
)
def test_item_17_chart_text_is_literal_not_mathtext(text):
    label = f"stop above 0.02 ({text})"
    options = _options(title=f"Pay{text}: {text}", unit=text, thresholds=[(label, 0.02)])
    # As if a matplotlibrc asked for mathtext and LaTeX: the chart's own settings win.
    with matplotlib.rc_context({"text.parse_math": True, "text.usetex": True}):
        root = ET.fromstring(trend_chart_svg(**options))
    drawn = [" ".join("".join(t.itertext()).split()) for t in root.iter(f"{SVG}text")]
    assert text in drawn  # the y axis label: the unit exactly as written
    assert f"Pay{text}: {text}" in drawn  # the title
    assert label in " ".join(drawn)  # the legend, wrapped over lines
    assert root[0].text == f"Pay{text}: {text}"
    assert label in root.find(f"{SVG}desc").text
