"""An events source as the engine read it: raw columns, before any check."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RawEvents:
    """`table`: an Ibis table of the source's columns (typed, or text), plus `_file` and `_row`
    (where each row came from) and, for JSON, `<name>__nested`, `_agent_not_text`, `_bad_json`;
    `rejected`: (file, line) of text lines the reader could not parse at all."""

    table: Any
    description: str
    rejected: list[tuple[str, int]] = field(default_factory=list)
