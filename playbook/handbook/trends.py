"""Build-time files from the monitor's results: a trend chart per monitored metric, and reviews.

Charts are static SVG (matplotlib, see `playbook.handbook.charts`) written into the staged docs, so
they work offline and in both site builders; each has a text alternative used as the image's alt
text.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

from playbook.core.charter import Charter
from playbook.core.clock import parse_instant
from playbook.core.governance import Governance
from playbook.handbook.view import MonitorView
from playbook.results import Span

CHARTS_DIR = "assets/charts"


def _day(text: str | None) -> date | None:
    return parse_instant(text).date() if text else None


def _window(windows: dict[str, Span | None], name: str) -> tuple[datetime, datetime] | None:
    """A window's exact bounds (a rolling window starts and ends mid-day)."""
    window = windows.get(name)
    if window is None:
        return None
    return parse_instant(window.from_), parse_instant(window.to)


def _thresholds(charter: Charter, metric: str) -> list[tuple[str, float]]:
    found = []
    for guardrail in charter.guardrails:
        if guardrail.metric == metric:
            bound, value = guardrail.bound
            found.append((f"guardrail {bound} {value:g}", value))
    for stop in charter.stop_conditions:
        if stop.metric == metric:
            bound, value = stop.threshold
            found.append((f"stop {bound} {value:g} ({stop.action})", value))
    return found


def write_charts(
    governance: Governance, view: MonitorView, out_dir: Path
) -> dict[tuple[str, str], str]:
    """One SVG per (agent, monitored metric) with a series; returns their text alternatives."""
    from playbook.handbook.charts import chart_alt_text, trend_chart_svg

    written: dict[tuple[str, str], str] = {}
    for charter in governance.agents:
        result = view.agents.get(charter.id)
        if not result:
            continue
        windows = result.windows
        for metric_id, points in sorted(result.series.items()):
            series = [point.to_json() for point in points]
            if metric_id not in governance.metric_ids:
                continue
            metric = governance.metric(metric_id)
            alerts = [
                (day, alert.labels["alertname"])
                for alert in view.alerts
                if alert.agent == charter.id
                and alert.labels.get("metric") == metric_id
                and (day := _day(alert.starts_at)) is not None
            ]
            options = {
                "title": f"{charter.name}: {metric.name}",
                "unit": metric.unit,
                "series": series,
                "baseline": _window(windows, "baseline"),
                "recent": _window(windows, "recent"),
                "band": None,
                "thresholds": _thresholds(charter, metric_id),
                "alerts": alerts,
            }
            target = out_dir / charter.id / f"{metric_id}.svg"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(trend_chart_svg(**options), encoding="utf-8")
            written[(charter.id, metric_id)] = chart_alt_text(**options)
    return written


def copy_reviews(view: MonitorView, out_dir: Path) -> None:
    """The reviews the schedule wrote, as pages under `reviews/<agent>/`."""
    for agent_id, files in view.reviews.items():
        for review in files:
            target = out_dir / agent_id / review.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(review, target)
