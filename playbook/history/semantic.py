"""A semantic diff of two versions of a governance file: what changed in the governance, not in the
text. Comments, key order, quoting and `200` against `200.0` are no change; a list of ids or metrics
is matched item by item by its id (`guardrails[escalation_rate].max: 0.15 -> 0.2`), a list of
plain values as a set (`policies: added 'support-agent'`), an owner as one person
(`owners.agent_owner: Ada <ada@x> -> Bo <bo@x>`). A catalog names each of its items
(`tier 3: controls[two-person-approval]: added ...`). Every change is located at `file:line` in
the version that has it (the new one, or the old one for a removal).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from playbook.history.documents import Parsed
from playbook.history.risk import NEUTRAL

ADDED, REMOVED, CHANGED, UNREADABLE = "added", "removed", "changed", "unreadable"
IDENTITY_KEYS = ("id", "metric", "suite", "name", "item")
MAX_SHOWN = 80  # characters of a value shown in a change's text


class Ident(str):
    """A list item's identity in a field path: shown in brackets, `guardrails[cost]`."""


@dataclass(frozen=True)
class Change:
    """One semantic change of one file."""

    file: str
    line: int
    subject: str  # agent refunds, policy support-agent, tier 3, organisation
    field: str  # dotted path inside the subject; "" for the subject itself
    op: str  # added, removed, changed, unreadable
    before: Any = None
    after: Any = None
    note: str = ""
    item: Any = None  # the id of the catalog item the change is in (tier 3: 3)
    risk: str = NEUTRAL  # widens, narrows, neutral (playbook.history.risk)

    @property
    def text(self) -> str:
        if self.op == UNREADABLE:
            return f"{self.subject}: cannot be read in this version: {self.note}"
        if not self.field:
            what = f"{self.subject} {self.op}"
            return f"{what} ({self.note})" if self.note else what
        if self.op == CHANGED or self.note:
            detail = self.note or f"{shown(self.before)} -> {shown(self.after)}"
        else:
            detail = f"{self.op} {shown(self.after if self.op == ADDED else self.before)}"
        return f"{self.subject}: {self.field}: {detail}"

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def shown_field(self) -> str:
        """The field as JSON names it: `charter` for a whole charter, `text` for a file."""
        return self.field or ("charter" if self.subject.startswith("agent ") else "file")

    def to_json(self) -> dict[str, Any]:
        """One change as `govkit history --format json` prints it inside `changes`."""
        return {
            "field": self.shown_field,
            "before": plain(self.before),
            "after": plain(self.after),
            "risk": self.risk,
            "change": self.op,
            "line": self.line,
            "text": self.text,
        }


def plain(value: Any) -> Any:
    """A parsed YAML value as JSON can hold it (dates as ISO 8601 text)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def is_person(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"name", "email"}


def shown(value: Any) -> str:
    """A value as a change shows it: YAML-like, on one line, at most MAX_SHOWN characters."""
    text = shown_in_full(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


def shown_in_full(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int | date | datetime):
        return str(plain(value))
    if isinstance(value, str):
        return repr(value)
    if is_person(value):
        return f"{value['name']} <{value['email']}>"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {shown_in_full(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(shown_in_full(item) for item in value) + "]"
    return repr(value)


def _same(one: Any, other: Any) -> bool:
    """Equal as governance: 200 == 200.0, but true is not 1 and '1' is not 1."""
    if isinstance(one, bool) or isinstance(other, bool):
        return type(one) is type(other) and one == other
    numbers = (int, float)
    if isinstance(one, numbers) and isinstance(other, numbers):
        return one == other
    return type(one) is type(other) and one == other


def dotted(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int | Ident):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def identity_key(before: list[Any], after: list[Any]) -> str | None:
    """The key that names every item of both lists uniquely, if any (`id`, `metric`, ...)."""
    items = before + after
    if not items or not all(isinstance(item, dict) for item in items):
        return None
    for key in IDENTITY_KEYS:
        values = [[item.get(key) for item in side] for side in (before, after)]
        if all(
            isinstance(v, str | int) and not isinstance(v, bool) for side in values for v in side
        ) and all(len(set(side)) == len(side) for side in values):
            return key
    return None


def _hashable_scalars(items: list[Any]) -> bool:
    return all(isinstance(item, str | int | float | bool | date) for item in items)


class Differ:
    """Walks two versions of one subject's data, collecting located changes."""

    def __init__(
        self, file: str, subject: str, old: Parsed | None, new: Parsed | None, item: Any = None
    ) -> None:
        self.file, self.subject, self.item = file, subject, item
        self.old, self.new = old, new
        self.changes: list[Change] = []

    def _line(self, loc: tuple[Any, ...], *, removed: bool) -> int:
        side = self.old if removed else self.new
        document = side.document if side is not None else None
        return document.line_of(loc) if document is not None else 1

    def add(self, op: str, shown_loc: tuple[Any, ...], loc: tuple[Any, ...], **values: Any) -> None:
        line = self._line(loc, removed=op == REMOVED)
        field = dotted(shown_loc)
        self.changes.append(
            Change(self.file, line, self.subject, field, op, **values, item=self.item)
        )

    def walk(
        self, old: Any, new: Any, shown_loc: tuple[Any, ...], oloc: tuple, nloc: tuple
    ) -> None:
        if (
            isinstance(old, dict)
            and isinstance(new, dict)
            and not (is_person(old) and is_person(new))
        ):
            self._mapping(old, new, shown_loc, oloc, nloc)
        elif isinstance(old, list) and isinstance(new, list):
            self._list(old, new, shown_loc, oloc, nloc)
        elif not _same(old, new):
            self.add(CHANGED, shown_loc, nloc, before=old, after=new)

    def _mapping(self, old: dict, new: dict, shown_loc: tuple, oloc: tuple, nloc: tuple) -> None:
        for key, value in new.items():
            if key not in old:
                self.add(ADDED, (*shown_loc, key), (*nloc, key), after=value)
            else:
                self.walk(old[key], value, (*shown_loc, key), (*oloc, key), (*nloc, key))
        for key, value in old.items():
            if key not in new:
                self.add(REMOVED, (*shown_loc, key), (*oloc, key), before=value)

    def _list(self, old: list, new: list, shown_loc: tuple, oloc: tuple, nloc: tuple) -> None:
        key = identity_key(old, new)
        if key is not None:
            self._by_identity(key, old, new, shown_loc, oloc, nloc)
        elif _hashable_scalars(old) and _hashable_scalars(new):
            for index, item in enumerate(new):
                if not any(_same(item, other) for other in old):
                    self.add(ADDED, shown_loc, (*nloc, index), after=item)
            for index, item in enumerate(old):
                if not any(_same(item, other) for other in new):
                    self.add(REMOVED, shown_loc, (*oloc, index), before=item)
        else:
            for index in range(max(len(old), len(new))):
                if index >= len(old):
                    self.add(ADDED, (*shown_loc, index), (*nloc, index), after=new[index])
                elif index >= len(new):
                    self.add(REMOVED, (*shown_loc, index), (*oloc, index), before=old[index])
                else:
                    here = (*shown_loc, index)
                    self.walk(old[index], new[index], here, (*oloc, index), (*nloc, index))

    def _by_identity(
        self, key: str, old: list, new: list, shown_loc: tuple, oloc: tuple, nloc: tuple
    ) -> None:
        old_at = {item[key]: index for index, item in enumerate(old)}
        new_ids = {item[key] for item in new}
        for index, item in enumerate(new):
            name = Ident(str(item[key]))
            if item[key] not in old_at:
                self.add(ADDED, (*shown_loc, name), (*nloc, index), after=item)
            else:
                at = old_at[item[key]]
                self.walk(old[at], item, (*shown_loc, name), (*oloc, at), (*nloc, index))
        for index, item in enumerate(old):
            if item[key] not in new_ids:
                self.add(REMOVED, (*shown_loc, Ident(str(item[key]))), (*oloc, index), before=item)
