"""Short summaries the commands print at their end: what failed and where to look."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from playbook.core.errors import Problem

TODO_WARNING = "TODO placeholder"
FILES_NAMED = 5  # more files than this are counted, not named


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _files(counts: Counter[str]) -> str:
    named = [f"{file} ({count})" for file, count in sorted(counts.items())[:FILES_NAMED]]
    more = len(counts) - FILES_NAMED
    return ", ".join(named) + (f" and {_plural(more, 'more file')}" if more > 0 else "")


def strict_failure(warnings: Sequence[Problem]) -> str:
    """Why `check --strict` exits 1: how many TODO placeholders remain and in which files, and
    how many other warnings; each is listed above it with its line."""
    todos = Counter(w.file for w in warnings if w.message.startswith(TODO_WARNING))
    others = Counter(w.file for w in warnings if not w.message.startswith(TODO_WARNING))
    reasons = []
    if todos:
        verb = "remains" if todos.total() == 1 else "remain"
        reasons.append(
            f"{_plural(todos.total(), 'TODO placeholder')} {verb} in {_files(todos)}: only "
            "their owners can fill them in"
        )
    if others:
        reasons.append(f"{_plural(others.total(), 'other warning')} in {_files(others)}")
    return "; ".join(reasons) + " (each is listed above with its line)."
