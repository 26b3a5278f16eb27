"""Options shared by govkit's commands, defined once: every command names them alike."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

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
    return click.option(
        "--state",
        type=click.Path(path_type=Path, dir_okay=False),
        default=DEFAULT_STATE,
        show_default=True,
        help=help,
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
