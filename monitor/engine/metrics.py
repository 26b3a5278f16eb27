"""Per agent and window, the catalog's metrics: what a monitor pass asks of the summaries.

`plan` lists, for every charter, its windows at `now` (recent, baseline, one per stop condition,
and the series span from the start of the baseline to `now`), the metrics it needs, and the
continuous metrics whose distributions its drift tests need. `window_stats` reads each (agent,
window, metric) back from the pass's summaries as a `WindowSummary`.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from monitor.engine.engines import open_engine
from monitor.engine.events import BadRows, open_events
from monitor.engine.plan import Plan, agents_table
from monitor.engine.repeats import repeated_tasks
from monitor.engine.summaries import HISTORY, Progress, Summaries, summarise
from monitor.engine.summary import WindowSummary
from playbook.core.charter import Charter
from playbook.core.clock import EARLIEST_DATE, midnight
from playbook.core.governance import Governance
from playbook.core.model import Metric
from playbook.core.windows import BASELINE, RECENT, charter_windows

SERIES = "series"


def charter_metric_ids(charter: Charter) -> list[str]:
    """Every event-computed metric a charter needs, in a stable order."""
    ids = list(charter.monitor.metrics) if charter.monitor else []
    ids += [g.metric for g in charter.guardrails]
    ids += [s.metric for s in charter.stop_conditions]
    ids.append(charter.north_star.metric)
    return list(dict.fromkeys(ids))


def custom_columns(governance: Governance) -> set[str]:
    """The event columns beyond the contract's that the catalog's metrics read."""
    columns = {m.column for m in governance.metrics if m.column}
    for m in governance.metrics:
        if m.compute is not None:
            columns |= {*(m.compute.where or {}), *(m.compute.sum or [])}
    return columns


def plan(governance: Governance, charters: list[Charter], now: datetime) -> Plan:
    """The windows and metrics of every charter at `now`."""
    windows: dict[str, dict[str, tuple[datetime, datetime]]] = {}
    metrics: dict[str, list[Metric]] = {}
    histograms: dict[str, list[Metric]] = {}
    for charter in charters:
        own = {window.label: (window.start, window.end) for window in charter_windows(charter, now)}
        if BASELINE in own and own[BASELINE][0] < now:
            own[SERIES] = (own[BASELINE][0], now)
        own[HISTORY] = (midnight(EARLIEST_DATE), now)
        windows[charter.id] = own
        metrics[charter.id] = [governance.metric(m) for m in charter_metric_ids(charter)]
        monitored = charter.monitor.metrics if charter.monitor else []
        histograms[charter.id] = [
            governance.metric(m) for m in monitored if governance.metric(m).kind == "continuous"
        ]
    return Plan(now, windows, metrics, histograms, (RECENT, BASELINE), SERIES)


def measure(
    events: str,
    governance: Governance,
    charters: list[Charter],
    now: datetime,
    *,
    engine: str | None = None,
    max_bad_fraction: float = 1.0,
    progress: Progress = lambda _: None,
    unwatched: Collection[str] = (),
) -> tuple[Summaries, BadRows]:
    """One pass over `events` on `engine` (default: monitor.yaml's, else DuckDB) for `charters` at
    `now`: the summaries, and the bad rows (UsageError, exit 2, when too many are invalid).
    `unwatched`: agents with a charter that are not monitored (retired): their rows are known,
    in no window, so neither measured nor counted as agents without a charter."""
    planned = plan(governance, charters, now)
    for agent in unwatched:
        planned.windows.setdefault(agent, {})
    opened = open_engine(engine, governance.monitor.engine)
    progress(f"reading events from {events} ({opened.name})")
    source = open_events(
        events,
        opened,
        agents=agents_table(planned),
        hourly_rate=governance.organisation.human_hourly_rate_usd,
        custom=custom_columns(governance),
    )
    try:
        summaries = summarise(source, planned, progress=progress)
        bad = source.bad_rows(summaries.reason_counts(), summaries.valid_tasks(), max_bad_fraction)
        if "task_id" in source.present:
            progress("looking for tasks read more than once (task_id)")
            summaries.repeats = repeated_tasks(source, bad.total)
    finally:
        source.close()
    return summaries, bad


def window_stats(
    summaries: Summaries, charters: list[Charter]
) -> dict[tuple[str, str, str], WindowSummary]:
    """`{(agent, window label, metric): WindowSummary}` for every window of every charter."""
    found: dict[tuple[str, str, str], WindowSummary] = {}
    for charter in charters:
        for label in summaries.plan.windows[charter.id]:
            if label in (SERIES, HISTORY):
                continue
            for metric in summaries.plan.metrics[charter.id]:
                found[(charter.id, label, metric.id)] = summaries.window(charter.id, label, metric)
    return found
