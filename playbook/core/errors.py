"""govkit's error hierarchy: each class carries the exit code the command line ends with.

0 success; 1 the run found what it was asked to fail on; 2 bad input or configuration.
"""

from __future__ import annotations

import difflib
import os
import signal
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import click


@dataclass(frozen=True, order=True)
class Problem:
    """One located problem in a governance file: `file:line: path: message`."""

    file: str
    line: int
    path: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        prefix = f"{where}: {self.path}: " if self.path else f"{where}: "
        label = "" if self.severity == "error" else f"{self.severity}: "
        return f"{prefix}{label}{self.message}"


class GovkitError(click.ClickException):
    """Base of every error govkit reports to a user instead of a traceback.

    A click exception, so the command line shows it and exits with its `exit_code` by itself;
    shown as govkit writes it (located, one problem a line), without click's "Error:" prefix.
    """

    exit_code = 2

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(self.format_message(), file=file, err=file is None)


class UsageError(GovkitError):
    """Bad input or configuration that is not located in a governance file."""

    exit_code = 2


class ValidationFailed(GovkitError):
    """Governance files failed validation; carries every problem found in one run."""

    exit_code = 2

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = sorted(problems, key=_problem_order)
        super().__init__(self.format_message())

    def format_message(self) -> str:
        lines = [str(problem) for problem in self.problems]
        count = len(self.problems)
        lines.append(f"{count} problem{'s' if count != 1 else ''} found; nothing was written.")
        return "\n".join(lines)


class Stopped(GovkitError):
    """govkit was told to stop (SIGINT, SIGTERM, SIGHUP): exits 128 + the signal, as a shell
    reports it."""

    def __init__(self, signum: int, outcome: str = "") -> None:
        self.signum = signum
        self.exit_code = 128 + signum
        name = signal.Signals(signum).name
        super().__init__(f"stopped by {name}" + (f"; {outcome}" if outcome else ""))


class BuildFailed(GovkitError):
    """The site builder failed; the previous site is left untouched."""

    exit_code = 2


def _problem_order(problem: Problem) -> tuple[str, int, str, str]:
    return (problem.file, problem.line, problem.path, problem.message)


def display_path(path: Path) -> str:
    """A path as users expect it in messages: relative to the current directory when below it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(Path(path).absolute()) if relative.startswith("..") else relative


def close_matches(value: object, choices: Iterable[object], cutoff: float = 0.6) -> list[str]:
    """Up to three choices close to `value` (difflib's ratio at least `cutoff`), closest first."""
    names = [str(choice) for choice in choices]
    return difflib.get_close_matches(str(value), names, n=3, cutoff=cutoff)


def did_you_mean(value: object, choices: Iterable[object]) -> str:
    """` Did you mean 'x'?` for the closest choice, or an empty string when nothing is close."""
    close = close_matches(value, choices)
    if not close:
        return ""
    quoted = " or ".join(repr(name) for name in close)
    return f" Did you mean {quoted}?"


MAX_LISTED = 30  # an organisation of a thousand agents: a message names a few, then counts


def one_of(choices: Iterable[object]) -> str:
    """`'a', 'b' or 'c'` for an 'expected one of' message; past MAX_LISTED choices, the first
    ones and how many there are in all."""
    names = [repr(str(choice)) for choice in choices]
    if len(names) > MAX_LISTED:
        return ", ".join(names[: MAX_LISTED - 2]) + f", ... ({len(names)} in all)"
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " or " + names[-1]


def unknown_choice(what: str, value: object, known: Iterable[object]) -> str:
    """`unknown metric 'x'. Did you mean 'y'? Expected one of ...` for a bad reference."""
    choices = sorted(known, key=str)
    hint = did_you_mean(value, choices)
    return f"unknown {what} {value!r}.{hint} Expected one of {one_of(choices)}."
