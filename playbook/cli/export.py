"""`govkit export AGENT`: the agent's charter as an A2A Agent Card extension, or as JSON."""

from __future__ import annotations

from pathlib import Path

import click

from playbook.cli import options as shared
from playbook.core import jsonout
from playbook.core.atomic import write_atomically
from playbook.core.clock import utc_now
from playbook.core.errors import display_path

FORMATS = ("a2a", "json")
PLACEHOLDER_URL = "https://agents.example.invalid/{agent}"  # RFC 2606: never resolves


@click.command("export")
@click.argument("agent_id", metavar="AGENT")
@shared.format_option(
    "a2a: an A2A Agent Card (protocol 1.0) whose capabilities.extensions carries the governance "
    "(extension https://govkit.dev/a2a/governance/v1); json: the whole charter with its status, "
    "firing alerts and open incidents.",
    FORMATS,
)
@shared.governance_option()
@shared.monitor_state_option("The drift monitor's state, for the alerts firing (--format json).")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    default=None,
    help="File to write (replaced whole, never half-written); '-' for standard output. Default: "
    "standard output.",
)
@click.option(
    "--url",
    type=shared.WebhookUrlType(),
    default=None,
    help="The agent's A2A endpoint, for the card's supportedInterfaces (--format a2a). Default: "
    "a placeholder under example.invalid, for when only the extension is merged into the "
    "agent's own card.",
)
@click.option(
    "--binding",
    type=click.Choice(["JSONRPC", "GRPC", "HTTP+JSON"]),
    default="JSONRPC",
    show_default=True,
    help="The protocol binding the --url speaks (--format a2a).",
)
def export_command(
    agent_id: str,
    output_format: str,
    governance_dir: Path,
    state: Path | None,
    output: Path | None,
    url: str | None,
    binding: str,
) -> None:
    """Write AGENT's governance for other systems to carry with the agent.

    Retired agents export too (status retired, with date and reason). Exit 2 for an unknown
    agent (with the closest ids) or invalid governance.
    """
    from playbook.handbook.export import agent_card, charter_export
    from playbook.handbook.whois import load_for

    governance, charter = load_for(governance_dir, agent_id, utc_now().date())
    if output_format == "a2a":
        endpoint = url or PLACEHOLDER_URL.format(agent=charter.id)
        document = agent_card(governance, charter, url=endpoint, binding=binding)
    else:
        document = charter_export(governance, charter, state)
    text = jsonout.dumps(document, indent=2) + "\n"
    if output is None or str(output) == "-":
        click.echo(text, nl=False)
        return
    write_atomically(output, text)
    click.echo(f"Wrote {display_path(output)} ({output_format} export of {charter.id})", err=True)
