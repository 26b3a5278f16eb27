"""`govkit incident new`: scaffold an incident file, optionally from a monitor alert."""

from __future__ import annotations

from pathlib import Path

import click

from playbook.cli import options as shared
from playbook.core.clock import utc_now
from playbook.core.errors import display_path


@click.group("incident")
def incident() -> None:
    """Incidents and their corrective actions: scaffold a new one."""


@incident.command("new")
@click.argument("agent_id", metavar="AGENT")
@click.option(
    "--alert",
    "fingerprint",
    default=None,
    metavar="FINGERPRINT",
    help="Fill in the date, severity, metric, figures and verify condition from this monitor "
    "alert (its fingerprint, as `govkit monitor run` and the alerts page show it).",
)
@click.option(
    "--id",
    "incident_id",
    default=None,
    help="The incident's id (and file name). Default: DATE-AGENT, with the alert's metric.",
)
@shared.governance_option()
@shared.monitor_state_option("The drift monitor's state, where --alert is looked up.")
def incident_new(
    agent_id: str,
    fingerprint: str | None,
    incident_id: str | None,
    governance_dir: Path,
    state: Path | None,
) -> None:
    """Write governance/incidents/ID.yaml for AGENT: TODO where only people can answer. Never
    overwrites an incident. Exit 2 for an unknown agent or alert."""
    from playbook.handbook.incident_scaffold import new_incident

    target = new_incident(
        governance_dir,
        agent_id=agent_id,
        today=utc_now().date(),
        incident_id=incident_id,
        state=state,
        fingerprint=fingerprint,
    )
    click.echo(f"Wrote {display_path(target)}: fill in its TODOs, then run govkit check --strict")
