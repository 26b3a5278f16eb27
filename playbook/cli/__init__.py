"""The `govkit` command line: one click group, one small function per command."""

from __future__ import annotations

import importlib
import shutil
import signal
import sys
from datetime import date, datetime
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any, ClassVar

import click

from playbook import __version__
from playbook.cli import options as shared
from playbook.cli.reports import strict_failure
from playbook.core import collector, jsonout, resources
from playbook.core.clock import utc_now
from playbook.core.errors import Stopped, UsageError, display_path
from playbook.handbook import BUILDERS
from playbook.policy import load_governance

COMMANDS_GROUP = "govkit.commands"


class GovkitGroup(click.Group):
    """The `govkit` group: its own commands, the policy and schema commands loaded on first use,
    and the commands other packages add through the `govkit.commands` entry points (the drift
    monitor's `monitor`, `events` and `review`). Loading on first use keeps `govkit check` and
    `govkit build` from paying for DuckDB and SciPy.
    """

    own_lazy_commands: ClassVar[dict[str, str]] = {
        "policy": "playbook.cli.policy:policy",
        "schema": "playbook.cli.schema:schema_command",
        "history": "playbook.cli.history:history_command",
        "diff": "playbook.cli.history:diff_command",
        "crosswalk": "playbook.cli.crosswalk:crosswalk_command",
        "incident": "playbook.cli.incident:incident",
        "export": "playbook.cli.export:export_command",
    }

    @staticmethod
    def plugins() -> dict[str, EntryPoint]:
        return {point.name: point for point in entry_points(group=COMMANDS_GROUP)}

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = {*super().list_commands(ctx), *self.own_lazy_commands, *self.plugins()}
        return sorted(names)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.own_lazy_commands:
            module_name, attribute = self.own_lazy_commands[name].split(":")
            return getattr(importlib.import_module(module_name), attribute)
        plugin = self.plugins().get(name)
        if plugin is not None:
            return plugin.load()
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:  # Ctrl-C ends with what a shell reports for SIGINT
            raise Stopped(signal.SIGINT) from None


DATE = shared.DATE

governance_option = shared.governance_option()
today_option = click.option(
    "--today",
    type=DATE,
    default=None,
    help="Date the handbook is built as of (YYYY-MM-DD): sets the current rollout phase. "
    "Default: today in UTC.",
)
# Accepted where scripts may still pass it, but hidden: these commands' answers do not depend on
# the date (the date rules of validation use today in UTC).
ignored_today_option = click.option(
    "--today",
    "ignored_today",
    type=DATE,
    default=None,
    hidden=True,
    expose_value=False,
    help="Ignored (kept for scripts that pass it): the answer does not depend on the date.",
)
state_option = shared.monitor_state_option(
    "The drift monitor's state (its JSON snapshot beside it is read, or give the .json)."
)
config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="MkDocs configuration of the site. Default: ./mkdocs.yml, or govkit's own when absent.",
)


def builder_option(help: str) -> Any:
    """`--builder mkdocs|zensical`: both read the same mkdocs.yml."""
    return click.option(
        "--builder", type=click.Choice(BUILDERS), default="mkdocs", show_default=True, help=help
    )


def _site_config(config_path: Path | None) -> Path:
    if config_path is not None:
        return config_path
    local = Path("mkdocs.yml")
    return local if local.is_file() else resources.default_site_config()


def _progress(message: str) -> None:
    click.echo(f"govkit: {message}", err=True)


@click.group(
    name="govkit", cls=GovkitGroup, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(__version__, "--version", prog_name="govkit")
def cli() -> None:
    """govkit: governance for organisations that run AI agents.

    Keep who owns each agent, what it may do and how it is watched in YAML under governance/,
    check it, and publish it as a handbook site.
    """


@cli.command()
@governance_option
@click.option(
    "--today",
    type=DATE,
    default=None,
    help="Date the date rules are checked against (a baseline must have ended before it), "
    "YYYY-MM-DD. Default: today in UTC.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Exit 1 when warnings remain, such as TODO placeholders left in a charter.",
)
def check(governance_dir: Path, today: date | None, strict: bool) -> None:
    """Validate the governance YAML and report every problem as file:line.

    Exit 0 when everything is valid (warnings, such as TODO placeholders, are listed); 1 with
    --strict when warnings remain, saying which and where; 2 when any problem is found (all are
    listed at once).
    """
    governance = load_governance(governance_dir, today=today or utc_now().date())
    for warning in governance.warnings:
        click.echo(str(warning), err=True)
    click.echo(f"{display_path(governance_dir)}: {_check_summary(governance)}.")
    if governance.warnings:
        click.echo(f"{len(governance.warnings)} warning(s).", err=True)
        if strict:
            click.echo(f"check --strict failed: {strict_failure(governance.warnings)}", err=True)
            sys.exit(1)


def _check_summary(governance: Any) -> str:
    """`15 files valid: 7 agents, ..., 16 metrics, 2 incidents, 3 frameworks; ...`"""
    files = len(governance.documents) + len(governance.agent_documents) + len(governance.drafts)
    files += len(governance.retired_documents) + len(governance.incident_documents)
    files += len(governance.framework_documents) + (1 if governance.people_file else 0)
    drafts = f", {len(governance.drafts)} draft(s) with TODOs" if governance.drafts else ""
    extra = [f"{len(governance.incidents)} incidents" if governance.incidents else "",
             f"{len(governance.frameworks)} frameworks" if governance.frameworks else "",
             f"people from {governance.people_file}" if governance.people_file else ""]  # fmt: skip
    listed = "".join(f", {item}" for item in extra if item)
    retired = len(governance.retired)
    kept = f"; {retired} retired agent(s) kept for the record" if retired else ""
    return (
        f"{files} files valid: {len(governance.agents)} agents{drafts}, {len(governance.tiers)} "
        f"tiers, {len(governance.operating_models)} operating models, "
        f"{len(governance.metrics)} metrics{listed}{kept}"
    )


@cli.command()
@governance_option
@click.option(
    "--site-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("site"),
    show_default=True,
    help="Where the built site goes. It is replaced only when the whole build succeeds.",
)
@builder_option("Site builder: MkDocs Material, or Zensical (reads the same mkdocs.yml).")
@config_option
@state_option
@click.option(
    "--offline",
    is_flag=True,
    help="Build a site that works opened as files (file://): page.html links, search without "
    "a server. Also on when mkdocs.yml lists the offline plugin.",
)
@shared.now_option(
    "The moment the site is built as of (ISO 8601): how old the monitor's results are, the "
    "sitemap's date, and the default --today. Give it for reproducible builds."
)
@today_option
def build(
    governance_dir: Path,
    site_dir: Path,
    builder: str,
    config_path: Path | None,
    state: Path | None,
    offline: bool,
    now: datetime | None,
    today: date | None,
) -> None:
    """Validate the governance YAML, render the handbook pages and build the site.

    Generated pages are staged with the hand-written docs in a temporary directory; docs/ is never
    written to. A failed validation or build leaves the previous site as it was.
    """
    from playbook.handbook.site import build_site
    from playbook.handbook.view import load_view

    as_of = now or (utc_now() if today is None else None)  # --today alone: the end of that day
    today = today or (as_of or utc_now()).date()
    governance = load_governance(governance_dir, today=today)
    _progress(f"{len(governance.agents)} agents validated")
    result = build_site(
        governance,
        config_path=_site_config(config_path),
        site_dir=site_dir,
        builder=builder,
        today=today,
        monitor=load_view(state, now=as_of) if state else None,
        offline=offline,
        moment=now,
        report=_progress,
    )
    click.echo(f"Handbook built: {display_path(result.index_html)}")
    click.echo(
        f"Serve it with live reload: govkit serve --governance {display_path(governance_dir)}"
    )


@cli.command()
@governance_option
@config_option
@state_option
@click.option(
    "--dev-addr",
    default="127.0.0.1:8000",
    show_default=True,
    help="Address (IP:PORT) to serve the handbook on.",
)
@builder_option("Site builder whose development server is used.")
@today_option
def serve(
    governance_dir: Path,
    config_path: Path | None,
    state: Path | None,
    dev_addr: str,
    builder: str,
    today: date | None,
) -> None:
    """Serve the handbook locally and rebuild it when governance YAML, templates or docs change.

    Invalid YAML while serving is reported and the last good pages stay up. Stop with Ctrl-C,
    SIGTERM or SIGHUP: the builder's server ends with it and the port is free again.
    """
    from playbook.handbook.serve import serve_handbook

    serve_handbook(
        governance_dir,
        config_path=_site_config(config_path),
        dev_addr=dev_addr,
        builder=builder,
        today=today,
        state=state,
        report=_progress,
    )


@cli.group()
def charter() -> None:
    """Agent charters: scaffold a new one."""


def _ask(value: str | None, prompt: str, option: str) -> str:
    if value:
        return value
    if sys.stdin.isatty():
        return click.prompt(prompt)
    raise UsageError(f"missing option {option}")


@charter.command("new")
@click.argument("agent_id", metavar="ID")
@click.option("--tier", type=click.IntRange(0, 4), default=None, help="Risk tier, 0 to 4.")
@click.option("--operating-model", default=None, help="Operating model id, e.g. human-on-the-loop.")
@click.option("--owner", default=None, help='Agent Owner, as "Name <email>".')
@click.option("--steward", default=None, help='Model Steward, as "Name <email>".')
@click.option(
    "--reviewer", default=None, help='Last-mile reviewer, as "Name <email>" (from tier 2).'
)
@governance_option
@ignored_today_option
def charter_new(
    agent_id: str,
    tier: int | None,
    operating_model: str | None,
    owner: str | None,
    steward: str | None,
    reviewer: str | None,
    governance_dir: Path,
) -> None:
    """Write governance/agents/ID.yaml: every field the tier needs, TODO where only the owner
    can answer. Missing options are asked for on a terminal. Never overwrites a charter."""
    from playbook.handbook.scaffold import new_charter, parse_contact

    tier_value = tier if tier is not None else int(_ask(None, "Risk tier (0-4)", "--tier"))
    target = new_charter(
        governance_dir,
        agent_id=agent_id,
        tier=tier_value,
        operating_model=_ask(operating_model, "Operating model", "--operating-model"),
        owner=parse_contact(_ask(owner, "Agent Owner (Name <email>)", "--owner"), "--owner"),
        steward=parse_contact(
            _ask(steward, "Model Steward (Name <email>)", "--steward"), "--steward"
        ),
        reviewer=parse_contact(reviewer, "--reviewer") if reviewer else None,
        today=utc_now().date(),
    )
    click.echo(f"Wrote {display_path(target)}: fill in its TODOs, then run govkit check --strict")


@cli.command("whois")
@click.argument("agent_id", metavar="AGENT")
@governance_option
@shared.monitor_state_option("The drift monitor's state, for the last run and firing alerts.")
@shared.format_option("text: one screen for people; json: one object for tools.")
@ignored_today_option
@click.option(
    "--at",
    default=None,
    metavar="DATE|COMMIT",
    help="Answer as of a moment of the past, from git: a date (its end, UTC), an ISO 8601 time "
    "or a commit. Adds the commit in force, the change then in force with its approvals, and "
    "the eval results of that moment.",
)
def whois_command(
    agent_id: str, governance_dir: Path, state: Path | None, output_format: str, at: str | None
) -> None:
    """Who owned AGENT, what it was allowed to do, and why it passed the gates."""
    from playbook.handbook.whois import format_text, load_for, whois, whois_at

    if at is not None:
        answer = whois_at(governance_dir, agent_id, state, at)
    else:
        governance, charter = load_for(governance_dir, agent_id, utc_now().date())
        answer = whois(governance, charter, state)
    if output_format == "json":
        click.echo(jsonout.dumps(answer, indent=2))
    else:
        click.echo(format_text(answer))


@cli.command()
@click.argument(
    "directory", type=click.Path(path_type=Path, file_okay=False), default=Path("."), required=False
)
def init(directory: Path) -> None:
    """Copy the example organisation (governance/, docs/, mkdocs.yml) into DIRECTORY.

    A starting point to edit: nothing that already exists is overwritten.
    """
    targets = {
        resources.example_governance(): directory / "governance",
        resources.default_site_config().parent / "docs": directory / "docs",
        resources.default_site_config(): directory / "mkdocs.yml",
    }
    existing = [display_path(target) for target in targets.values() if target.exists()]
    if existing:
        raise UsageError(f"{', '.join(existing)} already exist; nothing was copied")
    directory.mkdir(parents=True, exist_ok=True)
    for source, target in targets.items():
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copyfile(source, target)
    click.echo(f"Example governance written to {display_path(directory)}.")
    click.echo(f"Next: cd {display_path(directory)} && govkit check && govkit build")


def main() -> None:
    collector.tune()  # before the commands' own imports, which are loaded on first use
    cli(prog_name="govkit")
