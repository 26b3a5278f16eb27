"""`govkit monitor ...` and `govkit events ...`: the drift monitor's commands."""

from __future__ import annotations

import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from monitor.sources.choice import TraceSourceChoice, source_kinds
from playbook.cli import options as shared
from playbook.core import jsonout
from playbook.core.clock import utc_now
from playbook.core.settings import ENGINE_KINDS
from playbook.policy import load_governance

governance_option = shared.governance_option(
    "Directory holding the governance YAML (charters, metric catalog, monitor.yaml)."
)
events_option = click.option(
    "--events",
    required=True,
    help="Events: a CSV, JSON Lines or Parquet file or glob, or a DuckDB database "
    "(table `events`, or PATH::TABLE).",
)
engine_option = click.option(
    "--engine",
    type=click.Choice(ENGINE_KINDS),
    default=None,
    help="Where the events are read and summarised: duckdb (embedded) or spark (--events is then "
    "a Parquet path or glob, or a table catalog.schema.table; the session comes from "
    "monitor.yaml's engine). Default: monitor.yaml's engine.kind, else duckdb.",
)
state_option = shared.state_option(
    "SQLite state: alerts, run history, findings, outbox. A JSON snapshot of the latest run is "
    "written beside it (same name, .json)."
)

alertmanager_option = click.option(
    "--alertmanager",
    "alertmanager_urls",
    type=shared.WebhookUrlType(),
    multiple=True,
    help="Also push every firing alert, on every run, to this Alertmanager (its base URL, e.g. "
    "http://127.0.0.1:9093; API v2), beside monitor.yaml's receivers (repeatable). A push it "
    "does not take is kept for the next run.",
)


def _progress_printer() -> Any:
    if sys.stderr.isatty():
        return lambda message: click.echo(f"govkit: {message}", err=True)
    return lambda message: None


@click.group()
def monitor() -> None:
    """Drift monitor: test recent agent behaviour against each charter's baseline."""


@monitor.command("run")
@governance_option
@events_option
@engine_option
@shared.now_option("End of the recent window (ISO 8601).")
@state_option
@shared.format_option("text: a table per agent and a summary; json: one object on stdout.")
@shared.webhook_option("Also notify this URL with Alertmanager webhook JSON (repeatable).")
@alertmanager_option
@shared.notify_timeout_option
@click.option(
    "--fail-on-alert",
    is_flag=True,
    help="Exit 1 when any alert is firing after the run.",
)
@shared.max_bad_fraction_option(
    "Stop with exit 2 when more than this share of rows is invalid (rows of agents "
    "without a charter are reported but not counted)."
)
@click.option(
    "--lock-timeout",
    type=shared.FiniteFloatRange(0, 86_400),
    default=10.0,
    show_default=True,
    help="Seconds to wait for another run on the same state before giving up (exit 2).",
)
@click.option(
    "--write-reviews",
    is_flag=True,
    help="Also write each agent's review whose review.cadence has fallen due (as the schedule "
    "does), beside the state under reviews/.",
)
@click.option(
    "--events-format",
    type=TraceSourceChoice(),
    default=None,
    help="--events is a trace export of this kind: convert it to events first (with "
    "sources.yaml and pricing.yaml). Default: detected from the content when the file has no "
    "`outcome` column.",
)
@click.option(
    "--metrics-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also write the run's figures in Prometheus' text format to this file (for "
    "node_exporter's textfile collector: a .prom file in its directory), atomically. A failed "
    "run rewrites it with the failure counted and the last success's timestamp unchanged.",
)
def run_command(
    governance_dir: Path,
    events: str,
    engine: str | None,
    now: datetime | None,
    state: Path,
    output_format: str,
    webhooks: tuple[str, ...],
    alertmanager_urls: tuple[str, ...],
    notify_timeout: float,
    fail_on_alert: bool,
    max_bad_fraction: float,
    lock_timeout: float,
    write_reviews: bool,
    events_format: str | None,
    metrics_file: Path | None,
) -> None:
    """Run one monitor pass and report findings and alerts.

    Exit 0; 1 with --fail-on-alert when an alert is firing; 2 on bad input.
    """
    from monitor.alerting.alerts import UNKNOWN_AGENTS
    from monitor.metrics_export import recorded
    from monitor.report import format_text
    from monitor.run import RunOptions, run_monitor

    moment = now or utc_now()

    def one_pass() -> tuple[Any, Any, str]:
        governance = load_governance(governance_dir, today=moment.date())
        source = _trace_events(events, events_format, governance)
        options = RunOptions(
            events=source,
            now=moment,
            state=state,
            webhooks=list(webhooks),
            alertmanagers=list(alertmanager_urls),
            notify_timeout=notify_timeout,
            max_bad_fraction=max_bad_fraction,
            lock_timeout=lock_timeout,
            engine=engine,
            clock=now is None,
        )
        return governance, run_monitor(governance, options, progress=_progress_printer()), source

    governance, report, events = recorded(metrics_file, one_pass)
    for warning in report.warnings + report.delivery.push_warnings():
        click.echo(f"govkit: WARNING: {warning}", err=True)
    for alert in report.firing:  # a monitor that sees almost nothing must not look healthy
        if alert.labels["alertname"] == UNKNOWN_AGENTS:
            notes = alert.annotations
            click.echo(f"govkit: WARNING: {notes['summary']}. {notes['description']}", err=True)
    if output_format == "json":
        click.echo(jsonout.dumps(report.to_json(), indent=2))
    else:
        click.echo(format_text(governance, report))
    if write_reviews:
        from monitor.review_files import write_due_reviews

        written = write_due_reviews(governance, events, state, moment, engine=engine)
        reviews = [path for path in written if path.suffix == ".md"]
        click.echo(
            f"govkit: wrote {len(reviews)} review(s) under {state.parent / 'reviews'}", err=True
        )
    if fail_on_alert and report.firing:
        sys.exit(1)


def _trace_events(events: str, events_format: str | None, governance: Any) -> str:
    """`events`, or a temporary Parquet file converted from the trace export it names."""
    from monitor.sources.importer import trace_events

    context = click.get_current_context()
    scratch = context.with_resource(tempfile.TemporaryDirectory(prefix="govkit-traces-"))
    echo = lambda message: click.echo(f"govkit: {message}", err=True)  # noqa: E731
    return trace_events(
        events, events_format, governance, Path(scratch), echo, progress=_progress_printer()
    )


@monitor.command("schedule")
@governance_option
@events_option
@engine_option
@state_option
@click.option(
    "--every",
    default=None,
    help="Run at this interval, e.g. 15m, 1h, 1d. Default: monitor.yaml's `every`, else 1h.",
)
@click.option(
    "--cron", default=None, help="Run on this crontab schedule instead, e.g. '0 * * * *'."
)
@shared.webhook_option("Also notify this URL (repeatable).")
@alertmanager_option
@shared.notify_timeout_option
@shared.max_bad_fraction_option(
    "Share of invalid rows above which a run fails (it is logged; the schedule goes on)."
)
@click.option(
    "--verbose",
    is_flag=True,
    help="Also log the scheduler's own lines (APScheduler: jobs added and run, runs missed, "
    "a failed run's traceback), each named by its logger.",
)
@click.option(
    "--metrics-addr",
    default=None,
    metavar="HOST:PORT",
    help="Serve the last run's figures for Prometheus at http://HOST:PORT/metrics, e.g. "
    "127.0.0.1:9464 (port 0: a free one, logged), updated after every run, until the schedule "
    "stops.",
)
def schedule_command(
    governance_dir: Path,
    events: str,
    engine: str | None,
    state: Path,
    every: str | None,
    cron: str | None,
    webhooks: tuple[str, ...],
    alertmanager_urls: tuple[str, ...],
    notify_timeout: float,
    max_bad_fraction: float,
    verbose: bool,
    metrics_addr: str | None,
) -> None:
    """Run the monitor on a schedule until SIGINT or SIGTERM: every --every, on --cron, or at
    monitor.yaml's `every` (the interval the handbook judges staleness by), else hourly.

    One run at a time; missed runs are coalesced; a failing run is logged and the schedule goes
    on. A signal stops the scheduler after the current run finishes.
    """
    from monitor.metrics_server import parse_address
    from monitor.schedule import MonitorScheduler, parse_trigger

    default = None
    if every is None and cron is None:  # the interval monitor.yaml says the monitor runs at
        default = load_governance(governance_dir, today=utc_now().date()).monitor.every
    trigger = parse_trigger(every=every, cron=cron, default=default)
    scheduler = MonitorScheduler(
        governance_dir=governance_dir,
        events=events,
        state=state,
        webhooks=list(webhooks),
        alertmanagers=list(alertmanager_urls),
        notify_timeout=notify_timeout,
        max_bad_fraction=max_bad_fraction,
        engine=engine,
        trigger=trigger,
        metrics_addr=parse_address(metrics_addr) if metrics_addr else None,
    )
    scheduler.run_until_stopped(verbose=verbose)


@click.group()
def events() -> None:
    """Agent events: import trace exports, or generate example data."""


@events.command("generate")
@governance_option
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="File to write: .parquet, .csv or .jsonl.",
)
@shared.now_option("End of the generated period.")
@click.option(
    "--seed",
    type=click.IntRange(0, 2**63 - 1),
    default=7,
    show_default=True,
    help="Random seed (same seed, same data).",
)
@click.option(
    "--tasks-per-day",
    type=click.IntRange(1, 100_000),
    default=120,
    show_default=True,
    help="Average tasks per agent per day.",
)
def generate_command(
    governance_dir: Path, out: Path, now: datetime | None, seed: int, tasks_per_day: int
) -> None:
    """Write seeded example events for the charters, with one planted drift and one stop-condition
    breach in the most recent week (see the README)."""
    from monitor.simulate import generate_events

    governance = load_governance(governance_dir, today=(now or utc_now()).date())
    summary = generate_events(
        governance, out, now=now or utc_now(), seed=seed, tasks_per_day=tasks_per_day
    )
    click.echo(summary)


@events.command("import")
@click.option(
    "--from",
    "source",
    type=TraceSourceChoice(auto=True),
    default="auto",
    show_default=True,
    help=f"The kind of trace export: {source_kinds()}; auto: detected from the first file's "
    "content (the command says which it chose).",
)
@click.argument("files", nargs=-1, required=True)
@click.option(
    "--governance",
    "governance_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Directory holding the governance YAML: tasks are mapped to its charters and priced "
    "with its pricing.yaml. Default: ./governance when it exists; without one (a first look, "
    "before any charter) every task is kept under its traced agent name.",
)
@click.option(
    "--mapping",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="A sources.yaml to use instead of the governance directory's own (agent names to "
    "charter ids, task rules, escalation markers, feedback keys).",
)
@click.option(
    "--unmapped",
    type=click.Choice(["drop", "keep"]),
    default="drop",
    show_default=True,
    help="Tasks of agents without a charter: drop them (they are listed) or keep them under "
    "their traced names.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="Events file to write: .parquet or .csv.",
)
def import_command(
    source: str,
    files: tuple[str, ...],
    governance_dir: Path | None,
    mapping: Path | None,
    unmapped: str,
    out: Path,
) -> None:
    """Turn trace exports (FILE... or globs) into events: one row per agent task, mapped to
    charters with sources.yaml and priced with pricing.yaml. Prints what was imported and what
    was skipped, unmapped or unpriced; when nothing became a task, what was read instead.

    Exit 0; 2 on bad input (no such file, an unreadable file, no task at all).
    """
    from monitor.sources.importer import convert, load_mapping

    settings = load_mapping(mapping) if mapping is not None else None
    if governance_dir is None and Path("governance").is_dir():
        governance_dir = Path("governance")
    governance = load_governance(governance_dir, today=utc_now().date()) if governance_dir else None
    convert(
        source,
        list(files),
        governance,
        out,
        settings=settings,
        keep_unmapped=unmapped == "keep",
        echo=click.echo,
        progress=_progress_printer(),
    )
    click.echo(f"wrote {out}")
