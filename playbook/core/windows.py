"""The windows of one charter at a moment `now`: recent, baseline, and one per stop condition.

All half-open, [start, end), in UTC. `recent` is the charter's `monitor.recent` (DEFAULT_RECENT for
a charter without a monitor section: its guardrails and north star still need one) ending at `now`;
the baseline is `monitor.baseline` (`from` 00:00 UTC to the end of the `to` day) or `{rolling:
28d}`, the days before the recent window; a stop condition's window ends at `now`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from playbook.core.charter import DEFAULT_RECENT, Charter
from playbook.core.clock import Window, midnight, parse_window

RECENT = "recent"
BASELINE = "baseline"


def stop_label(index: int) -> str:
    return f"stop_{index}"


def charter_windows(charter: Charter, now: datetime) -> list[Window]:
    """The recent window, the baseline (monitored charters), and one per stop condition."""
    spec = charter.monitor
    recent = Window(RECENT, now - parse_window(spec.recent if spec else DEFAULT_RECENT), now)
    windows = [recent]
    if spec is not None:
        if spec.baseline.rolling is not None:
            start = recent.start - parse_window(spec.baseline.rolling)
            windows.append(Window(BASELINE, start, recent.start))
        else:
            assert spec.baseline.from_ is not None and spec.baseline.to is not None
            start = midnight(spec.baseline.from_)
            end = midnight(spec.baseline.to + timedelta(days=1))
            windows.append(Window(BASELINE, start, end))
    for index, stop in enumerate(charter.stop_conditions):
        windows.append(Window(stop_label(index), now - parse_window(stop.window), now))
    return windows


def recent_length(charter: Charter) -> timedelta:
    """How long the charter's recent window is."""
    return parse_window(charter.monitor.recent if charter.monitor else DEFAULT_RECENT)
