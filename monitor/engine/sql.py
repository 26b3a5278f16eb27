"""SQL text from values and names, quoted once, here: every query the engine assembles uses these.

Names come from validated catalogs (event columns match `playbook.core.types.COLUMN_PATTERN`) and
values from charters; both are quoted all the same, so nothing a file holds can end a literal.
"""

from __future__ import annotations


def literal(text: str) -> str:
    """`'it''s'`: a string literal."""
    return "'" + text.replace("'", "''") + "'"


def identifier(name: str) -> str:
    """`"my column"`: a quoted column or table name."""
    return '"' + name.replace('"', '""') + '"'


def value(item: object) -> str:
    """A literal for a value a metric compares with: a boolean, a number or text."""
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, (int, float)):
        return repr(item)
    return literal(str(item))
