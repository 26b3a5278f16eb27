"""Owner liveness: are the people a charter names still here? Warnings for `govkit check`.

Each charter's agent owner, model steward and reviewer is looked up in the people directory
(`playbook.core.people`): by email, else by name (case-insensitive; a directory entry without an
email matches by name alone). An owner marked inactive, or found nowhere, is a warning located at
the charter's field, with "Did you mean" for a near miss. Without a directory nothing is checked.
"""

from __future__ import annotations

import difflib

from playbook.core.charter import Charter, Person
from playbook.core.errors import Problem, did_you_mean
from playbook.core.people import People
from playbook.core.yamlsrc import YamlDocument

OWNER_ROLES = ("agent_owner", "model_steward", "reviewer")


def owner_warnings(
    people: People | None, charters: list[Charter], documents: list[YamlDocument]
) -> list[Problem]:
    """A warning per owner of each charter who is inactive or unknown in `people` (charters and
    their documents in the same order, as the loader keeps them)."""
    if people is None:
        return []
    warnings: list[Problem] = []
    for charter, document in zip(charters, documents, strict=True):
        if getattr(charter, "status", None) == "retired":
            continue  # the audit keeps a retired agent's last owners as they were
        for role in OWNER_ROLES:
            person = getattr(charter.owners, role)
            if person is None:
                continue
            found = judge(people, person, role.replace("_", " "))
            if found is not None:
                field, message = found
                loc = ("owners", role, field) if field else ("owners", role)
                warnings.append(document.problem(loc, message, severity="warning"))
    return warnings


def judge(people: People, person: Person, role: str) -> tuple[str, str] | None:
    """(the field to point at, the message) when `person` is inactive or unknown, else None."""
    who = f"{person.name} <{person.email}>"
    matches = people.by_email(person.email)
    field = ""
    if not matches:
        named = people.by_name(person.name)
        matches = [entry for entry in named if entry.email is None]
        if named and not matches:
            listed = sorted({entry.email for entry in named if entry.email})
            return "email", (
                f"{person.email} is not in {people.source}, which lists {person.name} as "
                f"{' and '.join(listed)}.{did_you_mean(person.email, listed)}"
            )
    if not matches:
        return "email", f"{who} is not in {people.source}: unknown {role}.{_near(people, person)}"
    if any(entry.active for entry in matches):
        return None
    return field, f"{who} is inactive in {people.source}: name an active {role}"


def _near(people: People, person: Person) -> str:
    """` Did you mean ...?` with the closest emails of the directory, else its closest names."""
    # Compared by the part before the @: the shared domain would make every address look close.
    by_local = {email.casefold().partition("@")[0]: email for email in _emails(people)}
    close = difflib.get_close_matches(person.email.casefold().partition("@")[0], by_local, 3, 0.6)
    if close:
        return f" Did you mean {' or '.join(repr(by_local[local]) for local in close)}?"
    return did_you_mean(person.name, [entry.name for entry in people.entries])


def _emails(people: People) -> list[str]:
    return [entry.email for entry in people.entries if entry.email]
