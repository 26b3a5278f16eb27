"""The semantic diff of two versions of one file, classed by risk: a charter or a policy walked
field by field (`semantic.Differ`), a catalog item by item (`tier 3: ...`), a prompt by its
lines, eval results by what they say; a file added or deleted whole by a summary of it."""

from __future__ import annotations

import difflib
import re
from dataclasses import replace
from typing import Any

from playbook.history.documents import YAML_SUFFIXES, FileKind, Parsed
from playbook.history.junit import describe_results
from playbook.history.risk import NEUTRAL, WIDENS, classify
from playbook.history.semantic import (
    ADDED,
    CHANGED,
    REMOVED,
    UNREADABLE,
    Change,
    Differ,
    identity_key,
    is_person,
    shown_in_full,
)

_TIER_LINE = re.compile(rb"^tier:[ \t]*(\d+)[ \t]*(?:#.*)?$", re.MULTILINE)
_OWNER_BLOCK = re.compile(
    rb"^owners:[ \t]*\n[ \t]+agent_owner:[ \t]*\n[ \t]+name:[ \t]*([^\n#\"']+?)[ \t]*\n"
    rb"[ \t]+email:[ \t]*([^\s#\"']+)[ \t]*$",
    re.MULTILINE,
)
_CONTENT_LINE = re.compile(rb"^(?![ \t]*(?:#|---|$))", re.MULTILINE)


def summary_head(parsed: Parsed) -> tuple[int, Any] | None:
    """The first line and tier and agent owner of a charter written in plain block style, read
    from its lines (a thousand charters added at once need no YAML); None when not so plain."""
    raw = parsed.raw_or_none
    tier = _TIER_LINE.search(raw) if raw is not None else None
    owner = _OWNER_BLOCK.search(raw) if raw is not None else None
    first = _CONTENT_LINE.search(raw) if raw is not None else None
    if raw is None or tier is None or owner is None or first is None:
        return parsed.head()
    name, email = (part.decode("utf-8", "replace") for part in owner.groups())
    line = raw[: first.start()].count(b"\n") + 1
    return line, {
        "tier": int(tier.group(1)),
        "owners": {"agent_owner": {"name": name, "email": email}},
    }


def _summary(kind: FileKind, data: Any) -> str:
    """What an added or removed subject was: a charter's tier and owner, an item's name."""
    if not isinstance(data, dict):
        return ""
    if kind.role == "agent":
        owner = (
            data.get("owners", {}).get("agent_owner")
            if isinstance(data.get("owners"), dict)
            else None
        )
        parts = [f"tier {data['tier']}"] if "tier" in data else []
        parts += [f"agent owner {shown_in_full(owner)}"] if is_person(owner) else []
        return ", ".join(parts)
    name = data.get("name")
    return name if isinstance(name, str) else ""


def _text_change(file: str, subject: str, old: Parsed | None, new: Parsed | None) -> list[Change]:
    before = (old.text or "").splitlines() if old else []
    after = (new.text or "").splitlines() if new else []
    if old is None or new is None:
        op = ADDED if old is None else REMOVED
        return [Change(file, 1, subject, "", op, note=f"{len(after or before)} lines")]
    added = removed = 0
    first = None
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, before, after).get_opcodes():
        if tag != "equal":
            removed, added = removed + i2 - i1, added + j2 - j1
            first = first or j1 + 1
    if not added and not removed:
        return []
    note = f"text changed (+{added} -{removed} lines)"
    return [Change(file, min(first or 1, max(len(after), 1)), subject, "text", CHANGED, note=note)]


def _results_change(file: str, subject: str, old: Parsed | None, new: Parsed | None) -> Change:
    """An eval results file: what it says (cases passed, when run), not its lines."""
    before = describe_results(old) if old is not None else None
    after = describe_results(new) if new is not None else None
    op = ADDED if old is None else REMOVED if new is None else CHANGED
    shown = after if new is not None else before
    if isinstance(shown, dict):
        rate = shown["pass_rate"]
        note = (
            f"{shown['passed']} of {shown['tests'] - shown['skipped']} passed"
            + (f" ({rate:.1%})" if rate is not None else "")
            + (f", run {shown['timestamp']}" if shown["timestamp"] else "")
        )
    else:
        note = str(shown)
    note = note if op == CHANGED else f"{op}: {note}"
    return Change(file, 1, subject, "results", op, before, after, note=note)


def diff_file(
    path: str,
    kind: FileKind,
    old: Parsed | None,
    new: Parsed | None,
    worse: dict[str, str] | None = None,
) -> list[Change]:
    """The semantic changes between two versions of one file (None: absent on that side), each
    classed by risk; `worse`: the metric catalog's directions (which way each metric is worse)."""
    changes = _diff_file(path, kind, old, new)
    side = new or old
    # The charter's own data only for a north star (its metric says which way is looser).
    needs_data = any(c.field.startswith("north_star") for c in changes) and side is not None
    data = side.data if needs_data and side is not None else None
    return [replace(change, risk=_risk(kind, change, worse or {}, data)) for change in changes]


def _risk(kind: FileKind, change: Change, worse: dict[str, str], data: Any) -> str:
    if change.op == UNREADABLE:
        return WIDENS if kind.role in ("agent", "policy") else NEUTRAL
    if kind.role == "catalog":  # an item's own changes; the file's other keys are neutral
        if change.item is None:
            return NEUTRAL
        return classify(kind.role, kind.item_noun, change.field, change.op)
    return classify(
        kind.role, kind.item_noun, change.field, change.op, change.before, change.after,
        worse=worse, data=data,
    )  # fmt: skip


def _whole(path: str, kind: FileKind, old: Parsed | None, new: Parsed | None) -> list[Change]:
    """A file added or removed as a whole, summarised (a charter's tier and owner); a charter
    is only composed for this, not built, unless it does not read as plain YAML."""
    op, side = (ADDED, new) if old is None else (REMOVED, old)
    assert side is not None
    head = summary_head(side) if kind.role == "agent" else None
    if head is not None:
        return [Change(path, head[0], kind.subject, "", op, note=_summary(kind, head[1]))]
    if side.problem is not None:
        problem = side.problem
        return [Change(path, problem.line, kind.subject, "", UNREADABLE, note=problem.message)]
    line = side.document.line_of(()) if side.document else 1
    return [Change(path, line, kind.subject, "", op, note=_summary(kind, side.data))]


def _diff_file(path: str, kind: FileKind, old: Parsed | None, new: Parsed | None) -> list[Change]:
    whole = old is None or new is None
    if whole and path.endswith(YAML_SUFFIXES) and kind.role != "evals":
        return _whole(path, kind, old, new)
    for side in (new, old):
        if side is not None and side.problem is not None:
            problem = side.problem
            return [Change(path, problem.line, kind.subject, "", UNREADABLE, note=problem.message)]
    if kind.role == "evals":
        return [_results_change(path, kind.subject, old, new)]
    if (old is not None and old.text is not None) or (new is not None and new.text is not None):
        return _text_change(path, kind.subject, old, new)
    if old is None or new is None:
        op, side = (ADDED, new) if old is None else (REMOVED, old)
        line = side.document.line_of(()) if side and side.document else 1
        return [Change(path, line, kind.subject, "", op, note=_summary(kind, side and side.data))]
    if kind.list_key is None:
        differ = Differ(path, kind.subject, old, new)
        differ.walk(old.data, new.data, (), (), ())
        return differ.changes
    return _catalog(path, kind, old, new)


def _items(data: Any, key: str) -> dict[Any, tuple[int, Any]]:
    """A catalog's items by id; {} when they are not a list of mappings with unique ids."""
    items = data.get(key) if isinstance(data, dict) else None
    if not isinstance(items, list) or identity_key(items, []) != "id":
        return {}
    return {item["id"]: (index, item) for index, item in enumerate(items)}


def _catalog(path: str, kind: FileKind, old: Parsed, new: Parsed) -> list[Change]:
    """A catalog's items as subjects of their own (`tier 3`); its other keys under the file's."""
    key = kind.list_key or ""
    old_items, new_items = _items(old.data, key), _items(new.data, key)
    if not old_items or not new_items:  # not a list of items with ids: diff the file as a whole
        differ = Differ(path, kind.subject, old, new)
        differ.walk(old.data, new.data, (), (), ())
        return differ.changes
    rest = Differ(path, kind.subject, old, new)
    rest.walk(
        {k: v for k, v in old.data.items() if k != key},
        {k: v for k, v in new.data.items() if k != key},
        (),
        (),
        (),
    )
    changes = rest.changes
    for item_id, (index, item) in new_items.items():
        differ = Differ(path, f"{kind.item_noun} {item_id}", old, new, item_id)
        if item_id not in old_items:
            line = new.document.line_of((key, index)) if new.document else 1
            note = _summary(kind, item)
            changes.append(Change(path, line, differ.subject, "", ADDED, note=note, item=item_id))
            continue
        at, before = old_items[item_id]
        differ.walk(before, item, (), (key, at), (key, index))
        changes += differ.changes
    for item_id, (index, item) in old_items.items():
        if item_id not in new_items:
            line = old.document.line_of((key, index)) if old.document else 1
            subject, note = f"{kind.item_noun} {item_id}", _summary(kind, item)
            changes.append(Change(path, line, subject, "", REMOVED, note=note, item=item_id))
    return changes
