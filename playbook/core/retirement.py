"""Retired charters (`status: retired`, `retired: {date, reason}`): the rules the whole
organisation is needed for. The schema (`playbook.core.charter`) checks that a retired charter
says when and why; here its id must match its file like any charter's, no active charter may
share it, and the date must not lie ahead (a retirement is recorded once it happened).
"""

from __future__ import annotations

from datetime import date

from playbook.core.charter import Charter
from playbook.core.errors import Problem
from playbook.core.governance import Governance
from playbook.core.yamlsrc import YamlDocument

Charters = tuple[list[Charter], list[YamlDocument]]


def split_retired(
    charters: list[Charter], documents: list[YamlDocument]
) -> tuple[Charters, Charters]:
    """(active charters, their documents), (retired ones, theirs), each in file order."""
    pairs = list(zip(charters, documents, strict=True))
    active = [pair for pair in pairs if not pair[0].is_retired]
    retired = [pair for pair in pairs if pair[0].is_retired]
    return (
        ([c for c, _ in active], [d for _, d in active]),
        ([c for c, _ in retired], [d for _, d in retired]),
    )


def retirement_rules(governance: Governance, *, today: date | None) -> list[Problem]:
    """Located problems of the retired charters; the active ones are `charter_rules`'s."""
    problems: list[Problem] = []
    active = {charter.id for charter in governance.agents}
    seen: set[str] = set()
    for charter, document in zip(governance.retired, governance.retired_documents, strict=True):
        stem = document.path.stem
        if charter.id != stem:
            problems.append(
                document.problem(
                    ("id",), f"expected the file name's stem {stem!r} but received {charter.id!r}"
                )
            )
        if charter.id in active or charter.id in seen:
            problems.append(document.problem(("id",), f"duplicate agent id {charter.id!r}"))
        seen.add(charter.id)
        retired = charter.retired
        if retired is not None and today is not None and retired.date > today:
            problems.append(
                document.problem(
                    ("retired", "date"),
                    f"expected a retirement date on or before today ({today}) but received "
                    f"{retired.date}; keep the charter active until the agent has left",
                )
            )
    return problems
