"""`govkit history` and `govkit diff`: the governance's audit trail in git, and the gates a change
of it passes (the approvals its risk needs, eval results produced after it)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from playbook import __version__
from playbook.cli import options as shared
from playbook.core import jsonout
from playbook.core.atomic import write_atomically
from playbook.core.clock import midnight
from playbook.core.errors import UsageError, display_path
from playbook.core.git import Repo
from playbook.history.gate import DiffQuery, Report, gate_change
from playbook.history.log import Query, format_entries, read_history
from playbook.history.report import format_json, format_junit, format_sarif, format_text

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DIFF_FORMATS = ("text", "json", "junit", "sarif")


class DayOrInstantType(click.ParamType):
    """A date (YYYY-MM-DD, a whole day in UTC) or an ISO 8601 time."""

    name = "date|iso8601"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> date | datetime:
        if isinstance(value, date):
            return value
        if _DAY.match(str(value)):
            return shared.DATE.convert(value, param, ctx)
        return shared.INSTANT.convert(value, param, ctx)


DAY_OR_INSTANT = DayOrInstantType()


def _start(value: date | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return midnight(value)


def _end(value: date | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return midnight(value) + timedelta(days=1) - timedelta(seconds=1)


def _repository(governance_dir: Path) -> tuple[Repo, str]:
    if not governance_dir.is_dir():
        raise UsageError(f"{display_path(governance_dir)}: governance directory not found")
    repo = Repo.around(governance_dir)
    return repo, repo.relative(governance_dir)


@click.command("history")
@click.argument("targets", nargs=-1, metavar="[AGENT|POLICY|FILE]...")
@shared.governance_option()
@click.option(
    "--since", type=DAY_OR_INSTANT, default=None, help="Only commits from this day or time on."
)
@click.option(
    "--until", type=DAY_OR_INSTANT, default=None, help="Only commits up to this day or time."
)
@click.option(
    "--rev",
    "revision",
    default="HEAD",
    show_default=True,
    metavar="REV|A..B",
    help="The commits to read: those reachable from REV, or a range A..B.",
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="At most this many commits."
)
@shared.format_option(
    "text: one block per commit; json: a list, one object per change of a file (commit, date, "
    "author, file, agent, changes, approvals), one object a line."
)
def history_command(
    targets: Sequence[str],
    governance_dir: Path,
    since: date | datetime | None,
    until: date | datetime | None,
    revision: str,
    limit: int | None,
    output_format: str,
) -> None:
    """Who changed what in the governance, commit by commit, newest first.

    Each change is semantic, located at file:line and classed by risk (widens, narrows,
    neutral): `agent refunds: tier: 3 -> 2 [widens]`, `policy support-agent:
    refunds.auto_approve_max_usd: 200 -> 500 [widens]`. Comments and formatting are no change.
    AGENT follows its charter through renames (and finds a deleted one) and shows its prompt,
    eval results and policies too; POLICY its file and tests; FILE any path. Approvals are the
    commits' `Approved-by:` trailers (and those of the merge that brought them in), with the
    role each approver held in the charter before the change.
    """
    repo, prefix = _repository(governance_dir)
    query = Query(revision, tuple(targets), _start(since), _end(until), limit)
    entries = read_history(repo, prefix, query)
    if output_format == "json":  # a JSON list, one change a line (greppable, and fast to write)
        lines = ",\n".join(jsonout.dumps(entry.to_json()) for entry in entries)
        click.echo(f"[\n{lines}\n]" if entries else "[]")
    elif entries:
        click.echo(format_entries(entries))
    else:
        click.echo("No commit changed the governance in the commits asked for.")


def _approvals_option(name: str, hidden: bool) -> Any:
    return click.option(
        name,
        "approvals" if not hidden else "reviews",
        type=click.Path(path_type=Path, dir_okay=False, exists=True),
        default=None,
        hidden=hidden,
        help="The code host's review records (JSON), approvals besides the commits' "
        "Approved-by: trailers: GitHub's pull request reviews (GraphQL, REST or gh pr view "
        "--json reviews) or GitLab's merge request approvals. See the README for CI steps.",
    )


@click.command("diff")
@click.argument("base", required=False, metavar="[BASE]")
@click.argument("head", required=False, metavar="[HEAD]")
@shared.governance_option()
@_approvals_option("--approvals", hidden=False)
@_approvals_option("--reviews", hidden=True)
@shared.format_option(
    "text for people; json; junit (JUnit XML) and sarif (SARIF 2.1.0) for CI systems, one "
    "finding per missing approval or eval, at its file and line.",
    DIFF_FORMATS,
)
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the --format report to this file and the text report to the terminal.",
)
def diff_command(
    base: str | None,
    head: str | None,
    governance_dir: Path,
    approvals: Path | None,
    reviews: Path | None,
    output_format: str,
    output: Path | None,
) -> None:
    """Check a change of the governance: exit 1 unless it has the approvals its risk needs and
    eval results produced after it.

    BASE defaults to the merge base with the default branch (origin/HEAD, else main or master),
    HEAD to the work tree (uncommitted changes included). Widening tools, work or tier, or
    changing the model, prompt or policies needs the Model Steward named in the charter before
    the change; loosening or removing a north star, guardrail or stop condition, or dropping a
    monitored metric, needs the Agent Owner and the Model Steward; a charter with
    approvals.required: N needs N distinct approvers, none an author. A change to the model,
    prompt, tools or policies needs every eval suite's latest results produced after it and
    meeting min_pass_rate. Approvals: `Approved-by: Name <email>` trailers on the commits, and
    --approvals FILE. Exit 0 when nothing is missing, 1 otherwise, 2 on bad input.
    """
    if approvals is not None and reviews is not None:
        raise UsageError("give --approvals (or its old name --reviews), not both")
    repo, prefix = _repository(governance_dir)
    report = gate_change(repo, prefix, DiffQuery(base, head, approvals or reviews))
    rendered = render(report, output_format, prefix)
    if output is not None:
        write_atomically(output, rendered + "\n")
        click.echo(format_text(report))
    else:
        click.echo(rendered)
    if not report.passed:
        raise click.exceptions.Exit(1)


def render(report: Report, output_format: str, prefix: str) -> str:
    if output_format == "json":
        return format_json(report, prefix)
    if output_format == "junit":
        return format_junit(report)
    if output_format == "sarif":
        return format_sarif(report, __version__)
    return format_text(report)
