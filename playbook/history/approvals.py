"""Approvals of a change, and who holds the roles whose approval it needs.

An approval is an `Approved-by: Name <email>` trailer on a commit of the change, or a record of
the code host given with `--approvals FILE` (JSON): GitHub's pull request reviews (GraphQL
`reviews.nodes`, the REST list, or `gh pr view --json reviews`; a reviewer's last word counts, a
later request for changes takes an approval back), GitLab's merge request approvals (REST
`approved_by`, or GraphQL `approvedBy.nodes`), or a plain list of `{name, email}`. A role's
approval is one whose email is the role holder's, as the charter named them before the change.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playbook.core.change_control import APPROVER_ROLES
from playbook.core.errors import UsageError, display_path
from playbook.core.git import Commit, Identity, parse_identity

EXPECTED = (
    "expected the code host's review records: GitHub's pull request reviews (GraphQL "
    "reviews.nodes, the REST list, or gh pr view --json reviews), GitLab's merge request "
    "approvals (approved_by, or GraphQL approvedBy.nodes), or a list of {name, email}"
)
_LISTS = ("approvals", "reviews", "approved_by", "approvedBy", "nodes")
_DECISIVE = ("APPROVED", "CHANGES_REQUESTED", "DISMISSED")


@dataclass(frozen=True)
class Approval:
    who: Identity
    source: str  # `Approved-by in 3f2a1bc`, `GitHub review`, `GitLab approval`, `approvals file`
    commit: str | None = None  # the commit a review approved; None: the whole change

    def to_json(self, role: str | None = None) -> dict[str, Any]:
        found = {"name": self.who.name, "email": self.who.email or None, "source": self.source}
        found |= {"login": self.who.login} if self.who.login else {}
        return found | {"role": role}


def from_trailers(commits: Iterable[Commit]) -> list[Approval]:
    return [
        Approval(who, f"Approved-by in {commit.short}")
        for commit in commits
        for who in commit.approvals
    ]


def authors(commits: Iterable[Commit]) -> list[Identity]:
    return list(dict.fromkeys(who for commit in commits for who in commit.authors))


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _records(data: Any) -> list[Any] | None:
    """The list of review records in a document of any of the known shapes."""
    for _ in range(8):  # GraphQL nests them: data.repository.pullRequest.reviews.nodes
        if isinstance(data, list):
            return data
        if not isinstance(data, dict):
            return None
        listed = next((data[k] for k in _LISTS if isinstance(data.get(k), list | dict)), None)
        if listed is None and len(data) == 1:
            listed = next(iter(data.values()))
        if listed is None:
            return None
        data = listed
    return None


def _identity(record: dict[str, Any]) -> Identity | None:
    person = record.get("user") or record.get("author") or record
    if not isinstance(person, dict):
        return None
    login = _text(person.get("login")) or _text(person.get("username"))
    email = (
        _text(person.get("email"))
        or _text(person.get("public_email"))
        or _text(person.get("publicEmail"))
    )
    written = parse_identity(_text(record.get("approver"))) if "approver" in record else None
    if written is not None:
        return written
    if not (login or email):
        return None
    return Identity(_text(person.get("name")) or login or email, email, login)


def _commit(record: dict[str, Any]) -> str | None:
    commit = record.get("commit_id")
    if commit is None and isinstance(record.get("commit"), dict):
        commit = record["commit"].get("oid")
    return commit if isinstance(commit, str) and commit else None


def read_approvals(path: Path) -> list[Approval]:
    """The approvals in a code host's review records; UsageError when the file is not one."""
    where = display_path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{where}: cannot read the approvals: {exc.strerror}") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise UsageError(f"{where}: {EXPECTED}, but it is not JSON ({exc})") from None
    records = _records(data)
    if records is None:
        raise UsageError(f"{where}: {EXPECTED}")
    source = "GitLab approval" if _is_gitlab(data) else "review"
    last: dict[Identity, tuple[str, Approval]] = {}  # a reviewer's last decisive word
    for index, record in enumerate(records):
        who = _identity(record) if isinstance(record, dict) else None
        if who is None:
            raise UsageError(
                f"{where}: record {index}: expected a reviewer with a login or an email "
                "(user.login, author.login, username, email)"
            )
        state = _text(record.get("state")).upper() or "APPROVED"
        if state in _DECISIVE:
            last[who] = (state, Approval(who, source, _commit(record)))
    return [approval for state, approval in last.values() if state == "APPROVED"]


def _is_gitlab(data: Any) -> bool:
    text = json.dumps(data)[:4000]
    return '"approved_by"' in text or '"approvedBy"' in text


def holder(data: Any, role: str) -> Identity | None:
    """The person a charter's data names for `role` (agent_owner, model_steward, reviewer)."""
    owners = data.get("owners") if isinstance(data, dict) else None
    person = owners.get(role) if isinstance(owners, dict) else None
    if not isinstance(person, dict):
        return None
    email = person.get("email")
    name = person.get("name")
    if not isinstance(email, str) or not email.strip():
        return None
    return Identity(name if isinstance(name, str) else email, email.strip())


def by_email(approvals: Iterable[Approval], email: str) -> Approval | None:
    """The first approval given by the person with this email (case does not matter)."""
    wanted = email.strip().lower()
    return next((a for a in approvals if a.who.email and a.who.email.lower() == wanted), None)


def required(versions: Iterable[Any]) -> int:
    """How many distinct approvers the charter's `approvals.required` asks for: the highest of
    its versions before and after, so that a change cannot lower its own bar."""
    counts = [1]
    for data in versions:
        approvals = data.get("approvals") if isinstance(data, dict) else None
        count = approvals.get("required") if isinstance(approvals, dict) else None
        if isinstance(count, int) and not isinstance(count, bool):
            counts.append(count)
    return max(counts)


def _allowed(data: Any) -> tuple[set[str], list[str]]:
    """Whose approval counts toward `approvals.required` when the charter names `approvers`
    (roles, emails, @logins): their keys and the names as written; (set(), []) for anyone."""
    approvals = data.get("approvals") if isinstance(data, dict) else None
    named = approvals.get("approvers") if isinstance(approvals, dict) else None
    if not isinstance(named, list) or not named:
        return set(), []
    keys = set()
    for entry in (e for e in named if isinstance(e, str)):
        if entry in APPROVER_ROLES:
            person = holder(data, entry)
            keys |= {person.email.lower()} if person else set()
        else:
            keys.add(entry.lower())
    return keys, [str(entry) for entry in named]


def distinct(
    approvals: Iterable[Approval], excluded: Iterable[Identity], before: Any
) -> tuple[list[Identity], list[str]]:
    """The distinct people whose approval counts toward `approvals.required` (never an author of
    the change; among `approvals.approvers` when the charter before the change names them), and
    why the others do not."""
    author_keys = {key for who in excluded for key in who.keys}
    allowed, named = _allowed(before)
    people: list[Identity] = []
    seen: set[str] = set()
    refused: list[str] = []
    for approval in approvals:
        who, keys = approval.who, approval.who.keys
        if keys & seen:
            continue
        seen |= keys
        if keys & author_keys:
            refused.append(f"{who} is an author of the change")
        elif allowed and not keys & allowed:
            refused.append(f"{who} is not among the approvers ({', '.join(named)})")
        else:
            people.append(who)
    return people, refused
