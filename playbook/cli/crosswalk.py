"""`govkit crosswalk FRAMEWORK`: a framework's crosswalk for auditors, as JSON or CSV on stdout."""

from __future__ import annotations

from pathlib import Path

import click

from playbook.cli import options as shared
from playbook.core import jsonout
from playbook.core.clock import utc_now
from playbook.core.errors import UsageError, display_path
from playbook.core.framework import FRAMEWORKS_DIR, find_framework
from playbook.policy import load_governance


@click.command("crosswalk")
@click.argument("framework_id", metavar="FRAMEWORK")
@shared.governance_option()
@shared.monitor_state_option("The drift monitor's state, whose last run gives the metric evidence.")
@shared.format_option(
    "json: one object (keys documented in the README); csv: one row per piece of evidence.",
    choices=("json", "csv"),
)
def crosswalk_command(
    framework_id: str, governance_dir: Path, state: Path | None, output_format: str
) -> None:
    """Export the crosswalk of FRAMEWORK (a catalogue id under governance/frameworks/, such as
    nist-ai-rmf-1.0): each item, what maps to it, each agent's evidence, and the gaps.

    Exit 0 with the export on stdout; 2 when the governance is invalid or FRAMEWORK unknown.
    """
    from playbook.handbook.crosswalk import crosswalk
    from playbook.handbook.crosswalk_export import crosswalk_csv, crosswalk_json
    from playbook.handbook.view import load_view

    governance = load_governance(governance_dir, today=utc_now().date())
    try:
        framework = find_framework(governance.frameworks, framework_id)
    except ValueError as exc:
        where = display_path(governance_dir / FRAMEWORKS_DIR)
        raise UsageError(f"{where}: {exc}") from None
    monitor = load_view(state) if state is not None else None
    walk = crosswalk(governance, framework, monitor)
    if output_format == "json":
        click.echo(jsonout.dumps(crosswalk_json(walk), indent=2))
    else:
        click.echo(crosswalk_csv(walk), nl=False)
