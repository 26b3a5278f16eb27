"""An events source as the engine read it: raw columns, before any check."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from playbook.core.errors import UsageError, did_you_mean

REQUIRED = ("timestamp", "agent", "outcome")
SEPARATORS = (";", "|", "\t")


def _none() -> list[tuple[str, int]]:
    return []


@dataclass
class RawEvents:
    """`table`: an Ibis table of the source's columns (typed, or text), plus `_file` and `_row`
    (where each row came from) and, for JSON, `<name>__nested`, `_agent_not_text`, `_bad_json`;
    `rejected()`: (file, line) of text lines the reader could not parse at all (known once the
    source has been read); `store`: for a source costly to read again (CSV, JSON), stores a relation
    over it once and returns the stored table (None: every query reads the source)."""

    table: Any
    description: str
    rejected: Callable[[], list[tuple[str, int]]] = _none
    store: Callable[[Any], Any] | None = None


def require_columns(description: str, names: Collection[str]) -> None:
    """UsageError (exit 2) naming the required columns a source lacks and the names it has, with
    the closest one (names are case-sensitive) or a hint at a CSV split on the wrong separator."""
    missing = [column for column in REQUIRED if column not in names]
    if not missing:
        return
    found = sorted(names)
    message = (
        f"{description}: missing required column(s) {', '.join(missing)}; "
        f"found {', '.join(found) or 'none'}."
    )
    if found == ["column0"]:
        message += " Is the file empty? Expected a header line naming the columns."
    elif len(found) == 1 and (used := [s for s in SEPARATORS if s in found[0]]):
        message += (
            f" Is it separated by {used[0]!r}? A .csv file is read comma-separated, a .tsv file"
            " tab-separated."
        )
    else:
        message += "".join(did_you_mean(column, found) for column in missing)
    raise UsageError(message)
