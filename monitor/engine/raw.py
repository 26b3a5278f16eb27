"""An events source as the engine read it: raw columns, before any check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


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
