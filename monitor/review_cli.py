"""`govkit review AGENT`: the periodic agent review, as Markdown for people or JSON for tools."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from monitor.cli import engine_option, events_option, governance_option
from playbook.cli import options as shared
from playbook.core import jsonout
from playbook.core.clock import utc_now
from playbook.policy import load_governance


@click.command("review")
@click.argument("agent_id", metavar="AGENT")
@governance_option
@events_option
@engine_option
@click.option(
    "--period",
    default=None,
    help="Length of the reviewed period, ending at --now: e.g. 12h, 30d or 4w. Default: the "
    "charter's review cadence (weekly 7d, biweekly 14d, monthly 30d, quarterly 91d).",
)
@shared.now_option("End of the period (ISO 8601, excluded from it).")
@shared.format_option(
    "markdown: the review document for the owner; json: one object for tools.",
    choices=("markdown", "json"),
)
@shared.monitor_state_option("The drift monitor's state, for the alerts active in the period.")
def review(
    agent_id: str,
    governance_dir: Path,
    events: str,
    engine: str | None,
    period: str | None,
    now: datetime | None,
    output_format: str,
    state: Path | None,
) -> None:
    """The periodic review of AGENT over [now - period, now), by default the length of its
    charter's review cadence: throughput and task success, quality, human time, cost against the
    charter's budget, notable failures, and a corrective actions section for the owner to fill.

    Exit 0; 2 on bad input (an unknown agent, a bad period, unreadable events, a --state that
    does not exist).
    """
    from monitor.review import build_reviews, cadence_period, parse_period
    from monitor.review_markdown import format_markdown
    from playbook.handbook.whois import find_charter

    moment = now or utc_now()
    if period is not None:
        parse_period(period)
    governance = load_governance(governance_dir, today=moment.date())
    charter = find_charter(governance, agent_id)
    period = period or cadence_period(charter)
    (result,) = build_reviews(
        governance, [charter], events, now=moment, period=period, state=state, engine=engine
    )
    if output_format == "json":
        click.echo(jsonout.dumps(result.document, indent=2))
    else:
        click.echo(format_markdown(governance, result), nl=False)
