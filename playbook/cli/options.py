"""Options and parameter types shared by govkit's commands, defined once: every command names
them alike and checks their values alike (a date, a moment, a fraction, a URL, a finite number),
so a bad value is exit 2 at the option with what was expected."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click

from playbook.core.clock import check_calendar_date, parse_instant
from playbook.core.settings import DEFAULT_NOTIFY_TIMEOUT, check_http_url
from playbook.results import snapshot_path

DEFAULT_STATE = Path(".govkit/monitor.db")
Decorator = Callable[[Any], Any]


def governance_option(
    help: str = "Directory holding the governance YAML (organisation, tiers, agents/...).",
) -> Decorator:
    return click.option(
        "--governance",
        "governance_dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=Path("governance"),
        show_default=True,
        help=help,
    )


def state_option(help: str) -> Decorator:
    """`--state` where the monitor writes its state (`monitor run`, `monitor schedule`): created
    when missing. Commands that only read it use `monitor_state_option`."""
    return click.option(
        "--state",
        type=click.Path(path_type=Path, dir_okay=False),
        default=DEFAULT_STATE,
        show_default=True,
        help=help,
    )


NO_STATE = "none"


def _monitor_state(ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    """Left out: the default state, which may not exist yet (no monitor run so far). `none`: no
    monitor results, asked for. A path: it must exist, as a state or as its snapshot; a typo
    must not publish "no monitor run has happened yet"."""
    if value is None:
        return DEFAULT_STATE
    if value.strip().lower() == NO_STATE:
        return None
    path = Path(value)
    snapshot = snapshot_path(path)
    if path.is_dir():
        raise click.BadParameter(f"{value} is a directory; expected the monitor's state file")
    if not (path.is_file() or snapshot.is_file()):
        beside = f" (nor its snapshot {snapshot})" if snapshot != path else ""
        raise click.BadParameter(
            f"no monitor state at {value}{beside}. To go without monitor results, leave out "
            f"--state or pass --state {NO_STATE}."
        )
    return path


def monitor_state_option(help: str) -> Decorator:
    """`--state` where the monitor's results are read, never written (`build`, `serve`,
    `whois`, `review`): passed as a Path, or None for `--state none`. Left out, the default state
    is read when it exists; named, it must exist (exit 2 saying how to ask for no state)."""
    return click.option(
        "--state",
        default=None,
        callback=_monitor_state,
        metavar="PATH|none",
        help=f"{help} Default: {DEFAULT_STATE} when it exists. A PATH given must exist; "
        f"'--state {NO_STATE}': no monitor results.",
    )


def format_option(help: str, choices: tuple[str, ...] = ("text", "json")) -> Decorator:
    """`--format`, passed to the command as `output_format`; the first choice is the default."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(list(choices)),
        default=choices[0],
        show_default=True,
        help=help,
    )


class FiniteFloatRange(click.FloatRange):
    """A number within bounds; `nan` and `inf`, which float() accepts, are refused."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"expected a finite number but received {value!r}", param, ctx)
        return number


class InstantType(click.ParamType):
    """A moment in ISO 8601; without an offset it is taken as UTC."""

    name = "iso8601"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            moment = parse_instant(str(value))
        except ValueError:
            self.fail(
                f"expected an ISO 8601 time such as 2026-11-24T09:00:00Z but received {value!r}",
                param,
                ctx,
            )
        try:
            check_calendar_date(moment.astimezone(UTC).date())
        except (ValueError, OverflowError) as exc:
            self.fail(f"{exc} (as an ISO 8601 time)", param, ctx)
        return moment


class FractionType(click.ParamType):
    name = "fraction"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = -1.0
        if not 0 <= number <= 1:
            self.fail(f"expected a number from 0 to 1 but received {value!r}", param, ctx)
        return number


INSTANT = InstantType()


def max_bad_fraction_option(help: str) -> Any:
    return click.option(
        "--max-bad-fraction", type=FractionType(), default=0.01, show_default=True, help=help
    )


class WebhookUrlType(click.ParamType):
    """A receiver URL, checked as monitor.yaml's receivers are."""

    name = "url"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            return check_http_url(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def webhook_option(help: str) -> Any:
    return click.option("--webhook", "webhooks", type=WebhookUrlType(), multiple=True, help=help)


notify_timeout_option = click.option(
    "--notify-timeout",
    type=FiniteFloatRange(0, 3600, min_open=True),
    metavar="SECONDS",
    default=DEFAULT_NOTIFY_TIMEOUT,
    show_default=True,
    help="Seconds one notification may take in all (connect, send, answer); a receiver slower "
    "than that keeps it queued for the next run.",
)


class DateType(click.ParamType):
    """A calendar date written as YYYY-MM-DD."""

    name = "date"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            return check_calendar_date(date.fromisoformat(str(value)))
        except ValueError as exc:
            reason = str(exc) if str(exc).startswith("expected") else ""
            self.fail(reason or f"expected a date as YYYY-MM-DD but received {value!r}", param, ctx)


DATE = DateType()


def now_option(help: str) -> Decorator:
    """`--now`: the moment a command works as of (ISO 8601, UTC without an offset); default the
    wall clock, read once at the command line."""
    return click.option("--now", type=INSTANT, default=None, help=f"{help} Default: now.")
