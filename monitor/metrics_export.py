"""The monitor's figures for Prometheus: one run's results as metric families.

`MonitorMetrics` holds what a scrape (or node_exporter's textfile collector) is shown: the
figures of the latest *successful* run, built in a fresh `CollectorRegistry` per run, plus the
run-level figures (last run's outcome and time, the last success's time, run and failure counts).
A failed run changes only the run-level figures: the last success's timestamp does not move, so
`time() - govkit_monitor_last_success_timestamp_seconds` tells a stalled monitor. Its text is
Prometheus' exposition format, written by `prometheus_client` (see `METRICS` for the names).

Label values are bounded by the governance: `agent` (charters), `metric` (the catalog),
`aspect` (center, tail, spread), `verdict` (4 values), `status` (5), `alertname` and `severity`
(the monitor's alert names), `reason` (bad-row reasons), `bucket` (inference, tooling, human).
"""

from __future__ import annotations

import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families

from playbook import results
from playbook.core.atomic import StagedFile, write_atomically
from playbook.core.clock import utc_now
from playbook.core.costs import BUCKETS, budget_status, charter_budget, month_key, row_spend
from playbook.core.errors import UsageError, display_path

if TYPE_CHECKING:
    from monitor.run import RunReport
    from playbook.core.governance import Governance

VERDICTS = (results.OK, results.DRIFT, results.IMPROVED, results.INSUFFICIENT)
LAST_SUCCESS = "govkit_monitor_last_success_timestamp_seconds"
LAST_RUN = "govkit_monitor_last_run_timestamp_seconds"
LAST_RUN_SUCCESS = "govkit_monitor_last_run_success"
RUNS, FAILURES = "govkit_monitor_runs", "govkit_monitor_run_failures"  # counters (`_total`)
RUN_LEVEL = {LAST_SUCCESS, LAST_RUN, LAST_RUN_SUCCESS, RUNS, FAILURES}
DRIFT_LABELS = ("agent", "metric", "aspect")

# name: (labels, help) of the figures a successful run sets
METRICS: dict[str, tuple[tuple[str, ...], str]] = {
    "govkit_drift_recent_value": (
        DRIFT_LABELS,
        "The metric over the recent window, in the catalog metric's unit (a share 0-1, seconds, "
        "USD, ...); for aspect tail the upper quantile, for spread the dispersion.",
    ),
    "govkit_drift_baseline_value": (
        DRIFT_LABELS,
        "The same figure over the agent's baseline window.",
    ),
    "govkit_drift_q_value": (
        DRIFT_LABELS,
        "The drift test's q-value (p-value adjusted for multiple testing across the run).",
    ),
    "govkit_drift_samples": (
        (*DRIFT_LABELS, "window"),
        "Tasks the drift test used, per window (recent, baseline).",
    ),
    "govkit_drift_verdict": (
        (*DRIFT_LABELS, "verdict"),
        "1 for the drift test's verdict (ok, drift, improved, insufficient_data), 0 for the "
        "others.",
    ),
    "govkit_agent_status": (
        ("agent", "status"),
        "1 for the agent's status in the run (stop_condition, guardrail_breach, drift, "
        "insufficient_data, ok), 0 for the others.",
    ),
    "govkit_alerts_firing": (
        ("alertname", "severity", "agent"),
        "Alerts firing after the run, by name, severity and agent (empty: not an agent's).",
    ),
    "govkit_monitor_bad_rows": (
        ("reason",),
        "Event rows the run skipped, by reason (unknown_agent: agents without a charter).",
    ),
    "govkit_monitor_tasks": ((), "Valid agent tasks (event rows) the run read."),
    "govkit_monitor_run_duration_seconds": ((), "Wall-clock seconds the last successful run took."),
    "govkit_monitor_window_end_timestamp_seconds": (
        (),
        "End of the run's recent window (its --now), Unix seconds.",
    ),
    "govkit_budget_spend_usd": (
        ("agent", "bucket"),
        "Spend in the calendar month (UTC) up to the run's now, USD, by bucket (inference, "
        "tooling, human); no series for a bucket whose column the events lack.",
    ),
    "govkit_budget_monthly_usd": (
        ("agent", "bucket"),
        "The charter's monthly budget, USD, by bucket (charters with a budget only).",
    ),
    "govkit_budget_projected_spend_usd": (
        ("agent",),
        "The month's spend projected linearly from the share elapsed, USD (once monitor.yaml "
        "costs.projection_after of the month has passed, and every bucket the budget plans is "
        "recorded).",
    ),
    "govkit_budget_month_elapsed_ratio": (
        (),
        "Share of the calendar month (UTC) elapsed at the run's now, 0-1.",
    ),
}


def run_families(
    governance: Governance, report: RunReport, *, duration_seconds: float
) -> list[Metric]:
    """A successful run's figures, built in a fresh registry (nothing global)."""
    registry = CollectorRegistry(auto_describe=False)
    gauges = {
        name: Gauge(name, text, labels, registry=registry)
        for name, (labels, text) in METRICS.items()
    }
    _drift(gauges, report)
    _statuses(gauges["govkit_agent_status"], governance, report)
    counts: dict[tuple[str, str, str], int] = {}
    for alert in report.firing:
        labels = alert.labels
        key = (labels["alertname"], labels.get("severity", ""), labels.get("agent", ""))
        counts[key] = counts.get(key, 0) + 1
    for key, count in sorted(counts.items()):
        gauges["govkit_alerts_firing"].labels(*key).set(count)
    for reason, rows in sorted(report.bad_rows.by_reason.items()):
        gauges["govkit_monitor_bad_rows"].labels(reason).set(rows)
    gauges["govkit_monitor_tasks"].set(report.tasks)
    gauges["govkit_monitor_run_duration_seconds"].set(duration_seconds)
    gauges["govkit_monitor_window_end_timestamp_seconds"].set(report.now.timestamp())
    _budgets(gauges, governance, report)
    return list(registry.collect())


def _drift(gauges: dict[str, Gauge], report: RunReport) -> None:
    for finding in report.findings:
        key = (finding["agent"], finding["metric"], finding.get("aspect") or "center")
        for name, field in (
            ("govkit_drift_recent_value", "recent"),
            ("govkit_drift_baseline_value", "baseline"),
            ("govkit_drift_q_value", "q_value"),
        ):
            if finding.get(field) is not None:  # untested: no figure rather than a made-up one
                gauges[name].labels(*key).set(finding[field])
        for window in ("recent", "baseline"):
            gauges["govkit_drift_samples"].labels(*key, window).set(finding[f"n_{window}"])
        for verdict in VERDICTS:
            gauges["govkit_drift_verdict"].labels(*key, verdict).set(
                int(finding["verdict"] == verdict)
            )


def _statuses(gauge: Gauge, governance: Governance, report: RunReport) -> None:
    outcomes = report.by_agent(charter.id for charter in governance.agents)
    for charter in governance.agents:
        status = outcomes[charter.id].status
        for each in results.STATUS_ORDER:
            gauge.labels(charter.id, each).set(int(each == status))


def _budgets(gauges: dict[str, Gauge], governance: Governance, report: RunReport) -> None:
    """Month-to-date spend from the run's monthly costs (the same figures the snapshot and the
    BudgetOverrun alerts use) against each charter's budget."""
    month = month_key(report.now)
    elapsed = budget_status(month, {}, {}, report.now, governance.monitor.costs).elapsed
    gauges["govkit_budget_month_elapsed_ratio"].set(elapsed)
    for charter in governance.agents:
        costs = report.trends.get(charter.id, {}).get("costs", [])
        row = next((row for row in costs if row["month"] == month), {})
        spend = row_spend(row)
        for bucket, amount in spend.items():
            if amount is not None:  # a bucket the events do not record has no series
                gauges["govkit_budget_spend_usd"].labels(charter.id, bucket).set(amount)
        budget = charter_budget(charter)
        if budget is None:
            continue
        status = budget_status(month, spend, budget, report.now, governance.monitor.costs)
        for bucket in BUCKETS:
            gauges["govkit_budget_monthly_usd"].labels(charter.id, bucket).set(budget[bucket])
        if status.projected is not None and not status.unknown:
            gauges["govkit_budget_projected_spend_usd"].labels(charter.id).set(status.projected)


class MonitorMetrics:
    """The figures a scrape sees: the latest successful run's, and the run-level ones. A
    `prometheus_client` collector (register it in a registry to serve it); thread-safe."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._families: list[Metric] = []
        self.last_success: float | None = None
        self.last_run: float | None = None
        self.last_run_ok: bool | None = None
        self.runs = 0
        self.failures = 0

    def succeeded(
        self, governance: Governance, report: RunReport, *, finished: datetime, duration: float
    ) -> None:
        families = run_families(governance, report, duration_seconds=duration)
        with self._guard:
            self._families = families
            self.last_success = self.last_run = finished.timestamp()
            self.last_run_ok = True
            self.runs += 1

    def failed(self, finished: datetime) -> None:
        """A failed run: the previous run's figures stay, the last success does not move."""
        with self._guard:
            self.last_run = finished.timestamp()
            self.last_run_ok = False
            self.runs += 1
            self.failures += 1

    def collect(self) -> Iterator[Metric]:
        with self._guard:  # a copy: a scrape never holds the lock while it is sent
            families = [*self._families, *self._run_level()]
        yield from families

    def _run_level(self) -> Iterable[Metric]:
        if self.last_success is not None:
            yield GaugeMetricFamily(
                LAST_SUCCESS,
                "When the last successful monitor run finished, Unix seconds (wall clock).",
                value=self.last_success,
            )
        if self.last_run is not None:
            yield GaugeMetricFamily(
                LAST_RUN, "When the last monitor run finished, Unix seconds.", value=self.last_run
            )
            yield GaugeMetricFamily(
                LAST_RUN_SUCCESS,
                "1 when the last monitor run succeeded, 0 when it failed.",
                value=int(bool(self.last_run_ok)),
            )
        yield CounterMetricFamily(RUNS, "Monitor runs, successful or not.", value=self.runs)
        yield CounterMetricFamily(FAILURES, "Monitor runs that failed.", value=self.failures)

    def text(self) -> str:
        """Prometheus' text exposition format (version 0.0.4: node_exporter's textfile)."""
        registry = CollectorRegistry(auto_describe=False)
        registry.register(self)
        return generate_latest(registry).decode("utf-8")

    @classmethod
    def from_text(cls, text: str) -> MonitorMetrics:
        """The figures a previous metrics file holds (a command-line run carries them over)."""
        metrics = cls()
        for family in text_string_to_metric_families(text):
            samples = {sample.name: sample.value for sample in family.samples}
            if family.name not in RUN_LEVEL:
                metrics._families.append(family)
            elif family.name == LAST_SUCCESS:
                metrics.last_success = samples[LAST_SUCCESS]
            elif family.name == LAST_RUN:
                metrics.last_run = samples[LAST_RUN]
            elif family.name == LAST_RUN_SUCCESS:
                metrics.last_run_ok = bool(samples[LAST_RUN_SUCCESS])
            elif family.name in (RUNS, FAILURES):
                count = int(samples.get(f"{family.name}_total", 0))
                setattr(metrics, "runs" if family.name == RUNS else "failures", count)
        return metrics


def previous_metrics(path: Path) -> MonitorMetrics:
    """What `path` holds, or nothing when there is no such file or it is not a metrics file."""
    try:
        return MonitorMetrics.from_text(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, UnicodeDecodeError):
        return MonitorMetrics()


def write_metrics_file(path: Path, metrics: MonitorMetrics) -> None:
    """Staged beside `path` and renamed into place: the textfile collector never reads half a
    file (it must be in the same directory, so the rename is atomic)."""
    write_atomically(path, metrics.text())


Pass = TypeVar("Pass", bound=tuple)  # (governance, report, ...): what a monitor pass returns


def recorded(path: Path | None, run: Callable[[], Pass]) -> Pass:
    """`run()` (loading the governance and reading the events included), with its figures
    written to the metrics file `path` (when given). A run that fails, at any step, rewrites the
    previous file's figures with the failure counted and the last success unchanged. A file
    that cannot be written after a run that succeeded is a warning on the report (the run's
    alerts are delivered; exit status is the run's): the unchanged last success tells it."""
    if path is None:
        return run()
    _check_target(path)
    metrics = previous_metrics(path)
    started = time.monotonic()
    try:
        result = run()
    except Exception:
        metrics.failed(utc_now())
        write_metrics_file(path, metrics)
        raise
    governance, report = result[0], result[1]
    metrics.succeeded(governance, report, finished=utc_now(), duration=time.monotonic() - started)
    try:
        write_metrics_file(path, metrics)
    except UsageError as exc:
        report.warnings.append(f"--metrics-file: {exc.format_message()}; it still shows the runs "
                               "before this one")  # fmt: skip
    return result


def _check_target(path: Path) -> None:
    """Before the run: a --metrics-file that exists must be a regular file (reading a FIFO would
    wait forever, and the rename into place would replace a device such as /dev/null with a
    file), and its directory must take a new file: a run is not done for figures that cannot be
    written."""
    try:
        mode = path.stat().st_mode
    except OSError:  # none yet (written after the run), or unreadable: the write will say
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        raise UsageError(
            f"{display_path(path)}: --metrics-file: expected a regular file (or a new one) "
            "but it is a special file; nothing was run"
        )
    try:
        StagedFile.reserve(path).discard()
    except UsageError as exc:
        raise UsageError(f"{exc.format_message()}; nothing was run") from None
