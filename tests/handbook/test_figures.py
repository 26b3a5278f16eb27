"""Figures in the metric's unit with the relative change beside them; "no data", never a 0 that
was not measured; sparklines as inline SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from playbook.core.model import Metric
from playbook.handbook.figures import (
    NO_DATA,
    change_text,
    moment_text,
    points_text,
    value_text,
)
from playbook.handbook.sparkline import HEIGHT, WIDTH, sparkline_svg


def _metric(kind: str, unit: str) -> Metric:
    compute = {"where": {"outcome": "success"}, "sum": ["cost_usd"]}
    return Metric(id="m", name="M", kind=kind, worse="higher", unit=unit, description="d",
                  compute=compute)  # fmt: skip


SHARE = _metric("proportion", "share of tasks")
SECONDS = _metric("continuous", "seconds")
USD = _metric("ratio", "USD")
SCORE = _metric("continuous", "score 1-5")


@pytest.mark.parametrize(
    "baseline, recent, metric, shown",
    [
        (0.891, 0.850, SHARE, "\u22124.1 pts (\u22124.6%)"),
        (4.8, 6.0, SECONDS, "+1.2 s (+25.0%)"),
        (0.10, 0.13, USD, "+$0.03 (+30.0%)"),
        (12.5, 10.0, USD, "\u2212$2.50 (\u221220.0%)"),
        (4.176, 3.628, SCORE, "\u22120.548 score 1-5 (\u221213.1%)"),
        (0.0087, 0.0456, SHARE, "+3.69 pts (+424%)"),
        (0.0, 0.02, SHARE, "+2 pts"),  # no relative change from 0
        (0.5, 0.5, SHARE, "+0 pts (+0.0%)"),
    ],
)
def test_change_in_the_metrics_unit_with_the_relative_change(baseline, recent, metric, shown):
    assert change_text(baseline, recent, metric, n_baseline=100, n_recent=100) == shown


@pytest.mark.parametrize(
    "value, metric, shown",
    [
        (0.0456, SHARE, "4.56%"),
        (0.0, SHARE, "0%"),
        (5.133, SECONDS, "5.13 s"),
        (1.0296, USD, "$1.03"),
        (0.04084, USD, "$0.0408"),
        (22_812.4, USD, "$22,812.40"),
        (3.628, SCORE, "3.63 score 1-5"),
    ],
)
def test_value_in_the_metrics_unit(value, metric, shown):
    assert value_text(value, metric, n=10) == shown


def test_a_window_without_tasks_shows_no_data_never_zero():
    assert value_text(0.0, SHARE, n=0) == NO_DATA
    assert value_text(None, SHARE) == NO_DATA
    assert value_text(float("nan"), SHARE) == NO_DATA
    assert change_text(0.05, 0.0, SHARE, n_baseline=100, n_recent=0) == NO_DATA
    assert change_text(None, 0.1, SHARE) == NO_DATA
    assert points_text(None) == NO_DATA
    assert points_text(0.157) == "+15.7 pts"


def test_moments_read_as_utc():
    assert moment_text("2026-11-24T12:00:00Z") == "2026-11-24 12:00 UTC"
    assert moment_text("2026-11-24T13:00:00+01:00") == "2026-11-24 12:00 UTC"
    assert moment_text("not a time") == "not a time"
    assert moment_text(None) == "unknown"


def _series(values: list[float | None]) -> list[dict]:
    return [
        {"day": f"2026-11-{index + 1:02d}", "value": value, "n": 0 if value is None else 50}
        for index, value in enumerate(values)
    ]


def test_sparkline_is_one_line_of_svg_with_gaps_and_the_last_point_marked():
    svg = str(sparkline_svg(_series([0.1, 0.2, None, 0.4, 0.3]), "Refunds: <Rollback> | *rate*"))
    assert "\n" not in svg and "|" not in svg.replace("\\|", "")
    root = ET.fromstring(svg.replace("\\", ""))
    assert (root.get("width"), root.get("height")) == (str(WIDTH), str(HEIGHT))
    assert root.get("role") == "img"
    ns = "{http://www.w3.org/2000/svg}"
    title = root.find(f"{ns}title") if root.find(f"{ns}title") is not None else root.find("title")
    assert title.text == "Refunds: <Rollback> | *rate*"  # escaped in the page, text once parsed
    path = (root.find("path") if root.find("path") is not None else root.find(f"{ns}path")).get("d")
    assert path.count("M") == 2  # a new stroke after the day without tasks
    circle = root.find("circle") if root.find("circle") is not None else root.find(f"{ns}circle")
    last_x = float(path.split()[-2][1:])
    assert float(circle.get("cx")) == pytest.approx(last_x)


def test_sparkline_of_a_flat_series_and_of_no_data():
    flat = str(sparkline_svg(_series([0.2, 0.2, 0.2]), "flat"))
    assert f"{HEIGHT / 2:.1f}" in flat
    assert "no data" in str(sparkline_svg(_series([None, None]), "empty"))
    assert "no data" in str(sparkline_svg([], "empty"))
