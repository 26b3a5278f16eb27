"""`govkit monitor schedule`: one monitor job on an APScheduler schedule.

Lifecycle: `run_until_stopped()` installs signal handlers, starts the scheduler and blocks; SIGINT
or SIGTERM shut it down after the current run; teardown runs in reverse order of set-up. The job
runs at most one instance at a time, coalesces missed runs into one, and a failing run is logged
while the schedule goes on.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.metrics_export import MonitorMetrics
from monitor.metrics_server import MetricsServer
from playbook.core.clock import parse_interval, utc_now
from playbook.core.errors import GovkitError, UsageError
from playbook.core.settings import DEFAULT_NOTIFY_TIMEOUT
from playbook.policy import load_governance

if TYPE_CHECKING:
    from monitor.alerting.notify import Delivery

LOG = logging.getLogger("govkit.monitor")
APSCHEDULER_LOGGER = "apscheduler"
QUIET = logging.CRITICAL + 1  # a level above every record: the logger says nothing
MISFIRE_GRACE_SECONDS = 300
DEFAULT_EVERY = "1h"


def parse_trigger(
    *, every: str | None, cron: str | None, default: str | None = None
) -> BaseTrigger:
    """`--every 15m` or `--cron '0 * * * *'` (not both); neither: every `default` (monitor.yaml's
    `every`), else every hour."""
    if every and cron:
        raise UsageError("give either --every or --cron, not both")
    if cron:
        try:
            return CronTrigger.from_crontab(cron, timezone=UTC)
        except ValueError as exc:
            raise UsageError(
                f"--cron: expected a crontab expression such as '0 * * * *': {exc}"
            ) from None
    try:
        interval = parse_interval((every or default or DEFAULT_EVERY).strip())
    except ValueError as exc:
        raise UsageError(f"--every: {exc}") from None
    return IntervalTrigger(seconds=int(interval.total_seconds()), timezone=UTC)


class MonitorScheduler:
    """One scheduled monitor job. Keyword-only options; state guarded by a lock."""

    def __init__(
        self,
        *,
        governance_dir: Path,
        events: str,
        state: Path,
        trigger: BaseTrigger,
        webhooks: list[str] | None = None,
        notify_timeout: float = DEFAULT_NOTIFY_TIMEOUT,
        max_bad_fraction: float = 0.01,
        engine: str | None = None,
        run_once: Callable[[], Any] | None = None,
        alertmanagers: list[str] | None = None,
        metrics_addr: tuple[str, int] | None = None,
    ) -> None:
        self.governance_dir = governance_dir
        self.events = events
        self.state = state
        self.trigger = trigger
        self.webhooks = webhooks or []
        self.notify_timeout = notify_timeout
        self.max_bad_fraction = max_bad_fraction
        self.engine = engine
        self.alertmanagers = alertmanagers or []
        self._run_once = run_once or self.monitor_once
        self._scheduler: BackgroundScheduler | None = None
        self._stopped = threading.Event()
        self._guard = threading.Lock()
        self.runs = 0
        self.failures = 0
        # `/metrics` (--metrics-addr): the last run's figures between runs, served until stop()
        self.metrics = MonitorMetrics()
        self.metrics_server = MetricsServer(metrics_addr, self.metrics) if metrics_addr else None

    def monitor_once(self) -> None:
        from monitor.review_files import write_due_reviews
        from monitor.run import RunOptions, run_monitor

        now = utc_now()
        started = time.monotonic()
        governance = load_governance(self.governance_dir, today=now.date())
        options = RunOptions(
            events=self.events,
            now=now,
            state=self.state,
            webhooks=self.webhooks,
            notify_timeout=self.notify_timeout,
            max_bad_fraction=self.max_bad_fraction,
            engine=self.engine,
            alertmanagers=self.alertmanagers,
            interval=longest_gap(self.trigger, now),
            clock=True,
        )
        report = run_monitor(governance, options)
        LOG.info(
            "run %s: %d events, %d alerts firing", report.run_id, report.tasks, len(report.firing)
        )
        _log_delivery(report.delivery)
        for warning in report.warnings:
            LOG.warning("%s", warning)
        # Each charter's review falls due with its review.cadence: written beside the state.
        for path in write_due_reviews(governance, self.events, self.state, now, engine=self.engine):
            LOG.info("wrote review %s", path)
        # last: a run whose reviews fail is a failed run (counted once, by _on_event)
        duration = time.monotonic() - started
        self.metrics.succeeded(governance, report, finished=utc_now(), duration=duration)

    def _job(self) -> None:
        try:
            self._run_once()
        except GovkitError as exc:  # a user's mistake: say it plainly, keep the schedule
            LOG.error("monitor run failed: %s", exc.format_message())
            raise

    def _on_event(self, event: JobExecutionEvent) -> None:
        with self._guard:
            self.runs += 1
            if event.exception is not None:
                self.failures += 1
                self.metrics.failed(utc_now())
                if not isinstance(event.exception, GovkitError):
                    LOG.error("monitor run failed: %r", event.exception)

    def start(self) -> None:
        with self._guard:
            if self._scheduler is not None:
                raise RuntimeError("scheduler already started")
            if self.metrics_server is not None:  # first up, last down: serves every run
                self.metrics_server.start()
                LOG.info("serving metrics on http://%s:%d/metrics", self.metrics_server.address[0],
                         self.metrics_server.port)  # fmt: skip
            scheduler = BackgroundScheduler(timezone=UTC)
            scheduler.add_listener(self._on_event, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
            scheduler.add_job(
                self._job,
                self.trigger,
                id="govkit-monitor",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=MISFIRE_GRACE_SECONDS,
                next_run_time=utc_now(),  # first run at once, then on schedule
            )
            scheduler.start()
            self._scheduler = scheduler
            LOG.info("monitor scheduled: %s", self.trigger)

    def stop(self) -> None:
        """Stop after the current run finishes. Safe to call more than once."""
        with self._guard:
            scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            scheduler.shutdown(wait=True)
        if self.metrics_server is not None:
            self.metrics_server.stop()
        self._stopped.set()

    def run_until_stopped(self, *, verbose: bool = False) -> None:
        """Run until SIGINT or SIGTERM. Logs govkit's lines; APScheduler's own only `verbose`."""
        configure_logging(verbose=verbose)
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

        def request_stop(signum: int, frame: FrameType | None) -> None:
            LOG.info("received %s; stopping after the current run", signal.Signals(signum).name)
            threading.Thread(target=self.stop, daemon=True).start()

        for sig in previous:
            signal.signal(sig, request_stop)
        try:
            self.start()
            while not self._stopped.wait(0.5):
                pass
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            LOG.info(
                "monitor scheduler stopped after %d run(s), %d failed", self.runs, self.failures
            )


def longest_gap(trigger: BaseTrigger, now: datetime, firings: int = 10) -> timedelta | None:
    """The longest wait between the trigger's next `firings` runs (a weekday cron's weekend):
    how long an Alertmanager must keep a pushed alert alive between two pushes."""
    if isinstance(trigger, IntervalTrigger):
        return trigger.interval  # type: ignore[no-any-return]
    times: list[datetime] = []
    fire = trigger.get_next_fire_time(None, now)
    while fire is not None and len(times) < firings:
        times.append(fire)
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    gaps = [later - earlier for earlier, later in pairwise(times)]
    return max(gaps) if gaps else None


def configure_logging(*, verbose: bool) -> None:
    """govkit's log lines on stderr, with their time. APScheduler's internal lines ("Added job",
    "Running job", a failed run's traceback: govkit logs each run's outcome itself) only when
    `verbose`, each then named by its logger."""
    layout = "%(asctime)s %(name)s: %(message)s" if verbose else "%(asctime)s govkit: %(message)s"
    logging.basicConfig(level=logging.INFO, format=layout)
    logging.getLogger("govkit").setLevel(logging.INFO)
    logging.getLogger(APSCHEDULER_LOGGER).setLevel(logging.INFO if verbose else QUIET)


def _log_delivery(delivery: Delivery) -> None:
    """A receiver's failure is not the run's: the run succeeded, the notification waits (or is
    dead-lettered when it can never be delivered). Said once per problem, never a traceback."""
    if delivery.sent or delivery.failed or delivery.dead_lettered:
        LOG.info(
            "notifications: %d delivered, %d kept in the outbox for the next run, %d dead-lettered",
            delivery.sent,
            delivery.failed,
            delivery.dead_lettered,
        )
    for problem in delivery.errors:
        LOG.warning("notification not delivered: %s", problem)
