"""How the command line names a trace source (`events import --from`, `monitor run
--events-format`): one of the registry's names, a typo answered with the closest ones, and the
registry's descriptions for `--help`."""

from __future__ import annotations

from typing import Any

import click

from monitor.sources.base import SOURCES, get_source
from playbook.core.errors import UsageError

AUTO = "auto"


class TraceSourceChoice(click.Choice):
    """A registered trace source's name (or "auto" where `auto` is allowed); an unknown one is
    exit 2 with "Did you mean"."""

    def __init__(self, *, auto: bool = False) -> None:
        self.auto = auto
        super().__init__([AUTO, *SOURCES] if auto else list(SOURCES))

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if self.auto and value == AUTO:
            return AUTO
        try:
            return get_source(value).name
        except UsageError as exc:
            self.fail(str(exc), param, ctx)


def source_kinds() -> str:
    """The registered sources' descriptions as one phrase: "A, B, C or D"."""
    descriptions = [source.description for source in SOURCES.values()]
    return ", ".join(descriptions[:-1]) + " or " + descriptions[-1]
